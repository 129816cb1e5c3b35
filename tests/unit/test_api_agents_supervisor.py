"""Supervisor commands (force-assign or reassign, park, take back) and task explanations built from the live store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.agent_api import T0, Harness, auth, entry, harness
from workrouter.adapters.redis_agent_records import Holder
from workrouter.config.catalog import Catalog
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.commands import OverrideTask, ReclassifyTask
from workrouter.domain.routing.model import Presence, needs

SAM, EMMA, FARID = auth("sam"), auth("emma"), auth("farid")


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog) as built:
        yield built


@pytest.mark.parametrize(("action", "command"), [("assign", "force_assign"), ("park", "park")])
async def test_a_supervisor_assigns_or_parks_a_waiting_task(h: Harness, action: str, command: Any) -> None:
    await h.ready("farid")  # a force-assign needs an agent logged in with room (the router's rule)
    h.store.queue(entry("t1"))
    response = await h.client.post(f"/v1/supervisor/tasks/t1/{action}", json={"agent_id": "farid"}, headers=SAM)
    assert response.status_code == 202
    assert response.json() == {"task_id": "t1", "agent_id": "farid", "action": command, "status": "accepted"}
    (event,) = h.commands()
    assert (event.partitionkey, event.subject) == ("backoffice", "t1")
    assert event.data == ac.SupervisorAssign(
        agent_id="farid", domain="backoffice", task_id="t1", action=command, supervisor="sam"
    )


@pytest.mark.parametrize(
    ("path", "headers", "body", "expected"),
    [
        ("/v1/supervisor/tasks/t1/assign", EMMA, {"agent_id": "farid"}, (403, "emma is not a supervisor")),
        ("/v1/supervisor/tasks/t1/assign", {}, {"agent_id": "farid"}, (401, "missing agent token")),
        ("/v1/supervisor/tasks/t1/steal", SAM, {"agent_id": "farid"}, (404, "unknown action 'steal'")),
        ("/v1/supervisor/tasks/t1/assign", SAM, {"agent_id": "zed"}, (422, "body.agent_id: unknown agent 'zed'")),
        ("/v1/supervisor/tasks/t1/assign", SAM, {}, (422, "invalid request")),
        ("/v1/supervisor/tasks/t1/assign", SAM, {"agent_id": "hugo"}, (403, "hugo works in domain support")),
        ("/v1/supervisor/tasks/nope/assign", SAM, {"agent_id": "farid"}, (404, "unknown task 'nope'")),
        ("/v1/supervisor/tasks/t2/assign", SAM, {"agent_id": "emma"}, (409, "t2 is offered to emma already")),
        ("/v1/supervisor/tasks/t2/park", SAM, {"agent_id": "farid"}, (409, "offered to emma; take it back first")),
        ("/v1/supervisor/tasks/t1/take-back", SAM, {}, (409, "t1 is waiting, held by nobody")),
        ("/v1/supervisor/tasks/t3/take-back", SAM, {}, (409, "t3 is parked, held by nobody")),
        ("/v1/supervisor/tasks/nope/take-back", SAM, {}, (404, "unknown task 'nope'")),
        ("/v1/supervisor/tasks/t2/take-back", EMMA, {}, (403, "emma is not a supervisor")),
        ("/v1/supervisor/tasks/t3/park", SAM, {"agent_id": "farid"}, (409, "in emma's personal workbin already")),
    ],
)
async def test_supervisor_refusals(
    h: Harness, path: str, headers: dict[str, str], body: dict[str, Any], expected: tuple[int, str]
) -> None:
    status, detail = expected
    h.store.queue(entry("t1"))
    h.store.queue(entry("t2"))
    h.store.holds["t2"] = Holder("emma", "workitem", "offer", T0)
    h.store.queue(entry("t3", parked_for="emma"))
    response = await h.client.post(path, json=body, headers=headers)
    assert response.status_code == status
    assert detail in response.json()["detail"]
    assert h.commands() == []


async def test_explain_a_waiting_task_names_every_agents_standing(h: Harness) -> None:
    await h.ready("emma", "farid", "grace", "alice")
    await h.store.set_presence("grace", Presence.NOT_READY, "lunch", T0)
    h.store.loads["emma"] = {"workitem": 5}
    h.store.queue(entry("t1", needs=needs({"claims": 30, "lang:no": 50}), preferred=("zed",), enqueued_at=T0 - 60))
    h.store.queue(entry("t2", enqueued_at=T0 - 30))
    h.clock.now = T0
    body = (await h.client.get("/v1/tasks/t1/explain", headers=SAM)).json()
    assert (body["state"], body["queue"], body["tier"], body["tier_min_level"]) == ("waiting", "claims", 0, 70)
    assert (body["waited_seconds"], body["next_tier_in_seconds"], body["priority_now"]) == (60.0, 540.0, 100.0)
    assert {a["agent_id"]: a["reason"] for a in body["agents"]} == {
        "emma": "no free capacity on workitem (workitem 5/5)",
        "farid": "claims level 55 < 70 needed in tier 0",  # the first gap, in skill name order
        "grace": "lacks skill lang:no",
        "zed": "unknown agent (named as preferred but not configured)",
    }
    body = (await h.client.get("/v1/tasks/t2/explain", headers=SAM)).json()
    assert [(a["agent_id"], a["eligible"], a["reason"]) for a in body["agents"]] == [
        ("emma", False, "no free capacity on workitem (workitem 5/5)"),
        ("farid", False, "claims level 55 < 70 needed in tier 0"),
        ("grace", False, "not ready (lunch)"),
    ]
    h.store.loads["emma"] = {}
    body = (await h.client.get("/v1/tasks/t2/explain", headers=SAM)).json()
    assert body["agents"][0] == {"agent_id": "emma", "eligible": True, "reason": "eligible"}


async def test_explain_a_held_task_says_who_how_and_since(h: Harness) -> None:
    h.store.queue(entry("t1"))
    h.store.holds["t1"] = Holder("emma", "workitem", "claim", T0 - 20)
    for headers in (SAM, EMMA):
        body = (await h.client.get("/v1/tasks/t1/explain", headers=headers)).json()
        assert (body["state"], body["agent_id"], body["how"], body["since"], body["held_seconds"]) == (
            "claimed",
            "emma",
            "claim",
            T0 - 20,
            20.0,
        )
    h.store.queue(entry("t2", parked_for="farid"))
    body = (await h.client.get("/v1/tasks/t2/explain", headers=SAM)).json()
    assert (body["state"], body["agent_id"]) == ("parked", "farid")


async def test_explain_is_for_supervisors_and_the_holder(h: Harness) -> None:
    h.store.queue(entry("t1"))
    response = await h.client.get("/v1/tasks/t1/explain", headers=FARID)
    assert response.status_code == 403
    assert "only a supervisor, or the agent holding the task" in response.json()["detail"]
    response = await h.client.get("/v1/tasks/nope/explain", headers=SAM)
    assert response.status_code == 404


EMMA_HOLDS = Holder("emma", "workitem", "assign", T0 - 60)


@pytest.mark.parametrize(
    ("action", "queued", "held", "expected"),
    [
        ("assign", None, None, (404, "unknown", "unknown task 't1': not queued in backoffice")),
        ("park", None, EMMA_HOLDS, (404, "unknown", "not queued in backoffice")),  # a claim that raced a cancel
        ("assign", {"after_work_until": T0 + 15}, EMMA_HOLDS, (409, "after_work", "completed already (in after-work)")),
        ("park", {"after_work_until": T0}, None, (409, "after_work", "only a waiting task can be parked")),
        ("park", {}, Holder("emma", "workitem", "offer", T0), (409, "offered", "t1 is offered to emma; take it back")),
        ("assign", {}, Holder("farid", "workitem", "assign", T0), (409, "assigned", "assigned to farid already")),
        ("park", {"parked_for": "emma"}, None, (409, "parked", "in emma's personal workbin already")),
    ],
)
async def test_a_supervisor_command_on_a_task_that_is_not_waiting_is_refused_with_its_state(
    h: Harness, action: str, queued: dict[str, Any] | None, held: Holder | None, expected: tuple[int, str, str]
) -> None:
    status, state, detail = expected
    await h.ready("farid")
    if queued is not None:
        h.store.queue(entry("t1", **queued))
    if held is not None:
        h.store.holds["t1"] = held
    response = await h.client.post(f"/v1/supervisor/tasks/t1/{action}", json={"agent_id": "farid"}, headers=SAM)
    assert response.status_code == status
    assert (response.json()["state"], detail in response.json()["detail"]) == (state, True), response.json()
    assert h.commands() == []


async def test_a_force_assign_the_router_would_refuse_for_the_agent_is_a_409(h: Harness) -> None:
    h.store.queue(entry("t1"))
    response = await h.client.post("/v1/supervisor/tasks/t1/assign", json={"agent_id": "farid"}, headers=SAM)
    assert (response.status_code, "agent farid is offline" in response.json()["detail"]) == (409, True)
    await h.ready("farid")
    await h.store.set_presence("farid", Presence.NOT_READY, "lunch", T0)  # not ready is fine for a supervisor
    h.store.loads["farid"] = {"workitem": 5}
    response = await h.client.post("/v1/supervisor/tasks/t1/assign", json={"agent_id": "farid"}, headers=SAM)
    assert response.status_code == 409
    assert "agent farid has no free capacity on workitem (workitem 5/5)" in response.json()["detail"]
    assert h.commands() == []
    h.store.loads["farid"] = {"workitem": 4}
    response = await h.client.post("/v1/supervisor/tasks/t1/assign", json={"agent_id": "farid"}, headers=SAM)
    assert response.status_code == 202
    await h.store.set_presence("farid", Presence.OFFLINE, None, T0)
    response = await h.client.post("/v1/supervisor/tasks/t1/park", json={"agent_id": "farid"}, headers=SAM)
    assert response.status_code == 202  # parking needs neither: the agent claims it when back and with room


async def test_a_supervisor_reassigns_a_task_another_agent_holds(h: Harness) -> None:
    await h.ready("farid")
    h.store.queue(entry("t1"))
    h.store.holds["t1"] = EMMA_HOLDS  # accepted by emma, who went offline, say
    response = await h.client.post("/v1/supervisor/tasks/t1/assign", json={"agent_id": "farid"}, headers=SAM)
    assert response.status_code == 202, response.text
    assert response.json()["reassigned_from"] == "emma"
    assert h.commands()[-1].data == ac.SupervisorAssign(
        agent_id="farid", domain="backoffice", task_id="t1", action="force_assign", supervisor="sam"
    )


async def test_a_supervisor_takes_a_held_task_back(h: Harness) -> None:
    h.store.queue(entry("t1"))
    h.store.holds["t1"] = EMMA_HOLDS
    response = await h.client.post("/v1/supervisor/tasks/t1/take-back", headers=SAM)
    assert response.status_code == 202, response.text
    assert response.json() == {"task_id": "t1", "agent_id": "emma", "action": "take_back", "status": "accepted"}
    assert h.commands()[-1].data == ac.SupervisorAssign(
        agent_id="emma", domain="backoffice", task_id="t1", action="take_back", supervisor="sam"
    )


async def test_a_supervisor_moves_a_waiting_task_to_another_queue_through_the_rules(h: Harness) -> None:
    h.store.queue(entry("t1"))
    body = {"queue": "general", "reason": "belongs to general"}
    response = await h.client.post("/v1/supervisor/tasks/t1/move", json=body, headers=SAM)
    assert response.status_code == 202, response.text
    assert response.json() == {"task_id": "t1", "queue": "general", "action": "move", "status": "accepted"}
    (event,) = [e for t, e in h.bus.published if t == "wr.tasks"]
    assert (event.partitionkey, event.data) == (
        "t1",
        ReclassifyTask(task_id="t1", reason="belongs to general", queue="general", by="sam"),
    )


@pytest.mark.parametrize(
    ("task", "body", "expected"),
    [
        ("t1", {"queue": "nowhere"}, (422, "unknown queue 'nowhere'")),
        ("t1", {"queue": "technical"}, (403, "queue technical is in domain support; you supervise backoffice")),
        ("t1", {"queue": "claims"}, (409, "t1 is in queue claims already")),
        ("t2", {"queue": "general"}, (409, "t2 is offered to emma; take it back first")),
        ("nope", {"queue": "general"}, (404, "unknown task 'nope'")),
        ("t1", {}, (422, "invalid request")),
    ],
)
async def test_move_refusals(h: Harness, task: str, body: dict[str, Any], expected: tuple[int, str]) -> None:
    h.store.queue(entry("t1"))
    h.store.queue(entry("t2"))
    h.store.holds["t2"] = Holder("emma", "workitem", "offer", T0)
    response = await h.client.post(f"/v1/supervisor/tasks/{task}/move", json=body, headers=SAM)
    assert response.status_code == expected[0], response.text
    assert expected[1] in response.json()["detail"]
    assert h.bus.published == []


async def test_a_bulk_action_carries_out_each_task_it_may_and_says_why_not_for_the_others(h: Harness) -> None:
    await h.ready("farid")
    h.store.queue(entry("t1"))
    h.store.queue(entry("t2"))
    h.store.holds["t2"] = EMMA_HOLDS
    body = {"action": "take_back", "task_ids": ["t1", "t2", "nope"]}
    response = await h.client.post("/v1/supervisor/tasks/bulk", json=body, headers=SAM)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert (doc["action"], doc["accepted"], doc["refused"]) == ("take_back", 1, 2)
    assert [(r["task_id"], r["status"], r.get("state")) for r in doc["results"]] == [
        ("t1", 409, "waiting"),
        ("t2", 202, None),
        ("nope", 404, "unknown"),
    ]
    assert [c.data.task_id for c in h.commands()] == ["t2"]  # type: ignore[attr-defined]

    body = {"action": "assign", "task_ids": ["t1"], "agent_id": "farid"}
    doc = (await h.client.post("/v1/supervisor/tasks/bulk", json=body, headers=SAM)).json()
    assert doc["results"] == [
        {"task_id": "t1", "agent_id": "farid", "action": "force_assign", "status": 202},
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"action": "assign", "task_ids": ["t1"]},  # no agent
        {"action": "move", "task_ids": ["t1"], "agent_id": "farid"},  # an agent, no queue
        {"action": "take_back", "task_ids": ["t1"], "queue": "general"},
        {"action": "take_back", "task_ids": []},
        {"action": "take_back", "task_ids": ["t1", "t1"]},
        {"action": "take_back", "task_ids": [f"t{n}" for n in range(101)]},
        {"action": "cancel", "task_ids": ["t1"]},
    ],
)
async def test_a_bulk_body_that_does_not_say_one_complete_thing_is_a_422(h: Harness, body: dict[str, Any]) -> None:
    response = await h.client.post("/v1/supervisor/tasks/bulk", json=body, headers=SAM)
    assert response.status_code == 422, response.text
    assert h.bus.published == []


async def test_a_supervisor_sets_a_tasks_priority_sla_or_due_time(h: Harness) -> None:
    h.store.queue(entry("t1"))
    h.store.holds["t1"] = EMMA_HOLDS  # held: allowed, the task keeps its agent
    body = {"priority": 900, "due_at": "2027-01-15T09:00:00Z", "sla_seconds": None, "reason": "customer escalated"}
    response = await h.client.post("/v1/supervisor/tasks/t1/override", json=body, headers=SAM)
    assert response.status_code == 202, response.text
    (event,) = [e for t, e in h.bus.published if t == "wr.tasks"]
    assert event.partitionkey == "t1"
    assert event.data == OverrideTask(
        task_id="t1",
        reason="customer escalated",
        by="sam",
        priority=900,
        due_at=datetime(2027, 1, 15, 9, tzinfo=UTC),
        cleared=["sla_seconds"],
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, (422, "invalid request")),
        ({"reason": "nothing else"}, (422, "invalid request")),
        ({"priority": 1001}, (422, "invalid request")),
        ({"priority": "high"}, (422, "invalid request")),
        ({"due_at": "tomorrow"}, (422, "invalid request")),
        ({"sla_seconds": -5}, (422, "invalid request")),
        ({"queue": "general"}, (422, "invalid request")),
    ],
)
async def test_override_refusals(h: Harness, body: dict[str, Any], expected: tuple[int, str]) -> None:
    h.store.queue(entry("t1"))
    response = await h.client.post("/v1/supervisor/tasks/t1/override", json=body, headers=SAM)
    assert (response.status_code, expected[1] in response.json()["detail"]) == (expected[0], True), response.text
    assert h.bus.published == []
    response = await h.client.post("/v1/supervisor/tasks/nope/override", json={"priority": 5}, headers=SAM)
    assert response.status_code == 404


async def test_the_live_queues_are_the_routers_views_of_the_supervisors_domains(h: Harness) -> None:
    view = {"domain": "backoffice", "at": T0, "queues": {"claims": {"waiting": 3, "waiting_urgent": 1}}}
    h.store.views["backoffice"] = json.dumps(view)
    h.store.views["support"] = json.dumps({"domain": "support", "at": T0, "queues": {}})  # not sam's
    rows = (await h.client.get("/v1/supervisor/queues", headers=SAM)).json()["queues"]
    by_queue = {r["queue"]: r for r in rows}
    assert {r["domain"] for r in rows} == {"backoffice"}
    assert set(by_queue) == {"finance", "credit", "claims", "general", "supervisor"}
    assert (by_queue["claims"]["live"], by_queue["claims"]["waiting"], by_queue["claims"]["as_of"]) == (
        True,
        3,
        "2027-01-15T08:00:00Z",
    )
    assert by_queue["general"]["live"] is False  # the router wrote no view of it
    h.store.views.clear()
    rows = (await h.client.get("/v1/supervisor/queues", headers=SAM)).json()["queues"]
    assert {(r["live"], r["as_of"]) for r in rows} == {(False, None)}  # no router owns the domain now
    assert (await h.client.get("/v1/supervisor/queues", headers=EMMA)).status_code == 403
