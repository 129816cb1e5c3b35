"""The router's agent store contract on the in-memory store the router's unit tests run on."""

from __future__ import annotations

import pytest

from tests.contracts.agent_store_contract import AgentStoreContract
from tests.support.fake_router_store import FakeRouterStore


class TestFakeRouterStoreContract(AgentStoreContract):
    @pytest.fixture
    def store(self) -> FakeRouterStore:
        return FakeRouterStore()
