"""Unit-test fixtures (no network)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from workrouter.config.catalog import Catalog, load_catalog
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.task_events import TaskReprioritised
from workrouter.contracts.topics import TopicSpec

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"


@pytest.fixture
def topics() -> tuple[TopicSpec, TopicSpec]:
    """A work topic with 3 partitions and a dead-letter topic."""
    suffix = uuid.uuid4().hex[:8]
    return (
        TopicSpec(f"work.{suffix}", "key", 3, "unit test topic", (TaskReprioritised,)),
        TopicSpec(f"dead.{suffix}", "key", 1, "unit dead letters", (DeadLettered,)),
    )


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The seed catalog from deploy/config."""
    return load_catalog(CONFIG_DIR)
