"""GET /metrics for Prometheus: prometheus_client's ASGI app behind the scrape's refreshers and bearer token.

The process serves it with uvicorn as a task of its own event loop (`asgi_server.AsgiServer`), on the
metrics port and in front of the api's and the reports' apps. prometheus_client's `make_asgi_app`
renders the registry synchronously inside its coroutine (`_bake_output` calls `generate_latest`; no
thread, no executor: prometheus_client 0.26's asgi.py), so the scrape-time collectors run on the loop's
thread between two handler steps, and may read state only the loop may touch (the router's engine, say).
prometheus_client also negotiates the format and compresses with gzip when the scraper accepts it.

Before each scrape the refreshers are awaited (state that needs I/O to read, such as a count in
PostgreSQL), each with a deadline; one that fails or is late leaves its last values, and is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import REGISTRY, make_asgi_app
from prometheus_client.registry import CollectorRegistry
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from workrouter.config.bearer import metrics_allowed

log = logging.getLogger(__name__)
Refresher = Callable[[], Awaitable[None]]
METHODS = ("GET", "HEAD")


async def _healthz(_: Request) -> Response:
    return PlainTextResponse("ok\n")


async def _not_found(_: Request, __: Exception) -> Response:
    return PlainTextResponse("not found: try /metrics\n", status_code=404)


def _health_app() -> Starlette:
    """What the metrics port serves besides /metrics: GET /healthz (`ok`), 404 elsewhere."""
    return Starlette(routes=[Route("/healthz", _healthz, methods=list(METHODS))], exception_handlers={404: _not_found})


class MetricsApp:
    """ASGI: `GET|HEAD /metrics` (token, refreshers, then prometheus_client); every other request to `inner`
    (by default: `/healthz`, and 404 elsewhere)."""

    def __init__(
        self,
        inner: ASGIApp | None = None,
        *,
        registry: CollectorRegistry = REGISTRY,
        refreshers: Sequence[Refresher] = (),
        refresh_timeout: float = 2.0,
        token_sha256: str | None = None,
    ) -> None:
        self._inner: ASGIApp = inner if inner is not None else _health_app()
        self._registry = registry
        self._exposition: ASGIApp = make_asgi_app(registry)
        self._refreshers = list(refreshers)
        self._refresh_timeout = refresh_timeout
        self._token_sha256 = token_sha256

    def in_front_of(self, app: ASGIApp) -> MetricsApp:
        """The same /metrics in front of another app (the api's, the reports')."""
        return MetricsApp(
            app,
            registry=self._registry,
            refreshers=self._refreshers,
            refresh_timeout=self._refresh_timeout,
            token_sha256=self._token_sha256,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/metrics":
            await self._inner(scope, receive, send)
        elif scope["method"] not in METHODS:
            await PlainTextResponse("method not allowed\n", 405, {"Allow": ", ".join(METHODS)})(scope, receive, send)
        elif not metrics_allowed(Headers(scope=scope).get("authorization"), self._token_sha256):
            body = "/metrics requires Authorization: Bearer <token> (docs/metrics.md)\n"
            await PlainTextResponse(body, 401, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
        else:
            await self._refresh()
            await self._exposition(scope, receive, send)

    async def _refresh(self) -> None:
        for refresh in self._refreshers:
            try:
                async with asyncio.timeout(self._refresh_timeout):
                    await refresh()
            except Exception as exc:  # a scrape must never fail because one source is slow or down
                log.warning("metrics refresher %s failed (%s: %s); serving its last values", refresh, type(exc), exc)
