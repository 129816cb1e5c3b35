"""Delivery under test: the handler, the in-memory store and a dispatcher over httpx.MockTransport, on a hand-set
clock; the mock source systems check every signature and remember every request.

Signatures are checked as a source system would: the Standard Webhooks headers with the `standardwebhooks`
package's own signing (its `verify` compares the timestamp with the real clock, these tests use a hand-set one,
so the timestamp is checked against that here), and the older `Workrouter-Signature` sent alongside."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks.webhooks import Webhook

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
TARGETS = {
    "crm": Target("crm", "https://crm.example/hooks", "crm-secret-0123456789", frozenset({"completed", "cancelled"})),
    "bpm": Target("bpm", "https://bpm.example/hooks", "bpm-secret-0123456789", frozenset({"completed"})),
}
Reply = Callable[[httpx.Request], Awaitable[httpx.Response]]


async def ok(_: httpx.Request) -> httpx.Response:
    """Acknowledge."""
    return httpx.Response(200)


@dataclass
class Sources:
    """The source systems behind the mock transport: they check signatures and remember what they got."""

    clock: Clock
    replies: dict[str, Reply] = field(default_factory=dict)
    requests: dict[str, list[httpx.Request]] = field(default_factory=lambda: defaultdict(list))
    bad_signatures: list[str] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        source = request.url.host.split(".")[0]
        target = TARGETS[source]
        assert str(request.url) == target.url
        body = await request.aread()
        now = self.clock().timestamp()
        if not (
            standard_webhook_ok(target.secret, body, request.headers, now)
            and verify_signature(target.secret, body, request.headers.get("workrouter-signature"), now)
        ):
            self.bad_signatures.append(request.headers["idempotency-key"])
        self.requests[source].append(request)
        return await self.replies.get(source, ok)(request)

    def keys(self, source: str) -> list[str]:
        """The idempotency keys a source received, in order."""
        return [r.headers["idempotency-key"] for r in self.requests[source]]


def standard_webhook_ok(secret: str, body: bytes, headers: httpx.Headers, now: float) -> bool:
    """The Standard Webhooks headers sign exactly `body` with `secret`, within 5 minutes of `now`; the id is the
    Idempotency-Key."""
    msg_id, stamp, signature = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signature) or msg_id != headers.get("idempotency-key"):
        return False
    key = secret if secret.startswith("whsec_") else secret.encode()
    expected = Webhook(key).sign(msg_id, datetime.fromtimestamp(int(stamp), UTC), body)
    return abs(now - int(stamp)) <= 300 and expected in signature.split(" ")


class World:
    """The handler, the store and a dispatcher, wired as the service wires them."""

    def __init__(self, policy: RetryPolicy = POLICY, timeout: float = 5.0, concurrency: int = 2) -> None:
        self.clock = Clock()
        self.store = MemoryCallbackStore()
        self.sources = Sources(self.clock)
        transport = httpx.MockTransport(self.sources)
        self.sender = Sender(clock=self.clock, timeout=timeout, transport=transport)
        self.dispatcher = Dispatcher(
            TARGETS, self.store, self.sender, policy, clock=self.clock, rand=lambda: 0.5, concurrency=concurrency
        )
        subs = {name: t.events for name, t in TARGETS.items()}
        self.deps = NotifierDeps(self.store, subs, self.clock, self.dispatcher.poke)

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
