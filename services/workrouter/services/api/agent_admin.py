"""Supervisors change agents while the system runs (issue 20): list, add or edit, remove, switch a queue on or
off. The change is kept in the live directory (config/live_agents.py), recorded in the event log
(`AgentProfileChanged` on `wr.agents`) and applied by the router of every domain it touches (`ChangeAgent`
on `wr.routing`), with no restart."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from workrouter.config import live_agents
from workrouter.config.live_agents import LiveAgent
from workrouter.contracts.agent_commands import ChangeAgent
from workrouter.contracts.agent_events import AgentProfileChanged
from workrouter.contracts.common import FieldError
from workrouter.contracts.envelope import make_event
from workrouter.domain.names import NAME_PATTERN
from workrouter.domain.routing.model import Presence
from workrouter.services.api.agent_bodies import QueueSwitchBody
from workrouter.services.api.agent_context import SOURCE, AgentApi, Caller, SupervisorCaller
from workrouter.services.api.errors import HttpError, problem
from workrouter.services.api.responses import documented, ok
from workrouter.services.openapi import ref, request_body

AgentId = Annotated[str, Path(description="The agent's id (lower case letters, digits, `_.-`).", max_length=64)]
CHANGED = ok("The agent as it is now, the change made and the directory's version.")


def agent_admin_routes(api: AgentApi) -> APIRouter:
    """The `/v1/supervisor/agents` routes of one app."""
    router = APIRouter(prefix="/v1/supervisor/agents", tags=["supervisor"])

    @router.get("", responses=documented(401, 403, s200=ok("The agents of your domains, live.")))
    async def list_agents(caller: SupervisorCaller) -> dict[str, Any]:
        """Every agent with a queue in your domains: its profile (as the directory or agents.yaml has it),
        whether a supervisor changed it, and its presence and load now."""
        return {"agents": await _views(api, caller)}

    @router.put(
        "/{agent_id}",
        responses=documented(400, 401, 403, 413, 422, s200=CHANGED),
        openapi_extra=request_body(ref(LiveAgent)),
    )
    async def put_agent(agent_id: AgentId, request: Request, caller: SupervisorCaller) -> JSONResponse:
        """Add an agent, or replace what an agent is (skills, queues, queues switched off, capacity)."""
        new = await api.body(request, LiveAgent)
        return await _change(api, caller, _checked_id(api, agent_id), new)

    @router.delete("/{agent_id}", responses=documented(401, 403, 404, 409, 422, s200=CHANGED))
    async def remove_agent(agent_id: AgentId, caller: SupervisorCaller) -> JSONResponse:
        """Remove an agent: logged out (its offers and claims go to others), given nothing new; what it has
        accepted or has parked for it stays until a supervisor takes it back or assigns it."""
        if agent_id == caller.agent_id:
            raise HttpError(problem(409, "you cannot remove yourself; another supervisor can"))
        if agent_id not in api.routing.agents:
            raise HttpError(problem(404, f"unknown agent {agent_id!r} (never configured, or removed already)"))
        return await _change(api, caller, agent_id, None)

    @router.put(
        "/{agent_id}/queues/{queue}",
        responses=documented(400, 401, 403, 404, 413, 422, s200=CHANGED),
        openapi_extra=request_body(ref(QueueSwitchBody)),
    )
    async def switch_queue(agent_id: AgentId, queue: str, request: Request, caller: SupervisorCaller) -> JSONResponse:
        """Switch one of the agent's queues on or off (it stays a member; off, it is given no work from it)."""
        body = await api.body(request, QueueSwitchBody)
        agent = await _current_of(api, agent_id)
        if agent is None:
            raise HttpError(problem(404, f"unknown agent {agent_id!r}"))
        if queue not in agent.queues:
            raise HttpError(problem(404, f"{agent_id} is not a member of queue {queue!r}; members: edit the agent"))
        off = [q for q in agent.inactive_queues if q != queue] + ([] if body.active else [queue])
        return await _change(api, caller, agent_id, agent.model_copy(update={"inactive_queues": sorted(off)}))

    return router


async def _views(api: AgentApi, caller: Caller) -> list[dict[str, Any]]:
    """The list's rows: each agent of the caller's domains with its presence and load."""
    directory = live_agents.decode(await api.store.live_agents())
    live = {snap[0].agent_id: snap for snap in await api.store.load_agents()}
    views = []
    for agent_id in sorted(api.routing.agents):
        agent = _current(api, agent_id, directory)
        if agent is None or not _domains(api, agent) & set(caller.domains):
            continue
        snap = live.get(agent_id)
        state = snap[1] if snap else None
        views.append(
            {
                "agent_id": agent_id,
                **agent.model_dump(),
                "source": "live" if agent_id in directory else "config",
                "presence": state.presence.value if state else "offline",
                "reason": state.reason if state else None,
                "load": dict(snap[2]) if snap else {},
            }
        )
    return views


def _current(api: AgentApi, agent_id: str, directory: live_agents.Directory) -> LiveAgent | None:
    """The agent as the directory has it, else as agents.yaml has it; None when removed or unknown."""
    if agent_id in directory:
        return directory[agent_id]
    profile = api.base_routing.agents.get(agent_id)
    return None if profile is None else LiveAgent.of_profile(profile)


async def _current_of(api: AgentApi, agent_id: str) -> LiveAgent | None:
    """`_current` for one agent, reading its directory entry only."""
    raw = await api.store.live_agent(agent_id)
    return _current(api, agent_id, {} if raw is None else live_agents.decode({agent_id: raw}))


def _domains(api: AgentApi, agent: LiveAgent) -> set[str]:
    queues = api.routing.queues
    return {queues[q].domain for q in agent.queues if q in queues}


def _checked_id(api: AgentApi, agent_id: str) -> str:
    if not re.fullmatch(NAME_PATTERN, agent_id):
        raise api.invalid("path.agent_id", f"{agent_id!r} is not an agent id: lower case letters, digits, _.- (≤ 64)")
    return agent_id


async def _change(api: AgentApi, caller: Caller, agent_id: str, new: LiveAgent | None) -> JSONResponse:
    """Check, keep, record and announce one change; 422 naming the field, 403 outside your domains."""
    if new is not None and (found := live_agents.problems(api.routing, new)):
        errors = [FieldError(loc=loc, msg=msg) for loc, msg in found]
        raise HttpError(problem(422, f"{errors[0].loc}: {errors[0].msg}", errors))
    old = await _current_of(api, agent_id)
    touched = sorted((_domains(api, new) if new else set()) | (_domains(api, old) if old else set()))
    outside = [d for d in touched if d not in caller.domains]
    if outside:
        msg = f"the change touches domain {', '.join(outside)}; you supervise {', '.join(caller.domains)}"
        raise HttpError(problem(403, msg))
    now = api.now()
    change: Literal["added", "changed", "removed"] = "removed" if new is None else "changed" if old else "added"
    if new is None:
        await api.store.set_presence(agent_id, Presence.OFFLINE, None, now)  # logged out; the routers follow
    version = await api.store.put_live_agent(agent_id, live_agents.encode(new))
    if new is not None:
        await api.store.put_profile(new.to_profile(agent_id))  # the reservation script's capacity, at once
    await api.refresh_directory()
    when = datetime.fromtimestamp(now, UTC)
    shown = new or old
    fact = AgentProfileChanged(
        agent_id=agent_id,
        domain=touched[0],
        change=change,
        by=caller.agent_id,
        **({} if new is None or shown is None else _facts(shown)),
    )
    await api.bus.publish(
        api.topics.agents, make_event(fact, source=SOURCE, key=touched[0], subject=agent_id, time=when)
    )
    for domain in touched:
        await api.publish(ChangeAgent(agent_id=agent_id, domain=domain, by=caller.agent_id), agent_id)
    body = {
        "agent_id": agent_id,
        "change": change,
        "version": version,
        "agent": None if new is None else new.model_dump(),
    }
    return JSONResponse(status_code=200, content=body)


def _facts(agent: LiveAgent) -> dict[str, Any]:
    return {
        "skills": dict(agent.skills),
        "queues": list(agent.queues),
        "inactive_queues": list(agent.inactive_queues),
        "capacity": dict(agent.capacity),
    }
