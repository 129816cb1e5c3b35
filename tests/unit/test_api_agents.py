"""The agent API: tokens, presence, the agent's own view, heartbeats, and acting only on one's own work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.agent_api import T0, Harness, auth, entry, harness
from workrouter.adapters.redis_agent_records import Holder
from workrouter.config.catalog import Catalog
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.holds import offer_id
from workrouter.domain.routing.model import Presence

EMMA, FARID = auth("emma"), auth("farid")


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog) as built:
        yield built


def hold(h: Harness, task_id: str, agent_id: str, kind: Any, since: float = T0) -> None:
    h.store.queue(entry(task_id))
    h.store.holds[task_id] = Holder(agent_id, "workitem", kind, since)


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing agent token"),
        ({"Authorization": "Basic emma"}, "missing agent token"),
        ({"Authorization": "Bearer nope"}, "unknown agent token"),
        ({"Authorization": "Bearer crm-demo-key"}, "unknown agent token"),  # a source's key is not an agent's token
    ],
)
async def test_agent_routes_need_an_agent_token(h: Harness, headers: dict[str, str], detail: str) -> None:
    for method, path in [("GET", "/v1/agent/me"), ("POST", "/v1/agent/next"), ("GET", "/v1/tasks/t1/explain")]:
        response = await h.client.request(method, path, headers=headers)
        assert response.status_code == 401, path
        assert detail in response.json()["detail"]


async def test_source_routes_still_work_beside_the_agent_api(h: Harness) -> None:
    body = {"external_id": "CASE-1", "type": "claim", "title": "Water damage", "attributes": {"department": "Claims"}}
    response = await h.client.post("/v1/tasks", json=body, headers={"X-API-Key": "crm-demo-key"})
    assert response.status_code == 202
    assert [t for t, _ in h.bus.published] == ["wr.capture"]


async def test_logging_in_writes_presence_and_tells_the_router(h: Harness) -> None:
    response = await h.client.post("/v1/agent/presence", json={"presence": "ready"}, headers=EMMA)
    assert response.status_code == 200
    assert response.json() == {"agent_id": "emma", "presence": "ready", "reason": None, "version": 1}
    assert (await h.store.get_presence("emma")).presence is Presence.READY
    assert await h.store.get_profile("emma") == h.routing.agents["emma"]  # stored for claims before the router did
    (event,) = h.commands()
    assert (event.partitionkey, event.subject, event.time.timestamp()) == ("backoffice", "emma", T0)
    assert event.data == ac.ChangePresence(agent_id="emma", domain="backoffice", presence="ready")

    response = await h.client.post(
        "/v1/agent/presence", json={"presence": "not_ready", "reason": "lunch"}, headers=EMMA
    )
    assert response.json()["version"] == 2
    assert await h.store.get_presence("emma") == (Presence.NOT_READY, "lunch", T0, 2)
    assert h.commands()[-1].data == ac.ChangePresence(
        agent_id="emma", domain="backoffice", presence="not_ready", reason="lunch"
    )


@pytest.mark.parametrize(
    ("body", "loc", "msg"),
    [
        ({"presence": "not_ready"}, "body.reason", "required with presence not_ready; one of: admin_work, break"),
        ({"presence": "not_ready", "reason": "nap"}, "body.reason", "unknown not-ready reason 'nap'"),
        ({"presence": "not_ready", "reason": "rona"}, "body.reason", "'rona' is set by the router only"),
        ({"presence": "ready", "reason": "lunch"}, "body.reason", "a reason goes only with presence not_ready"),
        ({"presence": "away"}, "body.presence", "Input should be 'offline', 'ready' or 'not_ready'"),
        ({"presence": "ready", "mood": "great"}, "body.mood", "Extra inputs are not permitted"),
        ({}, "body.presence", "Field required"),
        ([], "body", "not an object"),
    ],
)
async def test_bad_presence_is_refused_by_field(h: Harness, body: Any, loc: str, msg: str) -> None:
    response = await h.client.post("/v1/agent/presence", json=body, headers=EMMA)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["loc"] == loc
    assert msg in error["msg"]
    assert h.commands() == []
    assert (await h.store.get_presence("emma")).version == 0


async def test_a_body_that_is_not_json_is_a_400(h: Harness) -> None:
    response = await h.client.post("/v1/agent/presence", content=b"{ready", headers=EMMA)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


async def test_me_shows_profile_presence_load_and_holds(h: Harness) -> None:
    await h.ready("emma")
    hold(h, "t1", "emma", "offer")
    h.store.loads["emma"] = {"workitem": 1}
    body = (await h.client.get("/v1/agent/me", headers=EMMA)).json()
    assert body["presence"] == "ready"
    assert body["domain"] == "backoffice"
    assert body["queues"] == ["claims", "general"]
    assert body["load"] == {"workitem": 1}
    (held,) = body["holds"]
    assert held["task_id"] == "t1"
    assert (held["state"], held["queue"], held["title"]) == ("offered", "claims", "Task t1")
    assert held["offer_id"] == offer_id("t1", "emma", T0)


async def test_me_shows_a_finished_task_in_after_work_until_it_ends(h: Harness) -> None:
    await h.ready("emma")
    h.store.queue(entry("t1", after_work_until=T0 + 30))
    h.store.holds["t1"] = Holder("emma", "workitem", "assign", T0)
    (held,) = (await h.client.get("/v1/agent/me", headers=EMMA)).json()["holds"]
    assert held["state"] == "after_work"
    assert held["until"].startswith("2027-01-15T08:00:30")


async def test_heartbeats_are_recorded_only_while_logged_in(h: Harness) -> None:
    response = await h.client.post("/v1/agent/heartbeat", headers=EMMA)
    assert response.status_code == 409
    assert "offline" in response.json()["detail"]
    await h.ready("emma")
    h.clock.now = T0 + 7
    assert (await h.client.post("/v1/agent/heartbeat", headers=EMMA)).status_code == 200
    assert h.store.heartbeats["emma"] == T0 + 7


async def test_accepting_an_offer_publishes_the_answer_with_the_offer_id(h: Harness) -> None:
    hold(h, "t1", "emma", "offer", since=T0 - 3)
    response = await h.client.post("/v1/agent/offers/t1/accept", headers=EMMA)
    assert response.status_code == 202
    oid = offer_id("t1", "emma", T0 - 3)
    assert response.json() == {"task_id": "t1", "offer_id": oid, "answer": "accept", "status": "accepted"}
    (event,) = h.commands()
    assert (event.partitionkey, event.subject) == ("backoffice", "t1")
    assert event.data == ac.AnswerOffer(agent_id="emma", domain="backoffice", task_id="t1", offer_id=oid, accept=True)

    response = await h.client.post("/v1/agent/offers/t1/reject", json={"offer_id": oid}, headers=EMMA)
    assert response.status_code == 202  # naming the open offer (another id is a 409: test_api_agents_refusals)
    assert h.commands()[-1].data == ac.AnswerOffer(
        agent_id="emma", domain="backoffice", task_id="t1", offer_id=oid, accept=False
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/agent/offers/t1/accept", None),
        ("/v1/agent/offers/t1/reject", None),
        ("/v1/agent/tasks/t1/start", None),
        ("/v1/agent/tasks/t1/complete", {}),
        ("/v1/agent/tasks/t1/transfer", {"queue": "general"}),
        ("/v1/agent/tasks/t1/reschedule", {"wake_at": "2030-01-01T00:00:00Z"}),
        ("/v1/agent/tasks/t1/reclassify", {"reason": "wrong department"}),
    ],
)
async def test_an_agent_acts_only_on_its_own_work(h: Harness, path: str, body: dict[str, Any] | None) -> None:
    response = await h.client.post(path, json=body, headers=EMMA)
    assert response.status_code == 404  # nobody holds it and it is not queued
    h.store.queue(entry("t1"))
    response = await h.client.post(path, json=body, headers=EMMA)
    assert response.status_code == 409  # queued, waiting, not held
    assert "waiting in queue claims, not held by you" in response.json()["detail"]
    h.store.holds["t1"] = Holder("farid", "workitem", "assign", T0)
    response = await h.client.post(path, json=body, headers=EMMA)
    assert response.status_code == 403
    assert "held by another agent" in response.json()["detail"]
    assert h.commands() == []


@pytest.mark.parametrize(
    ("kind", "path", "detail"),
    [
        ("assign", "/v1/agent/offers/t1/accept", "assigned to you; to accept it, it is already assigned to you"),
        ("claim", "/v1/agent/offers/t1/reject", "claimed to you; to reject it, start the claimed task first"),
        ("assign", "/v1/agent/tasks/t1/start", "assigned to you"),
        ("offer", "/v1/agent/tasks/t1/complete", "offered to you; to complete it, accept or reject the offer first"),
        ("claim", "/v1/agent/tasks/t1/complete", "start the claimed task first"),
        ("offer", "/v1/agent/tasks/t1/reclassify", "accept or reject the offer first"),
    ],
)
async def test_the_wrong_state_is_a_409_saying_what_to_do(h: Harness, kind: str, path: str, detail: str) -> None:
    hold(h, "t1", "emma", kind)
    body = {"reason": "x"} if path.endswith("reclassify") else None
    response = await h.client.post(path, json=body, headers=EMMA)
    assert response.status_code == 409
    assert detail in response.json()["detail"]


async def test_task_commands(h: Harness) -> None:
    hold(h, "t1", "emma", "claim")
    assert (await h.client.post("/v1/agent/tasks/t1/start", headers=EMMA)).status_code == 202
    h.store.holds["t1"] = h.store.holds["t1"]._replace(kind="assign")
    complete = await h.client.post("/v1/agent/tasks/t1/complete", json={"wrap_up_code": "processed"}, headers=EMMA)
    transfer = await h.client.post(
        "/v1/agent/tasks/t1/transfer", json={"queue": "general", "reason": "r"}, headers=EMMA
    )
    wake = {"wake_at": "2027-01-16T08:00:00+00:00"}
    reschedule = await h.client.post("/v1/agent/tasks/t1/reschedule", json=wake, headers=EMMA)
    reclassify = await h.client.post("/v1/agent/tasks/t1/reclassify", json={"reason": "fraud"}, headers=EMMA)
    assert [r.status_code for r in (complete, transfer, reschedule, reclassify)] == [202] * 4
    assert transfer.json()["queue"] == "general"
    assert reschedule.json()["wake_at"] == "2027-01-16T08:00:00Z"
    start, finish, *hand_backs = [e.data for e in h.commands()]
    assert start == ac.StartTask(agent_id="emma", domain="backoffice", task_id="t1")
    assert finish == ac.FinishTask(agent_id="emma", domain="backoffice", task_id="t1", wrap_up_code="processed")
    assert [(c.action, c.queue, c.reason) for c in hand_backs if isinstance(c, ac.HandBackTask)] == [
        ("transfer", "general", "r"),
        ("reschedule", None, ""),
        ("reclassify", None, "fraud"),
    ]
    rescheduled = hand_backs[1]
    assert isinstance(rescheduled, ac.HandBackTask)
    assert rescheduled.wake_at is not None
    assert rescheduled.wake_at.timestamp() == T0 + 86400


@pytest.mark.parametrize(
    ("path", "body", "loc", "msg"),
    [
        ("complete", {"wrap_up_code": "done"}, "body.wrap_up_code", "unknown wrap-up code 'done'; one of: cross_sell"),
        ("transfer", {"queue": "nowhere"}, "body.queue", "unknown queue 'nowhere'; one of: claims"),
        ("transfer", {}, "body", "give exactly one of queue and agent_id"),
        ("transfer", {"queue": "general", "agent_id": "farid"}, "body", "give exactly one of queue and agent_id"),
        ("transfer", {"agent_id": "zed"}, "body.agent_id", "unknown agent 'zed'"),
        ("transfer", {"agent_id": "emma"}, "body.agent_id", "you hold the task already"),
        ("transfer", {"agent_id": "hugo"}, "body.agent_id", "hugo works in domain support; the task is in backoffice"),
        ("reschedule", {"wake_at": "2020-01-01T00:00:00Z"}, "body.wake_at", "must be in the future"),
        ("reschedule", {"wake_at": "tomorrow"}, "body.wake_at", "RFC 3339"),
        ("reschedule", {"wake_at": 1893456000}, "body.wake_at", "RFC 3339"),
        ("reclassify", {"reason": ""}, "body.reason", "at least 1 character"),
    ],
)
async def test_bad_task_command_bodies_are_refused_by_field(
    h: Harness, path: str, body: dict[str, Any], loc: str, msg: str
) -> None:
    hold(h, "t1", "emma", "assign")
    response = await h.client.post(f"/v1/agent/tasks/t1/{path}", json=body, headers=EMMA)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["loc"], msg in error["msg"]) == (loc, True), error
    assert h.commands() == []


async def test_completing_twice_is_a_409_during_after_work(h: Harness) -> None:
    hold(h, "t1", "emma", "assign")
    h.store.tasks["backoffice"]["t1"]["after_work_until"] = T0 + 120
    response = await h.client.post("/v1/agent/tasks/t1/complete", headers=EMMA)
    assert response.status_code == 409
    assert "completed already" in response.json()["detail"]


async def test_an_unknown_offer_answer_is_a_404(h: Harness) -> None:
    hold(h, "t1", "emma", "offer")
    response = await h.client.post("/v1/agent/offers/t1/maybe", headers=EMMA)
    assert response.status_code == 404
    assert "accept, reject" in response.json()["detail"]


def test_offer_ids_are_named_as_the_router_names_them() -> None:
    from workrouter.services.router import announce  # noqa: PLC0415 - only this test looks at the router

    for since in (T0, T0 + 0.125, 1.1):
        assert offer_id("t1", "emma", since) == announce.offer_id("t1", "emma", since)


async def test_an_agent_transfers_its_task_to_a_named_colleague(h: Harness) -> None:
    hold(h, "t1", "emma", "assign")
    body = {"agent_id": "farid", "reason": "back to the original advisor"}
    response = await h.client.post("/v1/agent/tasks/t1/transfer", json=body, headers=EMMA)
    assert response.status_code == 202, response.text
    assert response.json() == {"task_id": "t1", "agent_id": "farid", "status": "accepted"}
    (command,) = h.commands()
    assert command.data == ac.HandBackTask(
        agent_id="emma",
        domain="backoffice",
        task_id="t1",
        action="transfer",
        to_agent="farid",
        reason="back to the original advisor",
    )
