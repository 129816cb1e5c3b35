"""The router's metrics, fed message by message in memory: exact counter deltas and live gauges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from tests.support.fake_router_store import MemoryRouter, memory_router
from tests.support.routing import DOMAIN, T0, classified, command, config
from workrouter.adapters.redis_agent_records import ReserveResult
from workrouter.contracts import agent_commands as ac
from workrouter.domain.routing.model import AgentProfile, Presence
from workrouter.services.router.metrics_collector import RouterCollector

Q = {"queue": "q"}


def counter(name: str, **labels: str) -> float:
    """A sample of the process-wide registry (counters), 0 when the series does not exist yet."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Counters:
    """Counter values relative to when the test started (the registry is shared by the whole run)."""

    def __init__(self) -> None:
        self.start: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def mark(self, name: str, **labels: str) -> None:
        self.start[(name, tuple(sorted(labels.items())))] = counter(name, **labels)

    def delta(self, name: str, **labels: str) -> float:
        return counter(name, **labels) - self.start.get((name, tuple(sorted(labels.items()))), 0.0)


WATCHED = [
    ("workrouter_tasks_queued_total", Q),
    ("workrouter_offers_total", {"queue": "q", "how": "offer"}),
    ("workrouter_assignments_total", {"queue": "q", "how": "offer"}),
    ("workrouter_assignments_total", {"queue": "pull", "how": "pull"}),
    ("workrouter_offers_revoked_total", {"queue": "q", "reason": "rona"}),
    ("workrouter_ronas_total", Q),
    ("workrouter_capture_to_offer_seconds_count", Q),
    ("workrouter_capture_to_offer_seconds_sum", Q),
    ("workrouter_queue_to_first_offer_seconds_count", Q),
    ("workrouter_queue_to_first_offer_seconds_sum", Q),
]


@pytest.fixture
def counters() -> Counters:
    c = Counters()
    for name, labels in WATCHED:
        c.mark(name, **labels)
    return c


def gauges(h: MemoryRouter) -> CollectorRegistry:
    """A registry with only this router's live gauges."""
    registry = CollectorRegistry()
    registry.register(RouterCollector(lambda: list(h.router.domains.values()), h.clock))
    return registry


def gauge(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {"domain": DOMAIN, **labels})


def one_agent() -> list[AgentProfile]:
    return [AgentProfile("a", {"s": 90}, frozenset({"q", "pull"}), {"workitem": 1})]


async def test_three_queued_one_offered_then_a_rona_then_an_accept(counters: Counters) -> None:
    async with memory_router(config(agents=one_agent())) as h:
        live = gauges(h)
        h.clock.now = T0 + 10
        await h.presence("a", Presence.READY)
        for i, at in enumerate((T0, T0 + 4, T0 + 6)):
            await h.send(classified(f"t{i}", at=at, captured_at=at - 2))
        assert [o.task_id for o in h.events("offered")] == ["t0"]
        assert counters.delta("workrouter_tasks_queued_total", **Q) == 3
        assert counters.delta("workrouter_offers_total", queue="q", how="offer") == 1
        assert counters.delta("workrouter_queue_to_first_offer_seconds_count", **Q) == 1
        assert counters.delta("workrouter_queue_to_first_offer_seconds_sum", **Q) == 10.0  # queued T0, offered T0+10
        assert counters.delta("workrouter_capture_to_offer_seconds_count", **Q) == 1
        assert counters.delta("workrouter_capture_to_offer_seconds_sum", **Q) == 12.0  # captured 2 s before queued
        assert gauge(live, "workrouter_tasks_waiting", queue="q", band="static") == 2
        assert gauge(live, "workrouter_tasks_waiting", queue="q", band="urgent") == 0
        assert gauge(live, "workrouter_tasks_held", queue="q", state="offered") == 1
        assert gauge(live, "workrouter_queue_oldest_wait_seconds", queue="q") == 6.0  # t1, queued at T0+4
        assert gauge(live, "workrouter_queue_agents_eligible", queue="q") == 1
        assert gauge(live, "workrouter_queue_agents_available", queue="q") == 0  # its one slot holds the offer
        assert gauge(live, "workrouter_agents", status="ready", reason="") == 1
        assert gauge(live, "workrouter_agent_tasks", channel="workitem") == 1
        assert gauge(live, "workrouter_agent_capacity", channel="workitem") == 1
        assert gauge(live, "workrouter_router_domain_owned") == 1

        await h.at(40, T0)  # the offer made at T0+10 times out at T0+40
        assert counters.delta("workrouter_offers_revoked_total", queue="q", reason="rona") == 1
        assert counters.delta("workrouter_ronas_total", **Q) == 1
        assert gauge(live, "workrouter_agents", status="not_ready", reason="rona") == 1
        assert gauge(live, "workrouter_agents", status="ready", reason="") == 0
        assert gauge(live, "workrouter_tasks_waiting", queue="q", band="static") == 3
        assert (
            gauge(live, "workrouter_queue_service_level_ratio", queue="q", threshold_seconds="20", threshold_index="1")
            == 0.0
        )  # 3 late

        await h.presence("a", Presence.READY)  # back from RONA: offered t0 again (same wait clock, not a first)
        offer = h.events("offered")[-1]
        assert offer.task_id == "t0"
        assert counters.delta("workrouter_offers_total", queue="q", how="offer") == 2
        assert counters.delta("workrouter_capture_to_offer_seconds_count", **Q) == 1
        assert counters.delta("workrouter_queue_to_first_offer_seconds_count", **Q) == 1
        answer = ac.AnswerOffer(agent_id="a", domain=DOMAIN, task_id="t0", offer_id=offer.offer_id, accept=True)
        await h.send(command(answer))
        assert counters.delta("workrouter_assignments_total", queue="q", how="offer") == 1
        assert gauge(live, "workrouter_tasks_held", queue="q", state="assigned") == 1
        # answered after 40 s; t1 and t2 wait 36 s and 34 s: within 20 s none of 3, within 60 s all 3
        assert (
            gauge(live, "workrouter_queue_service_level_ratio", queue="q", threshold_seconds="20", threshold_index="1")
            == 0.0
        )
        assert (
            gauge(live, "workrouter_queue_service_level_ratio", queue="q", threshold_seconds="60", threshold_index="2")
            == 1.0
        )
        h.clock.now = T0 + 100  # t1 has now waited 96 s: one answered within 60 s, one waiting longer
        assert (
            gauge(live, "workrouter_queue_service_level_ratio", queue="q", threshold_seconds="60", threshold_index="2")
            == 1 / 3
        )
        assert (
            gauge(live, "workrouter_queue_service_level_ratio", queue="q", threshold_seconds="300", threshold_index="3")
            == 1.0
        )


async def test_urgent_band_pull_claims_and_losing_the_domain(counters: Counters) -> None:
    agents = [AgentProfile("a", {"s": 90}, frozenset({"q", "pull"}), {"workitem": 2})]
    async with memory_router(config(agents=agents)) as h:
        live = gauges(h)
        assert (
            gauge(live, "workrouter_queue_service_level_ratio", queue="q", threshold_seconds="20", threshold_index="1")
            == 1.0
        )
        assert gauge(live, "workrouter_agents", status="offline", reason="") == 1
        assert gauge(live, "workrouter_agents", status="not_ready", reason="lunch") == 0
        soon = classified("soon", at=T0)
        due = soon.data.model_copy(update={"due_at": datetime.fromtimestamp(T0 + 3600, UTC)})
        await h.send(soon.model_copy(update={"data": due}))  # due within the 72 h horizon: urgent
        await h.send(classified("p1", queue="pull", at=T0))
        assert gauge(live, "workrouter_tasks_waiting", queue="q", band="urgent") == 1
        assert gauge(live, "workrouter_tasks_waiting", queue="pull", band="static") == 1

        await h.presence("a", Presence.READY)  # offered the urgent one; the pull task is claimed through the api
        assert await h.store.reserve("a", "p1", "workitem", "assign", h.clock()) is ReserveResult.OK
        await h.send(command(ac.TaskClaimed(agent_id="a", domain=DOMAIN, task_id="p1", how="pull")))
        assert counters.delta("workrouter_assignments_total", queue="pull", how="pull") == 1
        assert gauge(live, "workrouter_tasks_held", queue="pull", state="assigned") == 1
        assert gauge(live, "workrouter_tasks_held", queue="q", state="offered") == 1
        assert gauge(live, "workrouter_queue_agents_available", queue="q") == 0

        await h.router.on_revoke(set(range(h.router.options.partitions)))  # another router owns it now
        assert gauge(live, "workrouter_tasks_waiting", queue="q", band="urgent") is None
        assert gauge(live, "workrouter_router_domain_owned") is None
