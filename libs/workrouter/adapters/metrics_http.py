"""A tiny HTTP server for Prometheus on the process's asyncio loop: GET /metrics and GET /healthz.

prometheus_client's own `start_http_server` answers from a thread of its own, but the scrape-time
collectors read live state that only the event loop may touch (the router's engine, say). This
server answers on the loop, so a scrape sees a consistent snapshot between two handler steps.
Before each scrape it awaits the registered refreshers (state that needs I/O to read, such as a
count in PostgreSQL), each with a deadline; one that fails or is late leaves its last values.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.registry import CollectorRegistry

from workrouter.adapters.bearer import metrics_allowed

log = logging.getLogger(__name__)
Refresher = Callable[[], Awaitable[None]]
MAX_REQUEST_BYTES = 8192
READ_TIMEOUT_SECONDS = 30.0  # an idle keep-alive connection is closed after this


class MetricsServer:
    """Serves the registry's metrics over HTTP/1.1 on host:port (port 0: any free port)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        registry: CollectorRegistry = REGISTRY,
        refreshers: Sequence[Refresher] = (),
        refresh_timeout: float = 2.0,
        token_sha256: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._registry = registry
        self._refreshers = list(refreshers)
        self._refresh_timeout = refresh_timeout
        self._token_sha256 = token_sha256
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.StreamWriter, asyncio.Task[None] | None] = {}

    @property
    def url(self) -> str:
        """Where the metrics are, e.g. http://127.0.0.1:9103/metrics."""
        return f"http://{self.host}:{self.port}/metrics"

    async def start(self) -> None:
        """Listen; afterwards `port` is the bound port."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics on %s", self.url)

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is None:
            return
        self._server.close()
        handlers = [task for task in self._open.values() if task is not None]
        for writer in list(self._open):  # idle keep-alive connections (Prometheus keeps one per target)
            writer.close()
        if handlers:  # they see the end of their stream and return; left pending, asyncio.run would cancel them
            await asyncio.wait(handlers, timeout=READ_TIMEOUT_SECONDS)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open[writer] = asyncio.current_task()
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._open.pop(writer, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; True when the connection may carry another."""
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_REQUEST_BYTES:
            await _respond(writer, 431, b"request header too large\n", close=True)
            return False
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            await _respond(writer, 400, b"bad request\n", close=True)
            return False
        method, target, version = parts
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        close = version == "HTTP/1.0" or headers.get("connection", "").lower() == "close"
        path = target.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            await _respond(writer, 405, b"method not allowed\n", close=close, extra={"Allow": "GET, HEAD"})
        elif path == "/metrics" and not metrics_allowed(headers.get("authorization"), self._token_sha256):
            body = b"/metrics requires Authorization: Bearer <token> (docs/metrics.md)\n"
            await _respond(writer, 401, body, close=close, extra={"WWW-Authenticate": "Bearer"}, head=method == "HEAD")
        elif path == "/metrics":
            await self._refresh()
            body = generate_latest(self._registry)
            await _respond(writer, 200, body, close=close, content_type=CONTENT_TYPE_LATEST, head=method == "HEAD")
        elif path == "/healthz":
            await _respond(writer, 200, b"ok\n", close=close, head=method == "HEAD")
        else:
            await _respond(writer, 404, b"not found: try /metrics\n", close=close, head=method == "HEAD")
        return not close

    async def _refresh(self) -> None:
        for refresh in self._refreshers:
            try:
                async with asyncio.timeout(self._refresh_timeout):
                    await refresh()
            except Exception as exc:  # a scrape must never fail because one source is slow or down
                log.warning("metrics refresher %s failed (%s: %s); serving its last values", refresh, type(exc), exc)


REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Too Large",
}


async def _respond(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    *,
    close: bool,
    content_type: str = "text/plain; charset=utf-8",
    head: bool = False,
    extra: dict[str, str] | None = None,
) -> None:
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "Connection": "close" if close else "keep-alive",
        **(extra or {}),
    }
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", *(f"{k}: {v}" for k, v in headers.items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body))
    await writer.drain()
