"""Kafka topic administration: list the topics, create the missing ones and wait for their leaders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from workrouter.contracts.topics import TopicSpec

log = logging.getLogger(__name__)


class KafkaUnreachableError(ConnectionError):
    """No broker answered at the bootstrap address."""


async def _admin(bootstrap: str, client_id: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id)
    try:
        await admin.start()
    except KafkaConnectionError as exc:
        await admin.close()
        raise KafkaUnreachableError(
            f"cannot reach Kafka at {bootstrap} ({exc}); start it with `make infra-up` "
            "or set WR_BROKER_URL=kafka://host:port to a running broker"
        ) from exc
    return admin


async def list_topics(bootstrap: str, client_id: str) -> set[str]:
    """Topic names on the cluster (internal topics excluded)."""
    admin = await _admin(bootstrap, client_id)
    try:
        return {t for t in await admin.list_topics() if not t.startswith("__")}
    finally:
        await admin.close()


async def create_topics(
    bootstrap: str, topics: Sequence[TopicSpec], replication_factor: int, client_id: str, ready_timeout_s: float = 30.0
) -> None:
    """Create every topic of `topics` that does not exist yet, and wait until each partition has a leader."""
    admin = await _admin(bootstrap, client_id)
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(t.name, num_partitions=t.partitions, replication_factor=replication_factor)
            for t in topics
            if t.name not in existing
        ]
        if missing:
            # Another process may create them between our list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            log.info("created topics %s", [t.name for t in missing])
        # Also when another process created them a moment ago: leaders may still be electing.
        await _wait_for_leaders(admin, [t.name for t in topics], ready_timeout_s)
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], timeout_s: float) -> None:
    """Consumers that start before a new partition has a leader log errors and retry; wait instead."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        leaderless = [
            t["topic"]
            for t in described
            if t["error_code"] or not t["partitions"] or any(p["leader"] < 0 for p in t["partitions"])
        ]
        if not leaderless:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise KafkaUnreachableError(f"topics {leaderless} have no partition leaders after {timeout_s:.0f}s")
        await asyncio.sleep(0.1)
