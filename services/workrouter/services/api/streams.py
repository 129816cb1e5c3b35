"""The agent's live event stream (Server-Sent Events): a snapshot of its holds, then its inbox as it happens.

Order matters: the stream subscribes to the agent's inbox first and reads the snapshot after, so a
notification published in between is delivered (at worst both in the snapshot and as an event) and
never lost. While the stream is open it records a heartbeat every few seconds (the agent is alive)
and sends a comment line now and then, so that proxies keep the connection open.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from workrouter.services.api.agent_context import AgentApi, AgentCaller, Caller
from workrouter.services.api.agent_views import hold_view, iso
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.responses import documented

POLL_SECONDS = 1.0  # how soon a closed connection is noticed
KEEPALIVE = ": keep-alive\n\n"
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def stream_routes(api: AgentApi) -> APIRouter:
    """`GET /v1/agent/events` of one app."""
    router = APIRouter(prefix="/v1/agent", tags=["agent"])

    @router.get(
        "/events",
        response_model=None,
        responses=documented(
            401,
            503,
            s200={
                "description": "Server-Sent Events: a snapshot, then notifications, until you disconnect.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
        ),
    )
    async def events(request: Request, caller: AgentCaller) -> StreamingResponse:
        if api.inbox is None:
            raise HttpError(problem(503, "live events need the Redis inbox, which this api was started without"))
        return StreamingResponse(
            agent_events(api, caller, request.is_disconnected),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def sse(event: str, data: dict[str, Any]) -> str:
    """One SSE event: `event: <name>` and one `data:` line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


def event_name(message: dict[str, Any]) -> str:
    """The SSE event name of an inbox notification: its `event` field, or `message`."""
    name = message.get("event")
    return name if isinstance(name, str) and _EVENT_NAME.match(name) else "message"


async def snapshot(api: AgentApi, caller: Caller) -> dict[str, Any]:
    """The agent's presence and current holds (offers, claims, assignments) with their entries."""
    state = await api.store.get_presence(caller.agent_id)
    holds = [hold_view(task_id, holder, entry, api.routing) for task_id, holder, entry in await api.holds(caller)]
    return {
        "event": "snapshot",
        "agent_id": caller.agent_id,
        "presence": state.presence.value,
        "reason": state.reason,
        "at": iso(api.now()),
        "holds": holds,
    }


async def agent_events(
    api: AgentApi, caller: Caller, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncGenerator[str, None]:
    """The stream's text: subscribe, snapshot, then notifications, keep-alives and heartbeats until disconnected."""
    assert api.inbox is not None
    timings, store, agent_id = api.timings, api.store, caller.agent_id
    clock = asyncio.get_running_loop().time
    async with api.inbox.subscribe(agent_id) as subscription:
        yield sse("snapshot", await snapshot(api, caller))
        await store.heartbeat(agent_id, api.now())
        next_beat = clock() + timings.heartbeat_seconds
        next_keepalive = clock() + timings.keepalive_seconds
        while not await disconnected():
            wait = min(next_beat, next_keepalive, clock() + POLL_SECONDS) - clock()
            message = await subscription.get(max(wait, 0.0))
            if message is not None:
                yield sse(event_name(message), message)
            if clock() >= next_beat:
                await store.heartbeat(agent_id, api.now())
                next_beat = clock() + timings.heartbeat_seconds
            if clock() >= next_keepalive:
                yield KEEPALIVE
                next_keepalive = clock() + timings.keepalive_seconds
