"""Delivery under test: the handler, the in-memory store and a dispatcher sending to a real HTTP server on 127.0.0.1
(aiohttp.web, in the test's own event loop), on a hand-set clock; the source systems behind it check every signature
and remember every request.

Signatures are checked as a source system would: the Standard Webhooks headers with the `standardwebhooks`
package's own signing (its `verify` compares the timestamp with the real clock, these tests use a hand-set one,
so the timestamp is checked against that here), and the older `Workrouter-Signature` sent alongside."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from tests.support.callback_server import free_port
from tests.support.notifier import Clock, MemoryCallbackStore, captured, completed, event
from workrouter.bus.port import Delivery
from workrouter.domain.notify.retry import RetryPolicy
from workrouter.domain.notify.signing import verify_signature
from workrouter.services.notifier.dispatcher import Dispatcher
from workrouter.services.notifier.handlers import NotifierDeps, handle
from workrouter.services.notifier.sender import Sender, Target

DELIVERY = Delivery("wr.tasks", 0, 0, "t", 1)
S = timedelta(seconds=1)
POLICY = RetryPolicy(max_attempts=3, base_seconds=1.0, cap_seconds=10.0)
SECRETS = {"crm": "crm-secret-0123456789", "bpm": "bpm-secret-0123456789"}
EVENTS = {"crm": frozenset({"completed", "cancelled"}), "bpm": frozenset({"completed"})}
Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def ok(_: web.Request) -> web.Response:
    """Acknowledge."""
    return web.Response(status=200)


@dataclass(frozen=True)
class Received:
    """One request as a source system received it."""

    url: str
    headers: Mapping[str, str]  # case-insensitive, as sent
    content: bytes


@dataclass
class Sources:
    """The source systems behind the HTTP server (one path each): they check signatures and remember what they got."""

    clock: Clock
    replies: dict[str, Reply] = field(default_factory=dict)
    requests: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    bad_signatures: list[str] = field(default_factory=list)

    async def receive(self, request: web.Request) -> web.StreamResponse:
        """One request: check it, remember it, answer as `replies` says (200 by default)."""
        source = request.match_info["source"]
        secret = SECRETS[source]
        body = await request.read()
        now = self.clock().timestamp()
        if not (
            standard_webhook_ok(secret, body, request.headers, now)
            and verify_signature(secret, body, request.headers.get("workrouter-signature"), now)
        ):
            self.bad_signatures.append(request.headers["idempotency-key"])
        self.requests[source].append(Received(str(request.url), request.headers.copy(), body))
        return await self.replies.get(source, ok)(request)

    def keys(self, source: str) -> list[str]:
        """The idempotency keys a source received, in order."""
        return [r.headers["idempotency-key"] for r in self.requests[source]]


def standard_webhook_ok(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> bool:
    """The Standard Webhooks headers sign exactly `body` with `secret`, within 5 minutes of `now`; the id is the
    Idempotency-Key."""
    msg_id, stamp, signature = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signature) or msg_id != headers.get("idempotency-key"):
        return False
    key = secret if secret.startswith("whsec_") else secret.encode()
    expected = Webhook(key).sign(msg_id, datetime.fromtimestamp(int(stamp), UTC), body)
    return abs(now - int(stamp)) <= 300 and expected in signature.split(" ")


class World:
    """The handler, the store and a dispatcher, wired as the service wires them, and the sources' HTTP server.

    `async with World() as world:` starts the server (a free port on 127.0.0.1) and closes the sender's sessions
    and the server at the end; the sources in `down` are called on a port where nothing listens."""

    def __init__(
        self, policy: RetryPolicy = POLICY, timeout: float = 5.0, concurrency: int = 2, down: Collection[str] = ()
    ) -> None:
        self.clock = Clock()
        self.store = MemoryCallbackStore()
        self.sources = Sources(self.clock)
        self.sender = Sender(clock=self.clock, timeout=timeout)
        self._policy, self._concurrency, self._down = policy, concurrency, frozenset(down)
        self._exit = AsyncExitStack()

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            app = web.Application()
            app.router.add_post("/{source}/hooks", self.sources.receive)
            # a handler ends when the notifier gives up on it (a hang past the timeout), not only at shutdown
            runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            port = runner.addresses[0][1]
            stack.push_async_callback(self.sender.aclose)
            self.targets = {
                name: Target(name, f"http://127.0.0.1:{free_port() if name in self._down else port}/{name}/hooks",
                             secret, EVENTS[name])
                for name, secret in SECRETS.items()
            }  # fmt: skip
            self.dispatcher = Dispatcher(
                self.targets, self.store, self.sender, self._policy, clock=self.clock, rand=lambda: 0.5,
                concurrency=self._concurrency,
            )  # fmt: skip
            self.deps = NotifierDeps(self.store, dict(EVENTS), self.clock, self.dispatcher.poke)
            self._exit = stack.pop_all()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._exit.aclose()

    async def complete(self, task_id: str, source: str = "crm", **attributes: object) -> str:
        """Capture and complete a task; the completion's event id (the callback's key)."""
        await handle(event(captured(task_id, source, attributes=attributes)), DELIVERY, self.deps)
        done = event(completed(task_id), at=self.clock())
        await handle(done, DELIVERY, self.deps)
        return done.id

    async def round(self, source: str = "crm") -> int:
        """One claim-and-send round of a source's worker, waiting for its attempts to end."""
        worker = self.dispatcher.workers[source]
        claimed = await worker.run_once()
        await worker.drain()
        return claimed

    def status(self, callback_id: str) -> str:
        """A callback's status in the store."""
        return self.store.rows[callback_id].status
