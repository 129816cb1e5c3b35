"""The escalation store contract on real PostgreSQL, plus what only it promises.

Each test gets a PostgreSQL schema of its own (dropped afterwards) in the shared database; the
second handle (`other`) is a store on its own pool, as another process would have.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.contracts.escalation_store_contract import EscalationStoreContract, at, fire_all, record, timer
from tests.support.infra import Infra
from tests.support.wait import wait_until_async
from workrouter.adapters.postgres.escalation_store import PostgresEscalationStore
from workrouter.ports.timers import EscalationStore, TimerCounts


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the test database."""
    async with asyncpg.create_pool(infra.database_url, min_size=1, max_size=4) as created:
        yield created


@pytest.fixture
async def postgres_store(pool: asyncpg.Pool, fresh_schema: str) -> PostgresEscalationStore:
    """A migrated store in the test's schema."""
    store = PostgresEscalationStore(pool, schema=fresh_schema)
    await store.migrate()
    return store


class TestPostgresEscalationStoreContract(EscalationStoreContract):
    @pytest.fixture
    def store(self, postgres_store: PostgresEscalationStore) -> EscalationStore:
        return postgres_store

    @pytest.fixture
    async def other(self, infra: Infra, fresh_schema: str) -> AsyncIterator[EscalationStore]:
        async with asyncpg.create_pool(infra.database_url, min_size=1, max_size=4) as second:
            yield PostgresEscalationStore(second, schema=fresh_schema)

    @pytest.fixture(autouse=True)
    def watch(self, pool: asyncpg.Pool, fresh_schema: str) -> None:
        self._pool, self._schema = pool, fresh_schema

    async def until_blocked(self, saving: asyncio.Task[None]) -> None:
        async def waiting_on_a_lock() -> bool:
            assert not saving.done(), "the save finished while a firing block held the task's timer"
            found: bool = await self._pool.fetchval(
                "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE $1",
                f'%"{self._schema}".escalation_timers%',
            )
            return found

        await wait_until_async(waiting_on_a_lock, timeout=10, what="the save to wait for the firing block's lock")


class TestPostgresEscalationStoreWhenBulkCopiesCollide(TestPostgresEscalationStoreContract):
    """The contract again with every large save taken for all-new tasks: the straight COPY then collides with
    the tasks that exist (as when another writer saves one between the check and the COPY) and must fall back."""

    @pytest.fixture(autouse=True)
    def blind_check(self, postgres_store: PostgresEscalationStore, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(postgres_store, "_any_exists", "SELECT $1::text[] IS NULL")


async def test_schemas_keep_stores_apart(pool: asyncpg.Pool, postgres_store: PostgresEscalationStore) -> None:
    elsewhere = PostgresEscalationStore(pool, schema=f"{postgres_store.schema}_b")
    await elsewhere.migrate()
    try:
        await postgres_store.save("t1", record(), [timer("t1", "sla", "v1", 10)])
        assert await elsewhere.counts() == TimerCounts(pending=0, fired=0)
        assert await fire_all(elsewhere, at(10)) == []
        assert await elsewhere.load(["t1"]) == {}
    finally:
        await pool.execute(f'DROP SCHEMA "{elsewhere.schema}" CASCADE')


async def test_concurrent_migrations_do_not_collide(pool: asyncpg.Pool, fresh_schema: str) -> None:
    stores = [PostgresEscalationStore(pool, schema=fresh_schema) for _ in range(4)]
    await asyncio.gather(*(s.migrate() for s in stores))
    assert await stores[0].counts() == TimerCounts(pending=0, fired=0)


async def test_firing_walks_the_pending_index_in_order_even_with_stale_statistics(
    pool: asyncpg.Pool, postgres_store: PostgresEscalationStore
) -> None:
    spread = [(f"t{i}", record(), [timer(f"t{i}", "sla", "v1", 36 * i)]) for i in range(5000)]  # one each 36 s
    await postgres_store.save_many(spread)
    await pool.execute(f'ANALYZE "{postgres_store.schema}".escalation_timers')  # so: ~100 due in the first hour
    backlog = [(f"b{i}", record(), [timer(f"b{i}", "sla", "v1", i)]) for i in range(3000)]  # 3,000 more, unseen
    await postgres_store.save_many(backlog)
    plan = await postgres_store.firing_plan(at(3600), 500)
    assert "Index Scan using escalation_timers_pending_due" in plan, plan
    assert "Sort" not in plan, plan
    assert len(await fire_all(postgres_store, at(3600), limit=500)) == 500


def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(pool: asyncpg.Pool) -> None:
    with pytest.raises(ValueError, match="lower-case SQL identifier"):
        PostgresEscalationStore(pool, schema='x"; DROP TABLE y; --')
