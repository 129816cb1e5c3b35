"""The capture and prioritiser store contracts on the in-memory twins and on real PostgreSQL (a fresh database)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.contracts.facts_store_contract import CaptureStoreContract, FactsStoreContract
from workrouter.adapters.memory_stores import MemoryCaptureStore, MemoryTaskFactsStore
from workrouter.adapters.postgres.stores import PostgresCaptureStore, PostgresTaskFactsStore
from workrouter.ports.stores import CaptureStore, TaskFactsStore


class TestMemoryFactsStore(FactsStoreContract):
    @pytest.fixture
    def store(self) -> TaskFactsStore:
        return MemoryTaskFactsStore()


class TestPostgresFactsStore(FactsStoreContract):
    @pytest.fixture
    async def store(self, fresh_database: str) -> AsyncIterator[TaskFactsStore]:
        async with asyncpg.create_pool(fresh_database, min_size=1, max_size=2) as pool:
            store = PostgresTaskFactsStore(pool)
            await store.migrate()
            yield store


class TestMemoryCaptureStore(CaptureStoreContract):
    @pytest.fixture
    def captures(self) -> CaptureStore:
        return MemoryCaptureStore()


class TestPostgresCaptureStore(CaptureStoreContract):
    @pytest.fixture
    async def captures(self, fresh_database: str) -> AsyncIterator[CaptureStore]:
        async with asyncpg.create_pool(fresh_database, min_size=1, max_size=2) as pool:
            store = PostgresCaptureStore(pool)
            await store.migrate()
            yield store
