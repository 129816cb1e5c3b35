"""The prioritiser's facts store contract on the in-memory twin and on real PostgreSQL (a fresh database)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.contracts.facts_store_contract import FactsStoreContract
from workrouter.adapters.memory_stores import MemoryTaskFactsStore
from workrouter.adapters.postgres.stores import PostgresTaskFactsStore
from workrouter.ports.stores import TaskFactsStore


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
