"""Commands the api can already see will not be carried out are refused with the task's state, never 202.

Every route that names a task or an offer, against every stale, foreign or made-up id the live store can
tell apart: the answer says what state the task is in, and nothing is published.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.agent_api import T0, Harness, auth, entry, harness
from workrouter.adapters.redis_agent_records import Holder
from workrouter.config.catalog import Catalog
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.holds import offer_id

EMMA = auth("emma")

# every agent route that acts on a task the agent must hold, with a body it would take
HOLD_ROUTES = [
    ("offers/t1/accept", None),
    ("offers/t1/reject", None),
    ("tasks/t1/start", None),
    ("tasks/t1/complete", {"wrap_up_code": "processed"}),
    ("tasks/t1/transfer", {"queue": "general"}),
    ("tasks/t1/reschedule", {"wake_at": "2030-01-01T00:00:00Z"}),
    ("tasks/t1/reclassify", {"reason": "wrong department"}),
]


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog) as built:
        await built.ready("emma", "farid")
        yield built


def unknown(h: Harness) -> None:
    """Never existed, or completed without after-work: no entry, no holder."""


def waiting(h: Harness) -> None:
    """The agent's offer was revoked (RONA, reject, timeout): back in its queue, nobody holds it."""
    h.store.queue(entry("t1", queue="general"))


def parked_for_farid(h: Harness) -> None:
    h.store.queue(entry("t1", parked_for="farid"))


def parked_for_emma(h: Harness) -> None:
    h.store.queue(entry("t1", parked_for="emma"))


def in_after_work(h: Harness) -> None:
    """Completed by emma: the router keeps her hold (capacity) until after-work ends."""
    h.store.queue(entry("t1", after_work_until=T0 + 15))
    h.store.holds["t1"] = Holder("emma", "workitem", "assign", T0 - 60)


def after_work_ending(h: Harness) -> None:
    """The router released the hold at the end of after-work and has not dropped the entry yet."""
    h.store.queue(entry("t1", after_work_until=T0))


def gone_while_held(h: Harness) -> None:
    """A claim that raced a cancel: emma holds it, the domain no longer queues it."""
    h.store.holds["t1"] = Holder("emma", "workitem", "assign", T0)


def farids(h: Harness) -> None:
    """Offered (after emma's RONA) or assigned to another agent."""
    h.store.queue(entry("t1"))
    h.store.holds["t1"] = Holder("farid", "workitem", "offer", T0)


STATES = [
    (unknown, 404, "unknown", "unknown task 't1': nobody holds it and it is not queued in backoffice"),
    (waiting, 409, "waiting", "task t1 is waiting in queue general, not held by you"),
    (parked_for_farid, 409, "parked", "parked in farid's personal workbin"),
    (parked_for_emma, 409, "parked", "claim it (POST /v1/agent/claim/t1) first"),
    (in_after_work, 409, "after_work", "completed already (in after-work until 2027-01-15T08:00:15Z)"),
    (after_work_ending, 409, "after_work", "completed already"),
    (gone_while_held, 409, "gone", "no longer queued in backoffice"),
    (farids, 403, None, "held by another agent"),
]


@pytest.mark.parametrize(("path", "body"), HOLD_ROUTES)
@pytest.mark.parametrize("case", STATES, ids=[setup.__name__ for setup, *_ in STATES])
async def test_a_command_on_a_task_the_agent_does_not_hold_is_refused_with_its_state(
    h: Harness, path: str, body: dict[str, Any] | None, case: tuple[Any, int, str | None, str]
) -> None:
    setup, status, state, detail = case
    setup(h)
    response = await h.client.post(f"/v1/agent/{path}", json=body, headers=EMMA)
    assert response.status_code == status
    problem = response.json()
    assert problem.get("state") == state
    assert detail in problem["detail"]
    assert h.commands() == []


@pytest.mark.parametrize("answer", ["accept", "reject"])
@pytest.mark.parametrize(
    "sent",
    [
        "made-up",
        offer_id("t1", "emma", T0 - 100),  # an earlier offer of the same task to the same agent (RONA'd since)
        offer_id("t1", "farid", T0),  # somebody else's offer
        offer_id("t2", "emma", T0),  # another task's offer
    ],
)
async def test_an_answer_to_an_offer_that_is_not_open_is_a_409_naming_the_offer_id(
    h: Harness, answer: str, sent: str
) -> None:
    h.store.queue(entry("t1"))
    h.store.holds["t1"] = Holder("emma", "workitem", "offer", T0)
    response = await h.client.post(f"/v1/agent/offers/t1/{answer}", json={"offer_id": sent}, headers=EMMA)
    assert response.status_code == 409
    problem = response.json()
    (error,) = problem["errors"]
    assert error["loc"] == "body.offer_id"
    assert f"offer {sent!r} is not open" in error["msg"]
    assert (problem["state"], problem["offer_id"]) == ("offered", offer_id("t1", "emma", T0))
    assert h.commands() == []
    assert h.store.holds["t1"].kind == "offer"  # still open, to be answered with the right id


@pytest.mark.parametrize("answer", ["accept", "reject"])
async def test_an_answer_naming_the_open_offer_is_carried_out(h: Harness, answer: str) -> None:
    h.store.queue(entry("t1"))
    h.store.holds["t1"] = Holder("emma", "workitem", "offer", T0)
    oid = offer_id("t1", "emma", T0)
    response = await h.client.post(f"/v1/agent/offers/t1/{answer}", json={"offer_id": oid}, headers=EMMA)
    assert response.status_code == 202
    (event,) = h.commands()
    assert event.data == ac.AnswerOffer(
        agent_id="emma", domain="backoffice", task_id="t1", offer_id=oid, accept=answer == "accept"
    )


@pytest.mark.parametrize("path", ["/v1/agent/claim/t1", "/v1/agent/workbins/claims/claim/t1"])
async def test_a_finished_task_cannot_be_claimed_in_the_moment_before_the_router_drops_it(
    h: Harness, path: str
) -> None:
    after_work_ending(h)
    response = await h.client.post(path, headers=EMMA)
    assert (response.status_code, "completed already" in response.json()["detail"]) == (409, True)
    assert h.commands() == []
    assert "t1" not in h.store.holds
