"""Stale, repeated and made-up commands against the api and the real router over one in-memory store.

The router carries out what the api published; the api then refuses every command it can see is stale
(nothing published), and the router still ignores the one that slipped through while its view lagged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.agent_api import T0
from tests.support.agent_world import World, agent_world
from tests.support.fake_router_store import FakeRouterStore
from workrouter.config.catalog import Catalog
from workrouter.domain.routing.holds import offer_id

# every agent command on a task, with a body it would take
TASK_COMMANDS = [
    ("offers/t1/accept", None),
    ("offers/t1/reject", None),
    ("tasks/t1/start", None),
    ("tasks/t1/complete", {"wrap_up_code": "processed"}),
    ("tasks/t1/transfer", {"queue": "claims"}),
    ("tasks/t1/reschedule", {"wake_at": "2030-01-01T00:00:00Z"}),
    ("tasks/t1/reclassify", {"reason": "fraud"}),
]


@pytest.fixture
async def w(catalog: Catalog) -> AsyncIterator[World]:
    async with agent_world(catalog, FakeRouterStore()) as world:
        yield world


async def offered_to_emma(w: World) -> str:
    """emma logs in, t1 (queue general) is offered to her; its offer id."""
    await w.login("emma")
    await w.classify("t1")
    (offer,) = w.events("offered")
    assert offer.agent_id == "emma"
    return str(offer.offer_id)


async def refused(w: World, agent: str, expected: dict[str, tuple[int, str | None]]) -> None:
    """Each command of TASK_COMMANDS by `agent` gets its (status, state); nothing is published."""
    before = len(w.commands())
    answers = {}
    for path, body in TASK_COMMANDS:
        response = await w.post(f"/v1/agent/{path}", agent, body)
        answers[path] = (response.status_code, response.json().get("state"))
    assert answers == expected
    assert len(w.commands()) == before


async def test_an_answer_naming_an_offer_that_is_not_open_is_refused_and_the_offer_stays_open(w: World) -> None:
    oid = await offered_to_emma(w)
    for sent in ("made-up", offer_id("t1", "emma", T0 - 1)):
        response = await w.post("/v1/agent/offers/t1/accept", "emma", {"offer_id": sent})
        assert response.status_code == 409
        assert [e["loc"] for e in response.json()["errors"]] == ["body.offer_id"]
        assert response.json()["offer_id"] == oid
    assert await w.relay() == 0
    response = await w.post("/v1/agent/offers/t1/accept", "emma", {"offer_id": oid})
    assert response.status_code == 202
    assert await w.relay() == 1
    assert [(a.agent_id, a.offer_id) for a in w.events("accepted")] == [("emma", oid)]


async def test_every_command_after_completion_is_refused_with_the_state(w: World) -> None:
    await offered_to_emma(w)
    assert (await w.post("/v1/agent/offers/t1/accept", "emma")).status_code == 202
    await w.relay()
    assert (await w.post("/v1/agent/tasks/t1/complete", "emma", {"wrap_up_code": "processed"})).status_code == 202
    await w.relay()
    assert [c.agent_id for c in w.events("completed")] == ["emma"]

    await refused(w, "emma", {path: (409, "after_work") for path, _ in TASK_COMMANDS})  # general: 15 s after-work
    await refused(w, "farid", {path: (403, None) for path, _ in TASK_COMMANDS})
    await w.at(15)  # after-work ends: hold released, entry dropped
    await refused(w, "emma", {path: (404, "unknown") for path, _ in TASK_COMMANDS})
    assert len(w.events("completed")) == 1


async def test_completing_twice_before_the_router_acts_is_done_once(w: World) -> None:
    await offered_to_emma(w)
    await w.post("/v1/agent/offers/t1/accept", "emma")
    await w.relay()
    first = await w.post("/v1/agent/tasks/t1/complete", "emma")
    second = await w.post("/v1/agent/tasks/t1/complete", "emma")  # the api's view is a moment behind
    assert (first.status_code, second.status_code) == (202, 202)
    assert await w.relay() == 2
    assert len(w.events("completed")) == 1  # the router ignores the stale one
    third = await w.post("/v1/agent/tasks/t1/complete", "emma")
    assert (third.status_code, third.json()["state"]) == (409, "after_work")


async def test_accept_after_reject_is_refused_while_waiting_and_once_another_agent_has_it(w: World) -> None:
    oid = await offered_to_emma(w)
    assert (await w.post("/v1/agent/offers/t1/reject", "emma")).status_code == 202
    await w.relay()  # RONA: emma not ready, t1 waits for the next agent
    response = await w.post("/v1/agent/offers/t1/accept", "emma", {"offer_id": oid})
    assert (response.status_code, response.json()["state"]) == (409, "waiting")
    await w.login("farid")
    assert [o.agent_id for o in w.events("offered")] == ["emma", "farid"]
    await refused(w, "emma", {path: (403, None) for path, _ in TASK_COMMANDS})
    assert w.events("accepted") == []


async def test_a_command_after_a_hand_back_is_a_404(w: World) -> None:
    await offered_to_emma(w)
    await w.post("/v1/agent/offers/t1/accept", "emma")
    await w.relay()
    assert (await w.post("/v1/agent/tasks/t1/transfer", "emma", {"queue": "claims"})).status_code == 202
    await w.relay()  # out of this queue until the rules classify it again
    await refused(w, "emma", {path: (404, "unknown") for path, _ in TASK_COMMANDS})


async def test_a_supervisor_command_on_a_finished_task_is_refused(w: World) -> None:
    await offered_to_emma(w)
    await w.post("/v1/agent/offers/t1/accept", "emma")
    await w.relay()
    assert (await w.post("/v1/agent/tasks/t1/complete", "emma")).status_code == 202
    await w.relay()
    await w.login("farid")
    for action in ("assign", "park"):
        response = await w.post(f"/v1/supervisor/tasks/t1/{action}", "sam", {"agent_id": "farid"})
        assert (response.status_code, response.json()["state"]) == (409, "after_work")
    await w.at(15)
    response = await w.post("/v1/supervisor/tasks/t1/assign", "sam", {"agent_id": "farid"})
    assert (response.status_code, response.json()["state"]) == (404, "unknown")
    assert await w.relay() == 0
