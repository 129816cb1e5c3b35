"""Connecting to PostgreSQL with errors that say what to do."""

from __future__ import annotations

import asyncpg


class DatabaseUnreachableError(ConnectionError):
    """PostgreSQL did not accept the connection."""


async def connect(url: str | None, *, service: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A connection pool for `url`; raises DatabaseUnreachableError naming the setting and the fix."""
    if not url:
        raise DatabaseUnreachableError(
            f"the {service} service needs WR_DATABASE_URL=postgresql://user:pass@host:port/db"
        )
    try:
        return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnreachableError(
            f"cannot connect to PostgreSQL at WR_DATABASE_URL ({type(exc).__name__}: {exc}); "
            "start it with `make infra-up` or fix the URL"
        ) from exc
