"""Supervisors change agents while the system runs (issue 20): the api keeps the change in the live
directory, records it on wr.agents and tells the router of each domain it touches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.agent_api import Harness, auth, harness
from workrouter.config.catalog import Catalog
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.agent_events import AgentProfileChanged
from workrouter.domain.routing.model import Presence

SAM, EMMA, FARID = auth("sam"), auth("emma"), auth("farid")
ZOE = {"display_name": "Zoe", "skills": {"claims": 60}, "queues": ["claims", "general"], "capacity": {"workitem": 2}}


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog) as built:
        yield built


def recorded(h: Harness) -> list[AgentProfileChanged]:
    return [e.data for t, e in h.bus.published if t == "wr.agents" and isinstance(e.data, AgentProfileChanged)]


async def test_a_supervisor_adds_an_agent_and_the_router_of_its_domain_is_told(h: Harness) -> None:
    response = await h.client.put("/v1/supervisor/agents/zoe", json=ZOE, headers=SAM)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["agent_id"], body["change"], body["version"]) == ("zoe", "added", 1)
    assert json.loads(h.store.live["zoe"])["queues"] == ["claims", "general"]
    profile = await h.store.get_profile("zoe")
    assert profile is not None
    assert (profile.queues, profile.capacity) == (frozenset({"claims", "general"}), {"workitem": 2})
    assert [c.data for c in h.commands()] == [ac.ChangeAgent(agent_id="zoe", domain="backoffice", by="sam")]
    (fact,) = recorded(h)
    assert (fact.agent_id, fact.change, fact.by, fact.skills) == ("zoe", "added", "sam", {"claims": 60})
    listed = {a["agent_id"]: a for a in (await h.client.get("/v1/supervisor/agents", headers=SAM)).json()["agents"]}
    assert (listed["zoe"]["source"], listed["zoe"]["presence"]) == ("live", "offline")
    assert listed["emma"]["source"] == "config"
    assert "hugo" not in listed  # support's agent: not sam's domain


async def test_a_queue_switched_off_leaves_the_membership_and_stops_the_work(h: Harness) -> None:
    response = await h.client.put("/v1/supervisor/agents/emma/queues/claims", json={"active": False}, headers=SAM)
    assert response.status_code == 200, response.text
    agent = response.json()["agent"]
    assert (sorted(agent["queues"]), agent["inactive_queues"]) == (["claims", "general"], ["claims"])
    profile = await h.store.get_profile("emma")
    assert profile is not None
    assert profile.queues == frozenset({"general"})
    assert (await h.client.get("/v1/agent/workbins/claims", headers=EMMA)).status_code == 403  # not now
    response = await h.client.put("/v1/supervisor/agents/emma/queues/claims", json={"active": True}, headers=SAM)
    assert response.json()["agent"]["inactive_queues"] == []
    assert (await h.client.get("/v1/agent/workbins/claims", headers=EMMA)).status_code == 200
    assert [c.data.agent_id for c in h.commands()] == ["emma", "emma"]  # type: ignore[attr-defined]


async def test_a_removed_agent_is_logged_out_and_its_token_no_longer_signs_it_in(h: Harness) -> None:
    await h.ready("farid")
    assert (await h.client.get("/v1/agent/me", headers=FARID)).status_code == 200
    response = await h.client.delete("/v1/supervisor/agents/farid", headers=SAM)
    assert response.status_code == 200, response.text
    assert (response.json()["change"], response.json()["agent"]) == ("removed", None)
    assert (await h.store.get_presence("farid")).presence is Presence.OFFLINE
    assert (await h.client.get("/v1/agent/me", headers=FARID)).status_code == 401
    assert (await h.client.delete("/v1/supervisor/agents/farid", headers=SAM)).status_code == 404
    assert "farid" not in [
        a["agent_id"] for a in (await h.client.get("/v1/supervisor/agents", headers=SAM)).json()["agents"]
    ]


@pytest.mark.parametrize(
    ("call", "body", "headers", "expected"),
    [
        (
            "PUT /v1/supervisor/agents/zoe",
            {**ZOE, "queues": ["nowhere"]},
            SAM,
            (422, "body.queues[0]: unknown queue"),
        ),
        ("PUT /v1/supervisor/agents/zoe", {**ZOE, "queues": ["technical"]}, SAM, (403, "touches domain support")),
        ("PUT /v1/supervisor/agents/Zoe!", ZOE, SAM, (422, "is not an agent id")),
        ("PUT /v1/supervisor/agents/zoe", {**ZOE, "token_sha256": "0" * 64}, SAM, (422, "invalid request")),
        ("PUT /v1/supervisor/agents/zoe", {**ZOE, "capacity": {"workitem": 0}}, SAM, (422, "invalid request")),
        ("PUT /v1/supervisor/agents/zoe", {**ZOE, "inactive_queues": ["sales"]}, SAM, (422, "invalid request")),
        ("PUT /v1/supervisor/agents/zoe", {**ZOE, "queues": []}, SAM, (422, "invalid request")),
        ("PUT /v1/supervisor/agents/zoe", ZOE, EMMA, (403, "emma is not a supervisor")),
        ("PUT /v1/supervisor/agents/hugo", {**ZOE}, SAM, (403, "touches domain")),  # support's agent
        ("DELETE /v1/supervisor/agents/sam", None, SAM, (409, "cannot remove yourself")),
        ("DELETE /v1/supervisor/agents/nobody", None, SAM, (404, "unknown agent 'nobody'")),
        ("PUT /v1/supervisor/agents/emma/queues/sales", {"active": False}, SAM, (404, "not a member of queue")),
        ("PUT /v1/supervisor/agents/emma/queues/claims", {"active": "no"}, SAM, (422, "invalid request")),
    ],
)
async def test_changes_the_directory_refuses(
    h: Harness, call: str, body: dict[str, Any] | None, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    method, path = call.split(" ")
    response = await h.client.request(method, path, json=body, headers=headers)
    assert response.status_code == expected[0], response.text
    assert expected[1] in response.json()["detail"]
    assert h.store.live == {}
    assert h.bus.published == []
