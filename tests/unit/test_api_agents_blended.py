"""A blended agent in the api (decisions D21): its presence reaches every domain's router, its pull work
comes from all its domains, and each command about a task goes to the router of the task's domain."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from tests.support.agent_api import T0, Harness, auth, entry, harness, seed_routing
from workrouter.adapters.redis_agent_records import Holder
from workrouter.config.catalog import Catalog
from workrouter.config.routing import RoutingConfig
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import needs

EMMA, FARID = auth("emma"), auth("farid")


def blended_routing() -> RoutingConfig:
    """The seed, with emma serving support's `experts` and the `sales` queue besides backoffice's."""
    seed = seed_routing()
    emma = seed.agents["emma"]
    skills = {**emma.skills, "technical": 90}
    blended = dataclasses.replace(emma, queues=emma.queues | {"experts", "sales"}, skills=skills)
    return dataclasses.replace(seed, agents={**seed.agents, "emma": blended})


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog, routing=blended_routing()) as built:
        yield built


def expert(task_id: str, base: int) -> QueueEntry:
    return entry(task_id, queue="experts", domain="support", needs=needs({"technical": 80}), base=base)


async def test_presence_goes_to_the_router_of_every_domain_of_the_agent(h: Harness) -> None:
    response = await h.client.post("/v1/agent/presence", headers=EMMA, json={"presence": "ready"})
    assert response.status_code == 200, response.text
    assert [(c.partitionkey, c.data.domain) for c in h.commands()] == [  # type: ignore[attr-defined]
        ("backoffice", "backoffice"),
        ("sales", "sales"),
        ("support", "support"),
    ]
    me = (await h.client.get("/v1/agent/me", headers=EMMA)).json()
    assert (me["domain"], me["domains"]) == ("backoffice", ["backoffice", "sales", "support"])


async def test_get_next_takes_the_best_task_of_all_the_agents_domains(h: Harness) -> None:
    await h.ready("emma")
    h.store.queue(entry("c1", base=100))  # backoffice's claims queue
    h.store.queue(expert("x1", base=500))  # support's experts queue: better
    response = await h.client.post("/v1/agent/next", headers=EMMA)
    assert response.status_code == 200, response.text
    assert response.json()["task"]["task_id"] == "x1"
    claimed = h.commands()[-1]
    assert (claimed.partitionkey, claimed.data) == (
        "support",
        ac.TaskClaimed(agent_id="emma", domain="support", task_id="x1", how="get_next"),
    )
    response = await h.client.post("/v1/agent/next", headers=EMMA)
    assert response.json()["task"]["task_id"] == "c1"
    assert h.commands()[-1].partitionkey == "backoffice"


async def test_a_workbin_of_another_domain_is_listed_and_claimed_there(h: Harness) -> None:
    await h.ready("emma")
    h.store.queue(expert("x1", base=500))
    listed = await h.client.get("/v1/agent/workbins/experts", headers=EMMA)
    assert [t["task_id"] for t in listed.json()["tasks"]] == ["x1"]
    response = await h.client.post("/v1/agent/workbins/experts/claim/x1", headers=EMMA)
    assert response.status_code == 200, response.text
    assert h.commands()[-1].data == ac.TaskClaimed(agent_id="emma", domain="support", task_id="x1", how="pull")
    assert (await h.client.get("/v1/agent/workbins/experts", headers=FARID)).status_code == 404  # not farid's


async def test_commands_about_a_task_go_to_the_tasks_domain(h: Harness) -> None:
    await h.ready("emma")
    h.store.queue(expert("x1", base=500))
    h.store.holds["x1"] = Holder("emma", "workitem", "assign", T0)
    response = await h.client.post("/v1/agent/tasks/x1/complete", headers=EMMA, json={"wrap_up_code": "processed"})
    assert response.status_code == 202, response.text
    done = h.commands()[-1]
    assert (done.partitionkey, done.data.domain) == ("support", "support")  # type: ignore[attr-defined]
    response = await h.client.post("/v1/agent/tasks/x1/transfer", headers=EMMA, json={"queue": "technical"})
    assert h.commands()[-1].partitionkey == "support"
