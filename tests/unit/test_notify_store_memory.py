"""The callback store contract on the in-memory twin the unit tests use."""

from __future__ import annotations

import pytest

from tests.contracts.notifier_store_contract import CallbackStoreContract
from tests.support.notifier import MemoryCallbackStore
from workrouter.ports.callbacks import CallbackStore


class TestMemoryCallbackStore(CallbackStoreContract):
    @pytest.fixture
    def store(self) -> CallbackStore:
        return MemoryCallbackStore()
