"""The sources' callback endpoint for the benchmark: a minimal HTTP/1.1 server that answers 200 to every POST.

It does not check signatures (tests/support/callback_server.py does): in the benchmark it must cost as
little CPU as possible, since it shares the machine with the pipeline it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from tests.support.callback_server import free_port

PATH = "/workrouter/callbacks"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class CallbackSink:
    """Counts the callbacks the notifier delivers, and each idempotency key (one per event called back)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received = 0
        self.keys: Counter[str] = Counter()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The callback_url to put in sources.yaml."""
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def start(self) -> None:
        """Listen."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening and drop open connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: one request after another on the connection
                head = await reader.readuntil(b"\r\n\r\n")
                length, key = 0, ""
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    header = name.strip().lower()
                    if header == b"content-length":
                        length = int(value.strip())
                    elif header == b"idempotency-key":
                        key = value.strip().decode()
                await reader.readexactly(length)
                self.received += 1
                self.keys[key] += 1
                writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
