"""A source system's callback endpoint for tests: a real HTTP server (uvicorn) on 127.0.0.1 in its own thread.

It checks every signature, acknowledges each idempotency key once (a repeat of a key it has acted on
gets 200 again and is counted as a duplicate, as a well-behaved receiver does), and answers by turns
as `behaviour(key, nth request with that key)` says:

- "ok": act on it (first time) and answer 200;
- "fail": answer 500 without acting;
- "hang": answer nothing until released or the server stops (past the notifier's timeout);
- "ack_hang": act on it, then hang: the notifier never hears the answer and must send it again;
- "hold": wait until released, then act and answer 200 (a slow source that does come back).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workrouter.domain.notify.signing import signature_problem

Behaviour = Callable[[str, int], str]
PATH = "/workrouter/callbacks"


def always_ok(_key: str, _nth: int) -> str:
    """Every request is acknowledged."""
    return "ok"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class CallbackServer:
    """One source system's endpoint: counts, first acknowledgements and every request it saw."""

    secret: str
    behaviour: Behaviour = always_ok
    port: int = field(default_factory=free_port)
    delay: float = 0.0  # seconds the server takes to act on a request (its own latency)
    first_acks: dict[str, bytes] = field(default_factory=dict)  # key -> body of the first acknowledged request
    duplicates: Counter[str] = field(default_factory=Counter)  # key -> repeats after it was acknowledged
    requests: Counter[str] = field(default_factory=Counter)  # key -> requests seen
    bodies: dict[str, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    bad_signatures: list[str] = field(default_factory=list)
    hanging: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the notifier calls."""
        return f"http://127.0.0.1:{self.port}{PATH}"

    def start(self) -> None:
        """Listen (again) on the port; return once it accepts connections."""
        app = Starlette(routes=[Route(PATH, self._hook, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", http="h11", ws="none",
            timeout_graceful_shutdown=1, access_log=False,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"callbacks-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the callback server on port {self.port} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop listening (hung requests end); what it counted is kept."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._server = self._thread = None

    def release(self) -> None:
        """Let every hanging and held request go on."""
        self.released.set()

    def acked(self, keys: set[str]) -> bool:
        """Whether every one of `keys` has been acknowledged."""
        return keys <= self.first_acks.keys()

    async def _wait_release(self) -> bool:
        """Wait until released (True) or the server stops (False)."""
        with self._lock:
            self.hanging += 1
        try:
            while not self.released.is_set():
                if self._server is None or self._server.should_exit:
                    return False
                await asyncio.sleep(0.01)
            return True
        finally:
            with self._lock:
                self.hanging -= 1

    def _ack(self, key: str, body: bytes) -> None:
        with self._lock:
            if key in self.first_acks:
                self.duplicates[key] += 1
            else:
                self.first_acks[key] = body

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        key = request.headers.get("idempotency-key", "")
        problem = signature_problem(self.secret, body, request.headers.get("workrouter-signature"), time.time())
        try:  # what a source does with the standardwebhooks package (an older raw secret: its bytes)
            Webhook(self.secret if self.secret.startswith("whsec_") else self.secret.encode()).verify(
                body, dict(request.headers), json_parse=False
            )
        except WebhookVerificationError as exc:
            problem = f"Standard Webhooks: {exc}"
        if problem is not None:
            with self._lock:
                self.bad_signatures.append(f"{key}: {problem}")
            return Response(problem, status_code=401)
        with self._lock:
            self.requests[key] += 1
            self.bodies[key].add(body)
            nth = self.requests[key]
            repeat = key in self.first_acks
        turn = "ok" if repeat else self.behaviour(key, nth)
        if self.delay:
            await asyncio.sleep(self.delay)
        if turn == "fail":
            return Response("try again later", status_code=500)
        if turn in ("hang", "ack_hang", "hold"):
            if turn == "ack_hang":
                self._ack(key, body)
            if not await self._wait_release() or turn != "hold":
                return Response("too late", status_code=504)
        self._ack(key, body)
        return Response(status_code=200)
