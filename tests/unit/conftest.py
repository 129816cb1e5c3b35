"""Unit-test fixtures (no network)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.fakes import RecordingBus
from workrouter.config.catalog import Catalog, load_catalog
from workrouter.contracts.deadletter import DeadLettered
from workrouter.contracts.task_events import TaskReprioritised
from workrouter.contracts.topics import TopicSpec
from workrouter.services.api.app import create_app

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


@pytest.fixture
def bus() -> RecordingBus:
    """A bus that records what is published (modules with a bus of their own override this)."""
    return RecordingBus()


@pytest.fixture
async def client(catalog: Catalog, bus: RecordingBus) -> AsyncIterator[httpx.AsyncClient]:
    """The api app for source systems over `bus`, called in process."""
    transport = httpx.ASGITransport(app=create_app(catalog, bus))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield http
