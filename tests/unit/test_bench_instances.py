"""The end-to-end benchmark with several instances of each consumer: names, sums over instances, readiness
from the scrapes, and the comparison's last line."""

from __future__ import annotations

import math

import pytest

from tests.bench.e2e_instances import (
    LAG,
    OWNED,
    all_instances,
    assignment_problems,
    by_service,
    instance_names,
    merged,
    ownership_problems,
    per_service,
    scale_line,
    service_of,
)
from tests.bench.e2e_metrics import CAPTURE_TO_OFFER, Scrape, histogram_quantile


def scrape(samples: dict[str, list[tuple[dict[str, str], float]]]) -> Scrape:
    out = Scrape()
    for name, values in samples.items():
        out.samples[name].extend(values)
    return out


def lags(**topics: list[int]) -> Scrape:
    """A process that reports lag for these partitions of these topics (i.e. is assigned them)."""
    return scrape(
        {LAG: [({"group": "g", "topic": t, "partition": str(p)}, 0.0) for t, ps in topics.items() for p in ps]}
    )


def owns(*domains: str) -> Scrape:
    return scrape({OWNED: [({"domain": d}, 1.0) for d in domains]})


def test_one_instance_keeps_the_service_s_name_and_two_are_numbered() -> None:
    assert instance_names("router", 1) == ["router"]
    assert instance_names("router", 2) == ["router-1", "router-2"]
    assert instance_names("api", 3) == ["api"]  # consumes nothing, serves no benchmark traffic
    assert all_instances(1) == ["capture", "prioritiser", "router", "escalation", "reporting", "notifier", "api"]
    assert len(all_instances(2)) == 13
    with pytest.raises(ValueError, match="at least once"):
        instance_names("router", 0)


def test_an_instance_is_traced_back_to_its_service_and_other_names_stay() -> None:
    assert service_of("router-2") == "router"
    assert service_of("prioritiser-10") == "prioritiser"
    assert service_of("router") == "router"
    assert [service_of(n) for n in ("kafka", "bench", "others", "prioritiser-poison")] == [
        "kafka", "bench", "others", "prioritiser-poison",
    ]  # fmt: skip


def test_figures_of_instances_are_summed_per_service() -> None:
    cores = {"router-1": 0.25, "router-2": 0.5, "capture": 0.125, "kafka": 0.25}
    assert by_service(cores) == {"router": 0.75, "capture": 0.125, "kafka": 0.25}


def test_merged_scrapes_add_lag_gauges_and_histograms_over_instances() -> None:
    one = scrape({
        LAG: [({"topic": "t", "partition": "0"}, 3.0)],
        "workrouter_tasks_waiting": [({"queue": "finance"}, 2.0)],
        CAPTURE_TO_OFFER + "_bucket": [({"le": "0.1"}, 10.0), ({"le": "+Inf"}, 10.0)],
    })  # fmt: skip
    two = scrape({
        LAG: [({"topic": "t", "partition": "1"}, 4.0)],
        "workrouter_tasks_waiting": [({"queue": "sales"}, 5.0)],
        CAPTURE_TO_OFFER + "_bucket": [({"le": "0.1"}, 0.0), ({"le": "+Inf"}, 10.0)],
    })  # fmt: skip
    both = per_service({"router-1": one, "router-2": two, "capture": lags(t=[0])})
    assert set(both) == {"router", "capture"}
    router = both["router"]
    assert router.total(LAG) == 7.0
    assert router.by("workrouter_tasks_waiting", "queue") == {"finance": 2.0, "sales": 5.0}
    assert router.buckets(CAPTURE_TO_OFFER) == {0.1: 10.0, math.inf: 20.0}
    assert histogram_quantile(0.5, {}, router.buckets(CAPTURE_TO_OFFER)) == pytest.approx(0.1)
    assert merged([]).samples == {}


GROUPS = {"router": {"routing": 6}, "reporting": {"tasks": 12, "agents": 6}}


def test_groups_are_settled_when_each_partition_has_one_instance_and_each_instance_some() -> None:
    scrapes = {
        "router-1": lags(routing=[0, 2, 4]),
        "router-2": lags(routing=[1, 3, 5]),
        "reporting-1": lags(tasks=list(range(6)), agents=[0, 1, 2]),
        "reporting-2": lags(tasks=list(range(6, 12)), agents=[3, 4, 5]),
    }
    assert assignment_problems(scrapes, GROUPS) == []


def test_groups_are_not_settled_while_a_rebalance_is_under_way() -> None:
    scrapes = {
        "router-1": lags(routing=[0, 1, 2, 3, 4, 5]),  # still holds all: the second has not joined yet
        "router-2": lags(),
        "reporting-1": lags(tasks=list(range(7)), agents=[0, 1, 2]),
        "reporting-2": lags(tasks=list(range(6, 11)), agents=[3, 4]),
    }
    assert assignment_problems(scrapes, GROUPS) == [
        "reporting: agents partitions [5] held by no instance",
        "reporting: tasks partitions [11] held by no instance",
        "reporting: tasks partitions held twice: {6: ['reporting-1', 'reporting-2']}",
        "router-2 holds no partition of routing",
    ]


def test_an_instance_may_hold_nothing_of_a_topic_with_fewer_partitions_than_instances() -> None:
    scrapes = {
        "prioritiser-1": lags(dead=[0, 1, 2]),
        "prioritiser-2": lags(),
        "prioritiser-3": lags(),
        "prioritiser-4": lags(),
    }
    assert assignment_problems(scrapes, {"prioritiser": {"dead": 3}}) == []


def test_each_domain_has_one_router_and_each_router_a_domain() -> None:
    domains = ("backoffice", "sales", "support")
    assert ownership_problems({"router-1": owns("sales", "support"), "router-2": owns("backoffice")}, domains) == []
    assert ownership_problems({"router": owns(*domains)}, domains) == []
    assert ownership_problems({"router-1": owns(*domains), "router-2": owns("sales")}, domains) == [
        "domain sales owned by ['router-1', 'router-2']",
    ]
    assert ownership_problems({"router-1": owns("sales", "support"), "router-2": owns()}, domains) == [
        "domain backoffice owned by no router",
        "router-2 owns no domain",
    ]


def test_the_scale_line_gives_each_ceiling_and_the_change() -> None:
    assert scale_line({1: 96.0, 2: 88.0}) == (
        "bench scale: instances=1 sustained=96.0 instances=2 sustained=88.0 change=-8.3 %"
    )
    assert scale_line({1: 48.0, 2: 64.0, 3: 60.0}).endswith("instances=3 sustained=60.0 change=+25.0 %")
    assert scale_line({1: 0.0, 2: 8.0}) == "bench scale: instances=1 sustained=0.0 instances=2 sustained=8.0 change=na"
