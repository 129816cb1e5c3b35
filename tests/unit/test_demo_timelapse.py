"""The demo's time-lapse copy of the configuration: queue durations divided, everything else as is."""

from __future__ import annotations

from pathlib import Path

from workrouter.config.catalog import load_catalog
from workrouter.config.routing import load_routing_config
from workrouter.demo.timelapse import demo_config, faster, speed_up

SEED = Path(__file__).resolve().parents[2] / "deploy" / "config"


def test_durations_are_divided_and_never_below_a_second_unless_zero() -> None:
    assert faster("30s", 6) == 5
    assert faster("5m", 6) == 50
    assert faster(0, 6) == 0
    assert faster("2s", 6) == 1
    assert faster(45, 1) == 45


def test_every_queue_duration_is_sped_up() -> None:
    doc = {
        "queues": [
            {
                "name": "q",
                "tiers": [{"min_level": 70, "after_seconds": 0}, {"min_level": 40, "after_seconds": "60s"}],
                "offer_timeout_seconds": "30s",
                "after_work_seconds": "2m",
                "service_levels": ["1m", "5m", "6s"],
            }
        ]
    }
    queue = speed_up(doc, 6)["queues"][0]
    assert [t["after_seconds"] for t in queue["tiers"]] == [0, 10]
    assert (queue["offer_timeout_seconds"], queue["after_work_seconds"]) == (5, 20)
    assert queue["service_levels"] == [1, 10, 50]


def test_the_demo_config_is_a_valid_copy_with_faster_queues(tmp_path: Path) -> None:
    folder = demo_config(SEED, tmp_path, 6)
    fast, seed = load_routing_config(folder), load_routing_config(SEED)
    assert fast.queues["finance"].offer_timeout_seconds == seed.queues["finance"].offer_timeout_seconds / 6
    assert [t.after_seconds for t in fast.queues["finance"].tiers] == [0, 10, 50]
    assert fast.agents == seed.agents
    assert set(load_catalog(folder).worktypes) == set(load_catalog(SEED).worktypes)
    assert demo_config(SEED, tmp_path, 6) == folder  # a second run replaces the copy
