"""An ASGI app served by uvicorn as a task of the running event loop, so its requests run on the loop's thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

log = logging.getLogger(__name__)
START_TIMEOUT_SECONDS = 30.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the process's `runtime.serve` owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class AsgiServer:
    """Serves `app` on host:port (port 0: any free port; `port` is the bound one once started)."""

    def __init__(
        self, name: str, app: Any, host: str, port: int = 0, *, log_level: str = "info", access_log: bool = True
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._config = uvicorn.Config(app, log_level=log_level, access_log=access_log)
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:9103."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen, and return once uvicorn answers; a taken port raises an OSError that says what to do."""
        sock = self._bind()
        self.port = sock.getsockname()[1]
        server = self._server = _Server(self._config)
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name=f"http:{self.name}")
        async with asyncio.timeout(START_TIMEOUT_SECONDS):
            while not server.started:  # uvicorn offers no event for it; its own startup takes a few ms
                if self._task.done():
                    sock.close()
                    await self._task  # its exception, if it failed
                    raise RuntimeError(f"{self.name}: uvicorn stopped while starting")
                await asyncio.sleep(0.005)
        log.info("%s on %s", self.name, self.url)

    async def stop(self) -> None:
        """Stop listening, finish the requests in flight, close the connections."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):  # a server that failed has nothing left to close
            await self._task
        self._server = self._task = None

    async def __aenter__(self) -> AsgiServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def _bind(self) -> socket.socket:
        """Bind the address ourselves, so a taken port is an error that names the endpoint."""
        family = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(
                f"{self.name}: cannot listen on {self.host}:{self.port} ({exc.strerror}); "
                "another process is using the port: stop it, or choose another port"
            ) from exc
        sock.set_inheritable(True)
        return sock
