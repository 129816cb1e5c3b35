"""What every agent and supervisor route shares: who calls, the clock, bodies, tasks, holds and publishing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from pydantic import BaseModel, ValidationError

from workrouter.adapters.redis_agent_records import Holder
from workrouter.bus.port import Bus
from workrouter.config import live_agents
from workrouter.config.routing import RoutingConfig
from workrouter.contracts.agent_commands import AgentCommand
from workrouter.contracts.common import FieldError
from workrouter.contracts.envelope import make_event
from workrouter.contracts.topics import TopicNames
from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile
from workrouter.services.api.agent_json import read_object
from workrouter.services.api.agent_ports import AgentStore, Inbox
from workrouter.services.api.errors import HttpError, field_errors, problem
from workrouter.services.api.rate_limits import RateLimits
from workrouter.services.api.sign_in import SignIn
from workrouter.services.api.task_holds import Ask, require_hold

SOURCE = "/workrouter/api"
BodyT = TypeVar("BodyT", bound=BaseModel)
Clock = Callable[[], float]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated agent (or supervisor) and the routing domains it works in: one, or several for a
    blended agent (decisions D21), `domain` being the first."""

    agent_id: str
    domain: str
    profile: AgentProfile
    supervisor: bool
    domains: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.domains:
            object.__setattr__(self, "domains", (self.domain,))


@dataclass(frozen=True, slots=True)
class StreamTimings:
    """How often an open event stream sends a keep-alive comment and records a heartbeat (seconds)."""

    keepalive_seconds: float = 15.0
    heartbeat_seconds: float = 5.0


class AgentApi:
    """The agent API's dependencies: routing configuration, live store, inboxes, bus and clock."""

    def __init__(
        self,
        routing: RoutingConfig,
        store: AgentStore,
        bus: Bus,
        topics: TopicNames,
        *,
        inbox: Inbox | None = None,
        clock: Clock = time.time,
        priority: PriorityPolicy | None = None,
        timings: StreamTimings | None = None,
        sign_in: SignIn | None = None,
        limits: RateLimits | None = None,
    ) -> None:
        self.base_routing = self.routing = routing  # agents.yaml; with the live directory applied
        self.live_version = 0
        self.store = store
        self.bus = bus
        self.topics = topics
        self.inbox = inbox
        self.clock = clock
        self.priority = priority or PriorityPolicy()
        self.timings = timings or StreamTimings()
        self.sign_in = sign_in or SignIn(routing)
        self.limits = limits or RateLimits(clock=clock)

    # who calls

    async def authenticate(self, authorization: str | None) -> Caller:
        """The agent the bearer token names (401, or 403 for a valid token of nobody here), counted against
        its rate limit (429)."""
        await self.refresh_directory()
        identity = await self.sign_in.identify(authorization)
        domains = self.routing.domains_of(identity.agent_id)
        if not domains:
            raise HttpError(problem(403, f"{identity.agent_id!r} works in no routing domain (agents.yaml)"))
        await self.limits.check("agent", identity.agent_id)
        supervisor = identity.supervisor
        if supervisor is None:
            supervisor = identity.agent_id in self.routing.supervisors
        profile = self.routing.agents[identity.agent_id]
        return Caller(identity.agent_id, domains[0], profile, supervisor, domains)

    async def refresh_directory(self) -> None:
        """Apply the live agent directory if it changed since last asked (one Redis read per request; the
        whole directory only when its version moved): agents added, edited or removed by supervisors."""
        version = await self.store.live_version()
        if version != self.live_version:
            directory = live_agents.decode(await self.store.live_agents())
            self.routing = live_agents.effective(self.base_routing, directory)
            self.sign_in.routing = self.routing
            self.live_version = version

    @staticmethod
    def require_supervisor(caller: Caller) -> Caller:
        """The caller, if a supervisor; 403 otherwise."""
        if not caller.supervisor:
            raise HttpError(problem(403, f"{caller.agent_id} is not a supervisor; this needs a supervisor's token"))
        return caller

    # requests

    def now(self) -> float:
        """The clock's time (epoch seconds)."""
        return self.clock()

    async def body(self, request: Request, model: type[BodyT], *, optional: bool = False) -> BodyT:
        """The request body as `model`: 400 when not JSON, 422 with field paths when invalid or not storable."""
        doc = await read_object(request, optional=optional)
        try:
            return model.model_validate(doc)
        except ValidationError as exc:
            raise HttpError(problem(422, "invalid request", field_errors(exc, "body"))) from None

    @staticmethod
    def invalid(loc: str, msg: str) -> HttpError:
        """A 422 naming one field."""
        return HttpError(problem(422, f"{loc}: {msg}", [FieldError(loc=loc, msg=msg)]))

    # tasks and holds

    async def entry(self, domain: str, task_id: str) -> tuple[QueueEntry | None, dict[str, Any] | None]:
        """The task's queue entry in the domain (parsed, and as stored), or (None, None)."""
        raw = await self.store.get_task(domain, task_id)
        if raw is None:
            return None, None
        try:
            return QueueEntry.from_json(raw), raw
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("queue entry of task %s is unreadable: %r", task_id, exc)
            return None, raw

    async def find(self, caller: Caller, task_id: str) -> tuple[str, QueueEntry | None, dict[str, Any] | None]:
        """The caller's domain that queues the task, with its entry (parsed, and as stored); the first of the
        caller's domains and (None, None) when none does."""
        for domain in caller.domains:
            entry, raw = await self.entry(domain, task_id)
            if raw is not None:
                return domain, entry, raw
        return caller.domain, None, None

    async def own_hold(self, caller: Caller, task_id: str, kinds: tuple[str, ...], action: str) -> tuple[Holder, str]:
        """The caller's hold on the task, of one of `kinds`, and the domain of the task (where commands about
        it go): 404 unknown, 403 someone else's, 409 wrong state (waiting, parked, finished, no longer queued,
        or held another way); see task_holds."""
        holder = await self.store.holder(task_id)
        domain, _, raw = await self.find(caller, task_id)
        return require_hold(Ask(task_id, caller.agent_id, domain, kinds, action), holder, raw), domain

    async def holds(self, caller: Caller) -> list[tuple[str, Holder, QueueEntry | None]]:
        """The caller's holds (offers, claims, assignments) with their queue entries, by task id."""
        held = sorted(await self.store.held(caller.agent_id))
        holders = await self.store.holders(held)
        found: list[tuple[str, Holder, QueueEntry | None]] = []
        for task_id in held:
            holder = holders.get(task_id)
            if holder is not None and holder.agent_id == caller.agent_id:
                found.append((task_id, holder, (await self.find(caller, task_id))[1]))
        return found

    # publishing

    async def publish(self, command: AgentCommand, subject: str) -> None:
        """Put the command on `wr.routing`, keyed by its routing domain (for a command about a task, the task's)."""
        when = datetime.fromtimestamp(self.now(), UTC)
        event = make_event(command, source=SOURCE, key=command.domain, subject=subject, time=when)
        await self.bus.publish(self.topics.routing, event)


async def current_agent(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """FastAPI dependency: the agent owning the bearer token."""
    api: AgentApi = request.app.state.agent_api
    return await api.authenticate(authorization)


def current_supervisor(caller: Annotated[Caller, Depends(current_agent)]) -> Caller:
    """FastAPI dependency: the supervisor owning the bearer token (403 for an agent who is not one)."""
    return AgentApi.require_supervisor(caller)


AgentCaller = Annotated[Caller, Depends(current_agent)]
SupervisorCaller = Annotated[Caller, Depends(current_supervisor)]
