"""The router applies a supervisor's live change to an agent (ChangeAgent) with no restart, and a takeover
applies the whole live directory (issue 20)."""

from __future__ import annotations

from tests.support.fake_router_store import FakeRouterStore, memory_router
from tests.support.fakes import RecordingBus
from tests.support.routing import DOMAIN, classified, command, config
from workrouter.config import live_agents
from workrouter.config.live_agents import LiveAgent
from workrouter.contracts import agent_commands as ac
from workrouter.contracts.topics import TopicNames
from workrouter.domain.routing.model import Presence
from workrouter.services.router.router import Router


def change(agent_id: str) -> ac.ChangeAgent:
    return ac.ChangeAgent(agent_id=agent_id, domain=DOMAIN, by="sam")


async def put(store: FakeRouterStore, agent_id: str, agent: LiveAgent | None) -> None:
    await store.put_live_agent(agent_id, live_agents.encode(agent))


async def test_an_agent_added_live_is_routed_to_once_ready() -> None:
    async with memory_router() as r:
        await put(r.store, "d", LiveAgent(skills={"s": 90}, queues=["q"], capacity={"workitem": 1}))
        await r.send(command(change("d")))
        await r.presence("d", Presence.READY)
        await r.send(classified("t1", level=60))
        assert [(o.task_id, o.agent_id) for o in r.events("offered")] == [("t1", "d")]


async def test_a_queue_switched_off_gives_the_agent_none_of_its_work_until_switched_on() -> None:
    async with memory_router() as r:
        member = {"skills": {"s": 90}, "queues": ["q", "pull"], "capacity": {"workitem": 2}}
        await put(r.store, "a", LiveAgent(**member, inactive_queues=["q"]))
        await r.send(command(change("a")))
        await r.presence("a", Presence.READY)
        await r.send(classified("t1", level=60))
        assert r.events("offered") == []
        await put(r.store, "a", LiveAgent(**member))
        await r.send(command(change("a")))  # switched on: the waiting task is offered at once
        assert [(o.task_id, o.agent_id) for o in r.events("offered")] == [("t1", "a")]


async def test_a_removed_agents_offer_goes_to_another_and_it_is_given_nothing_new() -> None:
    async with memory_router() as r:
        await r.presence("a", Presence.READY)
        await r.send(classified("t1", level=60))
        assert [(o.task_id, o.agent_id) for o in r.events("offered")] == [("t1", "a")]
        await r.presence("b", Presence.READY)
        await r.store.set_presence("a", Presence.OFFLINE, None, r.clock())  # what the api does on removal
        await put(r.store, "a", None)
        await r.send(command(change("a")))
        assert [(o.task_id, o.agent_id) for o in r.events("offered")] == [("t1", "a"), ("t1", "b")]
        assert [v.reason for v in r.events("offer_revoked")] == ["agent_offline"]
        await r.send(classified("t2", level=60))
        assert ("t2", "a") not in [(o.task_id, o.agent_id) for o in r.events("offered")]


async def test_a_takeover_applies_the_live_directory() -> None:
    store = FakeRouterStore()
    await put(store, "d", LiveAgent(skills={"s": 90}, queues=["q"], capacity={"workitem": 1}))
    await put(store, "a", None)
    router = Router(config(), store, RecordingBus(), TopicNames())
    await router.on_assign(set(range(router.options.partitions)))
    try:
        engine = router.domains[DOMAIN].engine
        assert "d" in engine.agents
        assert "a" not in engine.agents
        assert "d" in router.domains[DOMAIN].config.agents
    finally:
        await router.close()
