"""A TaskClassified delivered again after the router finished with it does not queue the task again.

Found by the end-to-end test's kill -9 of the prioritiser: restarted, it handled an agent's transfer again
(its offset was not yet committed) and published the same TaskClassified (same event id) once more. By then
the task had been offered, accepted and completed in its new queue and the router had dropped its entry,
so the copy looked like a new task: it was queued, offered to another agent and completed a second time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.router_domain import Domain
from tests.support.routing import DOMAIN, T0, classified, command
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.envelope import make_event
from workrouter.contracts.task_events import TaskCancelled, TaskRescheduled
from workrouter.domain.routing.model import Presence


async def test_a_classification_redelivered_after_completion_is_ignored() -> None:
    domain = Domain()
    await domain.start()
    first = classified("t1", at=T0)
    await domain.send(first)
    await domain.work("t1")
    assert len(domain.events("completed")) == 1

    await domain.send(first)  # the same event again, after the entry was dropped

    assert len(domain.events("queued")) == 1
    assert len(domain.events("offered")) == 1
    assert await domain.store.retired(DOMAIN, first.id)
    assert "t1" not in domain.router.domains[DOMAIN].entries


async def test_a_superseded_classification_redelivered_does_not_move_the_task_back() -> None:
    domain = Domain()
    await domain.start()
    await domain.store.set_presence("a", Presence.NOT_READY, "lunch", T0)
    await domain.send(command(ac.ChangePresence(agent_id="a", domain=DOMAIN, presence="not_ready", reason="lunch")))
    await domain.store.set_presence("b", Presence.NOT_READY, "lunch", T0)
    await domain.send(command(ac.ChangePresence(agent_id="b", domain=DOMAIN, presence="not_ready", reason="lunch")))
    into_q, into_r = classified("t1", "q", at=T0), classified("t1", "r", at=T0 + 5)
    await domain.send(into_q)
    await domain.send(into_r)  # re-filed into r while waiting
    await domain.send(into_q)  # the older classification again

    entry = domain.router.domains[DOMAIN].entries["t1"]
    assert entry.queue == "r"
    assert [e.data.queue for e in domain.events("queued")] == ["q", "r"]  # type: ignore[attr-defined]


async def test_a_classification_after_after_work_ended_is_ignored() -> None:
    domain = Domain(after_work=10.0)
    await domain.start()
    first = classified("t1", at=T0)
    await domain.send(first)
    await domain.work("t1")
    domain.clock.now = T0 + 11
    await domain.router.tick(domain.router.domains[DOMAIN])  # after-work ends: the entry is dropped
    assert "t1" not in domain.router.domains[DOMAIN].entries

    await domain.send(first)

    assert len(domain.events("queued")) == 1


async def test_a_copy_older_than_the_memory_is_taken_as_new() -> None:
    domain = Domain(keep_seconds=60.0)
    await domain.start()
    first, other = classified("t1", at=T0), classified("t2", at=T0)
    await domain.send(first)
    await domain.work("t1")
    domain.clock.now = T0 + 120
    await domain.send(other)
    await domain.work("t2")  # retiring t2 forgets what was retired more than 60 s before

    assert not await domain.store.retired(DOMAIN, first.id)
    assert await domain.store.retired(DOMAIN, other.id)


# A classification decided while the task was open, arriving after it ended: found by `make bench-scale` at
# 77 tasks/s (3 of 15,440 tasks completed twice). An escalation step's TaskReprioritised was reclassified by
# the prioritiser while the agent worked the task; that TaskClassified (a new event, not a copy) reached the
# router after the agent's FinishTask, when the entry was gone, and was queued as a new task.


async def test_a_new_classification_after_the_agent_completed_the_task_is_ignored() -> None:
    domain = Domain()
    await domain.start()
    await domain.send(classified("t1", at=T0))
    await domain.work("t1")
    late = classified("t1", at=T0 + 1)  # another event id: a reclassification, not a redelivery
    await domain.send(late)

    assert len(domain.events("queued")) == 1
    assert len(domain.events("offered")) == 1
    assert "t1" not in domain.router.domains[DOMAIN].entries


async def test_a_new_classification_during_after_work_does_not_queue_the_task_again() -> None:
    domain = Domain(after_work=10.0)
    await domain.start()
    await domain.send(classified("t1", at=T0))
    await domain.work("t1")  # completed: in after-work for 10 s
    await domain.send(classified("t1", at=T0 + 1))

    assert len(domain.events("queued")) == 1
    assert domain.router.domains[DOMAIN].entries["t1"].after_work_until is not None


async def test_a_new_classification_after_the_source_cancelled_the_task_is_ignored() -> None:
    domain = Domain()
    await domain.start()
    await domain.send(classified("t1", at=T0))
    cancel = TaskCancelled(task_id="t1", by="source", reason="closed in the CRM")
    await domain.send(make_event(cancel, source="/test", key=DOMAIN, subject="t1"))
    await domain.send(classified("t1", at=T0 + 1))

    assert len(domain.events("queued")) == 1
    assert "t1" not in domain.router.domains[DOMAIN].entries


async def test_a_rescheduled_task_is_classified_again_when_it_wakes() -> None:
    domain = Domain()
    await domain.start()
    await domain.send(classified("t1", at=T0))
    later = TaskRescheduled(task_id="t1", wake_at=datetime.fromtimestamp(T0 + 60, UTC), by="source")
    await domain.send(make_event(later, source="/test", key=DOMAIN, subject="t1"))
    await domain.send(classified("t1", at=T0 + 61))  # woke: not over, so routed again

    assert len(domain.events("queued")) == 2
