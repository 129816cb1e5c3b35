"""The pull API: workbins list what the agent may take, best first; claims and get-next reserve it atomically."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.agent_api import T0, Harness, auth, entry, harness
from workrouter.adapters.redis_agent_records import Holder
from workrouter.config.catalog import Catalog
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.holds import offer_id
from workrouter.domain.routing.model import Presence, needs

EMMA, FARID, ALICE = auth("emma"), auth("farid"), auth("alice")


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog) as built:
        yield built


async def ids(h: Harness, path: str, headers: dict[str, str]) -> list[str]:
    response = await h.client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return [t["task_id"] for t in response.json()["tasks"]]


async def test_a_workbin_lists_the_tasks_the_agent_may_take_best_first(h: Harness) -> None:
    h.store.queue(entry("t1", base=100, enqueued_at=T0 - 50))
    h.store.queue(entry("t2", base=300))  # highest priority
    h.store.queue(entry("t3", base=100, enqueued_at=T0 - 90))  # same priority as t1, waited longer
    h.store.queue(entry("t4", base=100, enqueued_at=T0 - 50))  # ties with t1 but queued after it (seq)
    h.store.queue(entry("t5", base=900, needs=needs({"fraud": 90})))  # nobody's level
    h.store.queue(entry("t6", base=900, queue="general"))  # another queue
    assert await ids(h, "/v1/agent/workbins/claims", EMMA) == ["t2", "t3", "t1", "t4"]
    assert await ids(h, "/v1/agent/workbins/claims?limit=2", EMMA) == ["t2", "t3"]
    body = (await h.client.get("/v1/agent/workbins/claims?limit=1", headers=EMMA)).json()["tasks"][0]
    assert body["priority"] == 300
    assert (body["title"], body["url"], body["tier"], body["waited_seconds"]) == (
        "Task t2",
        "https://crm.example/t2",
        0,
        0.0,
    )


async def test_tiers_widen_with_time(h: Harness) -> None:
    h.store.queue(entry("t1", needs=needs({"claims": 0})))
    assert await ids(h, "/v1/agent/workbins/claims", FARID) == []  # farid's claims 55 < tier 0's 70
    h.clock.now = T0 + 600  # tier 1 (40) after 10 minutes
    assert await ids(h, "/v1/agent/workbins/claims", FARID) == ["t1"]


async def test_urgent_tasks_rank_by_their_priority_now(h: Harness) -> None:
    h.store.queue(entry("t1", base=200))
    h.store.queue(entry("t2", base=100, due_at=T0 + 3600))  # 71 h inside the 72 h horizon: +710 points
    assert await ids(h, "/v1/agent/workbins/claims", EMMA) == ["t2", "t1"]
    tasks = (await h.client.get("/v1/agent/workbins/claims", headers=EMMA)).json()["tasks"]
    # one meaning of priority: `priority` is the base (as the task list and the reports show it), the
    # effective priority that orders the work is `priority_now`
    assert [(t["priority"], t["priority_now"]) for t in tasks] == [(100, 810), (200, 200)]


async def test_held_parked_and_after_work_tasks_are_not_listed(h: Harness) -> None:
    h.store.queue(entry("t1"))
    h.store.queue(entry("t2", parked_for="emma"))
    h.store.queue(entry("t3"))
    h.store.tasks["backoffice"]["t3"]["after_work_until"] = T0 + 60
    h.store.queue(entry("t4"))
    h.store.holds["t4"] = Holder("farid", "workitem", "offer", T0)
    assert await ids(h, "/v1/agent/workbins/claims", EMMA) == ["t1"]
    assert await ids(h, "/v1/agent/workbin", EMMA) == ["t2"]
    assert await ids(h, "/v1/agent/workbin", FARID) == []


@pytest.mark.parametrize(
    ("path", "headers", "status", "detail"),
    [
        ("/v1/agent/workbins/nowhere", EMMA, 404, "unknown queue 'nowhere'"),
        ("/v1/agent/workbins/technical", EMMA, 404, "unknown queue 'technical' in domain backoffice"),
        ("/v1/agent/workbins/claims", ALICE, 403, "alice is not a member of queue claims"),
        ("/v1/agent/workbins/general", EMMA, 409, "push queue"),
        ("/v1/agent/workbins/claims?limit=0", EMMA, 422, "invalid request"),
        ("/v1/agent/workbins/claims?limit=x", EMMA, 422, "invalid request"),
    ],
)
async def test_workbin_refusals(h: Harness, path: str, headers: dict[str, str], status: int, detail: str) -> None:
    response = await h.client.get(path, headers=headers)
    assert response.status_code == status
    assert detail in response.json()["detail"]
    if status == 422:
        assert response.json()["errors"][0]["loc"] == "query.limit"


async def test_a_claim_reserves_the_task_and_tells_the_router(h: Harness) -> None:
    await h.ready("emma")
    h.store.queue(entry("t1"))
    response = await h.client.post("/v1/agent/workbins/claims/claim/t1", headers=EMMA)
    assert response.status_code == 200
    assert (response.json()["how"], response.json()["state"], response.json()["task"]["task_id"]) == (
        "pull",
        "assigned",
        "t1",
    )
    assert h.store.holds["t1"] == Holder("emma", "workitem", "assign", T0)
    assert h.store.loads["emma"] == {"workitem": 1}
    (event,) = h.commands()
    assert event.partitionkey == "backoffice"
    assert event.data == ac.TaskClaimed(agent_id="emma", domain="backoffice", task_id="t1", how="pull")


async def test_claim_refusals_say_what_to_do(h: Harness) -> None:
    h.store.queue(entry("t1"))
    h.store.queue(entry("t2", needs=needs({"claims": 0})))
    h.store.queue(entry("t9", queue="general"))

    async def refused(path: str, headers: dict[str, str], status: int, detail: str) -> None:
        response = await h.client.post(path, headers=headers)
        assert response.status_code == status, response.text
        assert detail in response.json()["detail"]

    await h.store.put_profile(h.routing.agents["emma"])
    await refused("/v1/agent/claim/t1", EMMA, 409, "emma is not ready: set presence ready")
    await h.ready("emma", "farid")
    await refused("/v1/agent/claim/nope", EMMA, 404, "unknown task 'nope' in domain backoffice")
    await refused("/v1/agent/workbins/claims/claim/t9", EMMA, 404, "unknown task 't9' in workbin claims")
    await refused("/v1/agent/claim/t9", EMMA, 409, "queue general is a push queue")
    await refused("/v1/agent/claim/t1", ALICE, 403, "alice is not a member of queue claims")
    await refused("/v1/agent/claim/t2", FARID, 409, "claims level 55 < 70 needed in tier 0; its target widens in 600 s")
    assert (await h.client.post("/v1/agent/claim/t1", headers=EMMA)).status_code == 200
    await refused("/v1/agent/claim/t1", EMMA, 409, "you hold task t1 already")
    await refused("/v1/agent/claim/t1", FARID, 409, "t1 was just taken by another agent; list the workbin again")
    for n in range(2, 6):
        h.store.queue(entry(f"t{n}0", needs=needs({"claims": 30})))
        assert (await h.client.post(f"/v1/agent/claim/t{n}0", headers=EMMA)).status_code == 200
    h.store.queue(entry("t60"))
    await refused(
        "/v1/agent/claim/t60", EMMA, 409, "no free capacity on workitem (workitem 5/5); complete a task first"
    )
    assert len(h.commands()) == 5


async def test_a_parked_task_is_claimed_only_by_its_agent(h: Harness) -> None:
    await h.ready("emma", "farid")
    h.store.queue(entry("t1", queue="general", parked_for="emma"))
    response = await h.client.post("/v1/agent/claim/t1", headers=FARID)
    assert response.status_code == 403
    assert "parked in emma's personal workbin" in response.json()["detail"]
    response = await h.client.post("/v1/agent/claim/t1", headers=EMMA)
    assert response.status_code == 200
    assert response.json()["how"] == "personal"
    assert h.commands()[-1].data == ac.TaskClaimed(agent_id="emma", domain="backoffice", task_id="t1", how="personal")


async def test_get_next_claims_the_best_task_across_pull_queues(h: Harness) -> None:
    await h.ready("emma", "farid")
    h.store.queue(entry("t1", base=100))
    h.store.queue(entry("t2", base=500))
    h.store.queue(entry("t3", base=900, queue="general"))  # push: never handed out by get-next
    h.store.holds["t2"] = Holder("farid", "workitem", "assign", T0)  # taken meanwhile: skipped
    response = await h.client.post("/v1/agent/next", headers=EMMA)
    assert response.status_code == 200
    body = response.json()
    assert (body["task"]["task_id"], body["how"], body["state"]) == ("t1", "get_next", "claimed")
    assert body["offer_id"] == offer_id("t1", "emma", T0)
    assert body["expires_at"] == "2027-01-15T08:15:00Z"  # the claims queue's 15 min claim timeout
    assert h.store.holds["t1"] == Holder("emma", "workitem", "claim", T0)
    assert h.commands()[-1].data == ac.TaskClaimed(agent_id="emma", domain="backoffice", task_id="t1", how="get_next")
    assert (await h.client.post("/v1/agent/next", headers=EMMA)).status_code == 204


async def test_get_next_refusals(h: Harness) -> None:
    h.store.queue(entry("t1"))
    await h.store.put_profile(h.routing.agents["emma"])
    response = await h.client.post("/v1/agent/next", headers=EMMA)
    assert response.status_code == 409
    assert "not ready" in response.json()["detail"]
    await h.store.set_presence("emma", Presence.READY, None, T0)
    h.store.loads["emma"] = {"workitem": 5}
    response = await h.client.post("/v1/agent/next", headers=EMMA)
    assert response.status_code == 409
    assert "no free capacity on workitem (workitem 5/5)" in response.json()["detail"]
    assert h.commands() == []
