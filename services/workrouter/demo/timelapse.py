"""The demo's configuration: the seed configuration with the queues' clocks sped up.

Back-office work is slow: in deploy/config a senior has the first minute of a finance task to
himself, after-work lasts 30 s to 2 min and offers time out after 20-45 s. A three-minute demo at
that pace shows little; so the demo copies the configuration into its data folder and divides
every duration of queues.yaml (tier widening, offer and claim timeouts, after-work, preferred-agent
time, service-level thresholds) by `speed`. Everything else (rules, SLAs, agents, codes) is as is.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import yaml

from workrouter.config.routing_types import to_seconds

QUEUE_DURATIONS = ("offer_timeout_seconds", "claim_timeout_seconds", "after_work_seconds", "preferred_seconds")


def faster(value: Any, speed: float) -> int:
    """A duration divided by `speed`, in whole seconds, never below 1 s unless it was 0."""
    seconds = float(to_seconds(value))
    return 0 if seconds == 0 else max(1, math.ceil(seconds / speed))


def speed_up(queues: dict[str, Any], speed: float) -> dict[str, Any]:
    """queues.yaml's document with its durations divided by `speed`."""
    for queue in queues.get("queues", []):
        for key in QUEUE_DURATIONS:
            if key in queue:
                queue[key] = faster(queue[key], speed)
        for tier in queue.get("tiers", []):
            tier["after_seconds"] = faster(tier.get("after_seconds", 0), speed)
        if "service_levels" in queue:
            levels = sorted({faster(v, speed) for v in queue["service_levels"]})
            queue["service_levels"] = levels
    return queues


def demo_config(source: Path, data_dir: Path, speed: float) -> Path:
    """A copy of `source` under `data_dir`/demo-config with queue timings `speed` times faster."""
    target = data_dir / "demo-config"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    if speed != 1:
        path = target / "queues.yaml"
        doc = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump(speed_up(doc, speed), sort_keys=False))
    return target
