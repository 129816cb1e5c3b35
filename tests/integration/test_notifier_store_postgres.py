"""The callback store contract on real PostgreSQL, plus what only it promises: concurrent senders on separate
pools never claim the same row. Each test gets a schema of its own (dropped afterwards)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.contracts.notifier_store_contract import CallbackStoreContract, new
from tests.support.infra import Infra
from tests.support.notifier import T0
from workrouter.adapters.postgres.notifier_store import PostgresCallbackStore
from workrouter.ports.callbacks import CallbackStore


@pytest.fixture
async def postgres_store(infra: Infra, fresh_schema: str) -> AsyncIterator[PostgresCallbackStore]:
    """A migrated store in the test's schema."""
    async with asyncpg.create_pool(infra.database_url, min_size=1, max_size=4) as pool:
        store = PostgresCallbackStore(pool, schema=fresh_schema)
        await store.migrate()
        yield store


class TestPostgresCallbackStore(CallbackStoreContract):
    @pytest.fixture
    def store(self, postgres_store: PostgresCallbackStore) -> CallbackStore:
        return postgres_store


async def test_concurrent_claims_on_separate_pools_never_share_a_row(
    infra: Infra, fresh_schema: str, postgres_store: PostgresCallbackStore
) -> None:
    for i in range(400):
        await postgres_store.enqueue(new(f"cb-{i:03d}"), T0)
    async with (
        asyncpg.create_pool(infra.database_url, min_size=2, max_size=4) as one,
        asyncpg.create_pool(infra.database_url, min_size=2, max_size=4) as two,
    ):
        senders = [PostgresCallbackStore(one, schema=fresh_schema), PostgresCallbackStore(two, schema=fresh_schema)]

        async def drain(store: PostgresCallbackStore) -> list[str]:
            got: list[str] = []
            while batch := await store.claim("crm", T0, 7, 60):
                got.extend(c.id for c in batch)
            return got

        results = await asyncio.gather(*(drain(s) for s in senders for _ in range(3)))
    claimed = [i for r in results for i in r]
    assert len(claimed) == 400
    assert len(set(claimed)) == 400


async def test_migrate_is_safe_to_run_concurrently(infra: Infra, fresh_schema: str) -> None:
    async with asyncpg.create_pool(infra.database_url, min_size=1, max_size=8) as pool:
        await asyncio.gather(*(PostgresCallbackStore(pool, schema=fresh_schema).migrate() for _ in range(6)))
        assert await PostgresCallbackStore(pool, schema=fresh_schema).enqueue(new("x"), T0)
