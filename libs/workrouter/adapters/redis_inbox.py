"""Agents' inboxes over Redis pub/sub: a subscription per open event stream (RedisAgentStore.notify publishes)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import PubSub

from workrouter.adapters.redis_agent_records import text

log = logging.getLogger(__name__)


class RedisSubscription:
    """One agent's inbox channel, subscribed on its own connection."""

    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def get(self, wait_seconds: float) -> dict[str, Any] | None:
        """The next notification (a JSON object), or None when none came within `wait_seconds`."""
        message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=max(wait_seconds, 0.0))
        if message is None or message.get("type") != "message":
            return None
        raw = text(message["data"])
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            log.warning("inbox notification is not JSON; forwarded as text: %.200s", raw)
            return {"event": "message", "text": raw}
        return value if isinstance(value, dict) else {"event": "message", "value": value}


class RedisInbox:
    """Subscribes to agents' inbox channels (named by `channel_of`, e.g. RedisAgentStore.inbox)."""

    def __init__(self, client: redis.Redis, channel_of: Callable[[str], str]) -> None:
        self._client = client
        self._channel_of = channel_of

    @asynccontextmanager
    async def subscribe(self, agent_id: str) -> AsyncIterator[RedisSubscription]:
        """Subscribe (confirmed by Redis before this yields) and unsubscribe on exit, even when cancelled."""
        channel = self._channel_of(agent_id)
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(channel)
            await _confirmed(pubsub, channel)
            yield RedisSubscription(pubsub)
        finally:
            # shielded: a stream's task is cancelled when its client goes away, and the connection
            # must still leave the channel and go back to the pool
            await asyncio.shield(_close(pubsub, channel))


async def _confirmed(pubsub: PubSub, channel: str, within: float = 10.0) -> None:
    """Wait for Redis to confirm the subscription, so nothing published after this returns is missed."""
    deadline = asyncio.get_running_loop().time() + within
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        message = await pubsub.get_message(timeout=left)
        if message is not None and message.get("type") == "subscribe":
            return
    raise TimeoutError(f"Redis did not confirm the subscription to {channel} within {within:g} s")


async def _close(pubsub: PubSub, channel: str) -> None:
    try:
        await pubsub.unsubscribe(channel)
    finally:
        await pubsub.aclose()
