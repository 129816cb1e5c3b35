"""Agent routes: presence (log in and out), the agent's own view, heartbeats."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from workrouter.contracts.agent_commands import ChangePresence
from workrouter.domain.routing.model import Presence
from workrouter.services.api.agent_bodies import PresenceBody
from workrouter.services.api.agent_context import AgentApi, AgentCaller
from workrouter.services.api.agent_views import hold_view, iso
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.responses import documented, ok
from workrouter.services.openapi import ref, request_body


def agent_routes(api: AgentApi) -> APIRouter:
    """The `/v1/agent` routes of one app."""
    router = APIRouter(prefix="/v1/agent", tags=["agent"])
    store, routing = api.store, api.routing

    @router.post(
        "/presence",
        responses=documented(400, 401, 413, 422, s200=ok("The presence as stored, with its version.")),
        openapi_extra=request_body(ref(PresenceBody)),
    )
    async def change_presence(request: Request, caller: AgentCaller) -> dict[str, Any]:
        body = await api.body(request, PresenceBody)
        reason = _reason(api, body)
        now = api.now()
        if await store.get_profile(caller.agent_id) is None:  # first login before the router stored it
            await store.put_profile(caller.profile)
        version = await store.set_presence(caller.agent_id, Presence(body.presence), reason, now)
        for domain in caller.domains:  # a blended agent's every router follows (decisions D21)
            command = ChangePresence(agent_id=caller.agent_id, domain=domain, presence=body.presence, reason=reason)
            await api.publish(command, caller.agent_id)
        return {"agent_id": caller.agent_id, "presence": body.presence, "reason": reason, "version": version}

    @router.get("/me", responses=documented(401, s200=ok("Profile, presence, load and holds.")))
    async def me(caller: AgentCaller) -> dict[str, Any]:
        state = await store.get_presence(caller.agent_id)
        holds = [hold_view(task_id, holder, entry, routing) for task_id, holder, entry in await api.holds(caller)]
        profile = caller.profile
        return {
            "agent_id": caller.agent_id,
            "domain": caller.domain,
            "domains": list(caller.domains),
            "supervisor": caller.supervisor,
            "skills": dict(profile.skills),
            "queues": sorted(profile.queues),
            "capacity": dict(profile.capacity),
            "presence": state.presence.value,
            "reason": state.reason,
            "presence_since": iso(state.since) if state.version else None,
            "load": await store.load(caller.agent_id),
            "holds": holds,
        }

    @router.post("/heartbeat", responses=documented(401, 409, s200=ok("The heartbeat was recorded.")))
    async def heartbeat(caller: AgentCaller) -> dict[str, Any]:
        now = api.now()
        if not await store.heartbeat(caller.agent_id, now):
            raise HttpError(problem(409, "you are offline: log in with POST /v1/agent/presence before heartbeats"))
        return {"agent_id": caller.agent_id, "recorded_at": iso(now)}

    return router


def _reason(api: AgentApi, body: PresenceBody) -> str | None:
    """The not-ready reason, checked against codes.yaml; 422 when missing, unknown, a system one, or misplaced."""
    reasons = api.routing.not_ready_reasons
    choices = ", ".join(sorted(r for r, code in reasons.items() if not code.system))
    if body.presence != "not_ready":
        if body.reason is not None:
            raise api.invalid("body.reason", f"a reason goes only with presence not_ready, not {body.presence}")
        return None
    if body.reason is None:
        raise api.invalid("body.reason", f"required with presence not_ready; one of: {choices}")
    code = reasons.get(body.reason)
    if code is None:
        raise api.invalid("body.reason", f"unknown not-ready reason {body.reason!r}; one of: {choices}")
    if code.system:
        raise api.invalid("body.reason", f"{body.reason!r} is set by the router only; one of: {choices}")
    return body.reason
