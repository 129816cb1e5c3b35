"""The callback store contract: one test class, run against the in-memory twin and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.notifier import T0
from workrouter.domain.notify.callback import NewCallback
from workrouter.ports.callbacks import CallbackStore, Change

S = timedelta(seconds=1)


def new(callback_id: str, source: str = "crm", task_id: str = "t1", event: str = "completed") -> NewCallback:
    """A callback with a recognisable body."""
    return NewCallback(callback_id, source, task_id, event, f'{{"id":"{callback_id}"}}'.encode())


def keep(view: dict[str, Any] | None, callback: NewCallback | None = None, *, closed: bool = False) -> Any:
    """A step that records what it was given and returns a fixed change."""
    seen: list[dict[str, Any] | None] = []

    def step(before: dict[str, Any] | None) -> Change:
        seen.append(before)
        return Change(view, closed, callback)

    step.seen = seen  # type: ignore[attr-defined]
    return step


class CallbackStoreContract:
    """Every CallbackStore keeps these promises. Subclasses provide the `store` fixture."""

    async def test_apply_saves_the_view_and_inserts_the_callback_once(self, store: CallbackStore) -> None:
        first = keep({"n": 1}, new("e1"))
        assert await store.apply("t1", first, T0) == new("e1")
        again = keep({"n": 2}, new("e1"))
        assert await store.apply("t1", again, T0 + S) is None  # a redelivered event: no second callback
        assert again.seen == [{"n": 1}]
        assert len(await store.claim("crm", T0 + S, 10, 30)) == 1

    async def test_a_step_returning_no_view_leaves_the_stored_one(self, store: CallbackStore) -> None:
        await store.apply("t1", keep({"n": 1}), T0)
        await store.apply("t1", keep(None), T0)
        probe = keep(None)
        await store.apply("t1", probe, T0)
        assert probe.seen == [{"n": 1}]

    async def test_apply_many_folds_in_order_and_inserts_each_callback_once(self, store: CallbackStore) -> None:
        await store.apply("t1", keep({"n": 0}), T0)
        t1a, t1b = keep({"n": 1}), keep({"n": 2}, new("e2", task_id="t1"), closed=True)
        t2a, t2b = keep({"m": 1}, new("e3", task_id="t2")), keep(None, new("e3", task_id="t2"))
        inserted = await store.apply_many([("t1", t1a), ("t2", t2a), ("t1", t1b), ("t2", t2b)], T0 + S)
        assert inserted == [new("e3", task_id="t2"), new("e2", task_id="t1")]  # in event order; e3 twice: once
        assert (t1a.seen, t1b.seen, t2a.seen, t2b.seen) == ([{"n": 0}], [{"n": 1}], [None], [{"m": 1}])
        again = await store.apply_many([("t1", keep({"n": 3}, new("e2", task_id="t1")))], T0 + 2 * S)
        assert again == []  # a redelivered poll: no second callback
        probe, other = keep(None), keep(None)
        await store.apply_many([("t1", probe), ("t2", other)], T0 + 3 * S)
        assert (probe.seen, other.seen) == ([{"n": 3}], [{"m": 1}])
        assert sorted(c.id for c in await store.claim("crm", T0 + 3 * S, 10, 30)) == ["e2", "e3"]
        assert await store.apply_many([], T0) == []

    async def test_enqueue_is_idempotent_by_id(self, store: CallbackStore) -> None:
        assert await store.enqueue(new("r1"), T0)
        assert not await store.enqueue(new("r1"), T0)

    async def test_claim_takes_due_rows_of_one_source_under_a_lease(self, store: CallbackStore) -> None:
        await store.enqueue(new("a", "crm"), T0)
        await store.enqueue(new("b", "bpm"), T0)
        await store.enqueue(new("c", "crm"), T0 + 5 * S)
        assert await store.claim("crm", T0 - S, 10, 30) == []  # nothing due yet
        claimed = await store.claim("crm", T0, 10, 30)
        assert [(c.id, c.attempts, c.body) for c in claimed] == [("a", 1, b'{"id":"a"}')]
        later = await store.claim("crm", T0 + 10 * S, 10, 30)
        assert [c.id for c in later] == ["c"]  # `a` is leased: it stays away until its lease ends
        assert await store.next_due("crm") == T0 + 30 * S
        again = await store.claim("crm", T0 + 31 * S, 10, 30)
        assert [(c.id, c.attempts) for c in again] == [("a", 2)]  # the lease ran out: claimable, one attempt more
        assert [c.id for c in await store.claim("bpm", T0, 10, 30)] == ["b"]

    async def test_claim_respects_the_limit(self, store: CallbackStore) -> None:
        for i in range(5):
            await store.enqueue(new(f"x{i}"), T0)
        assert len(await store.claim("crm", T0, 3, 30)) == 3
        assert len(await store.claim("crm", T0, 3, 30)) == 2
        assert await store.claim("crm", T0, 0, 30) == []

    async def test_an_outcome_needs_the_current_claim(self, store: CallbackStore) -> None:
        await store.enqueue(new("a"), T0)
        (old,) = await store.claim("crm", T0, 1, 10)
        (current,) = await store.claim("crm", T0 + 11 * S, 1, 10)  # the first lease ran out
        assert not await store.delivered(old, T0 + 12 * S, 200)
        assert not await store.failed(old, T0 + 12 * S, "late", 500, None)
        assert await store.delivered(current, T0 + 12 * S, 204)
        assert not await store.delivered(current, T0 + 12 * S, 204)  # once
        assert await store.next_due("crm") is None

    async def test_failed_reschedules_then_dies_and_replay_revives(self, store: CallbackStore) -> None:
        await store.enqueue(new("a", task_id="task-a"), T0)
        (first,) = await store.claim("crm", T0, 1, 30)
        assert await store.failed(first, T0 + S, "HTTP 500: boom", 500, T0 + 5 * S)
        assert await store.next_due("crm") == T0 + 5 * S
        assert await store.claim("crm", T0 + 4 * S, 1, 30) == []
        (second,) = await store.claim("crm", T0 + 5 * S, 1, 30)
        assert second.attempts == 2
        assert await store.failed(second, T0 + 6 * S, "timed out", None, None)
        (dead,) = await store.dead()
        assert (dead.id, dead.source, dead.task_id, dead.event, dead.status) == (
            "a",
            "crm",
            "task-a",
            "completed",
            "dead",
        )
        assert (dead.attempts, dead.last_error, dead.dead_at) == (2, "timed out", T0 + 6 * S)
        assert await store.counts() == {("crm", "dead"): 1}
        assert await store.claim("crm", T0 + 100 * S, 1, 30) == []
        replayed = await store.replay(T0 + 200 * S, ids=["a"])
        assert [(r.id, r.status, r.attempts, r.last_error) for r in replayed] == [("a", "dead", 2, "timed out")]
        assert await store.dead() == []
        (third,) = await store.claim("crm", T0 + 200 * S, 1, 30)
        assert third.attempts == 1
        assert third.body == b'{"id":"a"}'

    async def test_replay_by_source_or_all(self, store: CallbackStore) -> None:
        for callback_id, source in (("a", "crm"), ("b", "crm"), ("c", "bpm")):
            await store.enqueue(new(callback_id, source), T0)
            (row,) = await store.claim(source, T0, 1, 30)
            await store.failed(row, T0, "down", None, None)
        assert [r.id for r in await store.dead("crm")] == ["a", "b"]
        assert [r.id for r in await store.replay(T0, ids=["zzz"])] == []
        assert sorted(r.id for r in await store.replay(T0, source="crm")) == ["a", "b"]
        assert [r.id for r in await store.dead()] == ["c"]
        assert [r.id for r in await store.replay(T0)] == ["c"]
        assert await store.counts() == {("crm", "pending"): 2, ("bpm", "pending"): 1}

    async def test_bury_unknown_makes_dead_letters_of_sources_without_a_target(self, store: CallbackStore) -> None:
        await store.enqueue(new("a", "crm"), T0)
        await store.enqueue(new("b", "gone"), T0)
        assert await store.bury_unknown(["crm"], T0) == 1
        (dead,) = await store.dead()
        assert dead.id == "b"
        assert dead.last_error is not None
        assert "callback_url" in dead.last_error

    async def test_purge_drops_old_delivered_callbacks_and_ended_views(self, store: CallbackStore) -> None:
        await store.apply("t1", keep({"n": 1}, new("a"), closed=True), T0)
        await store.enqueue(new("b"), T0)
        (a, b) = sorted(await store.claim("crm", T0, 2, 30), key=lambda c: c.id)
        await store.delivered(a, T0, 200)
        await store.failed(b, T0, "down", None, None)
        assert await store.purge(T0 - S) == 0
        assert await store.purge(T0 + S) == 1
        assert [r.id for r in await store.dead()] == ["b"]  # dead letters are never purged
        probe = keep(None)
        await store.apply("t1", probe, T0)
        assert probe.seen == [None]
