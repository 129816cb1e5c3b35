"""Live agent state in Redis: profiles, presence, capacity load and task holders, changed by atomic Lua scripts.

The keys are laid out in redis_keys.py.

A reserve touches the agent's keys and the task's holder key in one script, and a presence change touches
the agent and the heartbeat set, so this store needs a single Redis node (a primary, with replicas for
failover), not a Redis Cluster. The hash tags keep per-agent keys together should that ever change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import redis.asyncio as redis
from redis.typing import EncodableT, FieldT

from workrouter.adapters.redis_agent_ops import PipelineOps, Read, Scripts, Write
from workrouter.adapters.redis_agent_records import (
    AgentSnapshot,
    Holder,
    HoldKind,
    IdleClock,
    PresenceState,
    ReserveResult,
    decoded,
    hold_kind,
    holder_from,
    presence_from,
    profile_from,
    text,
)
from workrouter.adapters.redis_keys import AgentKeys
from workrouter.adapters.redis_live_agents import LiveDirectory
from workrouter.adapters.redis_pull_index import PullIndexes
from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import AgentProfile, Presence
from workrouter.domain.routing.pull_walk import Page

_CHUNK = 500
# At most this many retired classifications per domain (about 144 MB at 144 B each): at 12 tasks/s a day of
# them, at 300 tasks/s the last 55 minutes. docs/router-service.md "Idempotency" says what lies beyond.
MAX_RETIRED = 1_000_000


def _time(value: Any) -> float | None:
    return None if value is None else float(value)


class RedisAgentStore(LiveDirectory):
    """Agent presence, load and task holders in Redis; works with clients with or without decode_responses."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "wr",
        *,
        max_retired: int = MAX_RETIRED,
        priority: PriorityPolicy | None = None,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._keys = AgentKeys(prefix)
        self._max_retired = max_retired
        self._index = PullIndexes(prefix, priority or PriorityPolicy())
        self._scripts = Scripts(client)
        self._ops = PipelineOps(self._keys, self._scripts, self._index)

    # profiles and presence

    async def put_profile(self, profile: AgentProfile) -> None:
        """Store (or replace) an agent's profile; presence, load and holds are kept."""
        fields: dict[FieldT, EncodableT] = {
            "capacity": json.dumps(dict(sorted(profile.capacity.items()))),
            "exclusive": json.dumps(sorted(profile.exclusive_channels)),
            "skills": json.dumps(dict(sorted(profile.skills.items()))),
            "queues": json.dumps(sorted(profile.queues)),
            "auto_answer": "1" if profile.auto_answer else "0",
        }
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.agent(profile.agent_id), mapping=fields)
            pipe.sadd(self._keys.agents, profile.agent_id)
            await pipe.execute()

    async def get_profile(self, agent_id: str) -> AgentProfile | None:
        """The agent's profile, or None when none is stored."""
        return profile_from(agent_id, decoded(await self._client.hgetall(self._keys.agent(agent_id))))

    async def set_presence(self, agent_id: str, presence: Presence, reason: str | None, now: float) -> int:
        """Set the presence; returns its version, bumped by 1 when presence or reason changed (else unchanged).

        A change resets `since` to `now`. Going offline removes the agent from the heartbeat set; coming
        online adds it with `now` as its last heartbeat.
        """
        args: list[EncodableT] = [Presence(presence).value, "0" if reason is None else "1", reason or "", now, agent_id]
        return int(await self._scripts.presence(keys=[self._keys.agent(agent_id), self._keys.heartbeats], args=args))

    async def get_presence(self, agent_id: str) -> PresenceState:
        """(presence, reason, since, version); (OFFLINE, None, 0.0, 0) when never set."""
        values = await self._client.hmget(self._keys.agent(agent_id), ["presence", "reason", "since", "version"])
        return presence_from(dict(zip(("presence", "reason", "since", "version"), values, strict=True)))

    # holds

    async def reserve(
        self, agent_id: str, task_id: str, channel: str, kind: HoldKind, now: float, *, require_ready: bool = True
    ) -> ReserveResult:
        """Atomically hold the task for the agent on the channel, or say why not.

        Checked in this order: UNKNOWN_AGENT (no profile), TAKEN (any agent, this one included, holds the
        task), NOT_READY (`require_ready` and presence is not READY), NO_CAPACITY (`channel_free()` says no).
        On OK the channel load is incremented, the holder record written and the task added to the agent's
        held set, all in one Lua script, so racing claims and offers can never double-hold or overfill.
        """
        keys = [
            self._keys.agent(agent_id),
            self._keys.load(agent_id),
            self._keys.held(agent_id),
            self._keys.holder(task_id),
        ]
        args: list[EncodableT] = [task_id, channel, hold_kind(kind), now, "1" if require_ready else "0", agent_id]
        return ReserveResult(text(await self._scripts.reserve(keys=keys, args=args)))

    async def convert(self, task_id: str, agent_id: str, kind: HoldKind) -> bool:
        """Change the kind of the hold (e.g. offer -> assign) if this agent holds the task; `since` is kept."""
        return bool(await self._scripts.convert(keys=[self._keys.holder(task_id)], args=[agent_id, hold_kind(kind)]))

    async def release(self, task_id: str, agent_id: str, freed_at: float | None = None) -> bool:
        """Atomically drop the hold if this agent holds the task (load never below 0); False and no change else.
        With `freed_at` (the task ended, rather than went back to the queue) the agent's idle clock restarts."""
        keys, args = self._ops.release_call(task_id, agent_id, freed_at)
        return bool(await self._scripts.release(keys=keys, args=args))

    async def idle_clocks(self, agent_ids: Sequence[str]) -> dict[str, IdleClock]:
        """Each agent's idle clock: when it was last given a task, and last had one end (one round trip per 500)."""
        clocks: dict[str, IdleClock] = {}
        for start in range(0, len(agent_ids), _CHUNK):
            chunk = list(agent_ids[start : start + _CHUNK])
            async with self._client.pipeline(transaction=False) as pipe:
                for agent_id in chunk:
                    pipe.hmget(self._keys.agent(agent_id), ["given_at", "freed_at"])
                rows = await pipe.execute()
            for agent_id, (given, freed) in zip(chunk, rows, strict=True):
                clocks[agent_id] = IdleClock(_time(given), _time(freed))
        return clocks

    async def holder(self, task_id: str) -> Holder | None:
        """Who holds the task, or None."""
        return holder_from(decoded(await self._client.hgetall(self._keys.holder(task_id))))

    async def holders(self, task_ids: Iterable[str]) -> dict[str, Holder]:
        """The holders of those of the tasks that are held (one round trip per 500 tasks)."""
        ids = list(task_ids)
        found: dict[str, Holder] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            async with self._client.pipeline(transaction=False) as pipe:
                for task_id in chunk:
                    pipe.hgetall(self._keys.holder(task_id))
                rows = await pipe.execute()
            for task_id, row in zip(chunk, rows, strict=True):
                if (held := holder_from(decoded(row))) is not None:
                    found[task_id] = held
        return found

    async def load(self, agent_id: str) -> dict[str, int]:
        """Channel -> tasks the agent holds on it (channels at 0 are absent)."""
        return {k: int(v) for k, v in decoded(await self._client.hgetall(self._keys.load(agent_id))).items()}

    async def held(self, agent_id: str) -> set[str]:
        """The ids of the tasks the agent holds."""
        return {text(m) for m in await self._client.smembers(self._keys.held(agent_id))}

    # liveness

    async def heartbeat(self, agent_id: str, now: float) -> bool:
        """Record a heartbeat (never moving it back in time); False when the agent is offline (not recorded)."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zadd(self._keys.heartbeats, {agent_id: now}, xx=True, gt=True)
            pipe.zscore(self._keys.heartbeats, agent_id)
            _, score = await pipe.execute()
        return score is not None

    async def stale_agents(self, now: float, timeout_seconds: float) -> list[str]:
        """Agents not offline whose last heartbeat is older than `now - timeout_seconds`, oldest first."""
        members = await self._client.zrangebyscore(self._keys.heartbeats, "-inf", f"({now - timeout_seconds!r}")
        return [text(m) for m in members]

    # rebuild after failover

    async def save_task(self, domain: str, task_id: str, entry: dict[str, Any]) -> None:
        """Store (or replace) a queued task's entry (JSON) in its domain's hash, filed in the pull indexes as
        in a pull queue (the router's own writes say whether the queue pulls: `Write("index_task", ...)`,
        with the entry as a QueueEntry or its JSON)."""
        await self.apply([Write("save_task", (domain, task_id, entry)), Write("index_task", (domain, entry, True))])

    async def drop_task(self, domain: str, task_id: str) -> bool:
        """Remove a task's entry and its members in the pull indexes; True when there was one."""
        old = await self.get_task(domain, task_id)
        async with self._client.pipeline(transaction=True) as pipe:
            if old is not None:
                self._index.unfile(pipe, domain, old)
            pipe.hdel(self._keys.tasks(domain), task_id)
            results = await pipe.execute()
        return bool(results[-1])

    async def retire(self, domain: str, classified_id: str, now: float, keep_seconds: float) -> None:
        """Note that the domain is done with a classification (its task ended, left or was re-filed), and
        forget those noted more than `keep_seconds` ago and all but the newest `max_retired`: a copy
        redelivered after that is taken as new."""
        await self.apply([Write("retire", (domain, classified_id, now, keep_seconds))], atomic=True)

    async def let_go(
        self,
        domain: str,
        task_id: str,
        agent_id: str,
        retire: tuple[str, float, float] | None,
        freed_at: float | None = None,
    ) -> None:
        """A finished task leaves the domain in one transaction (one round trip, nothing half done after a
        crash): its classification retired (`retire` = (id, now, keep_seconds), as `retire` does), the
        agent's hold released (as `release`, with `freed_at`), its entry dropped."""
        await self.apply([Write("let_go", (domain, task_id, agent_id, retire, freed_at))], atomic=True)

    async def retired(self, domain: str, classified_id: str) -> bool:
        """True when the domain has finished with this classification already."""
        return await self._client.zscore(self._keys.retired(domain), classified_id) is not None

    async def retired_among(self, domain: str, classified_ids: Sequence[str]) -> set[str]:
        """Those of the classifications the domain has finished with (ZMSCORE, in chunks)."""
        found: set[str] = set()
        for start in range(0, len(classified_ids), _CHUNK):
            chunk = list(classified_ids[start : start + _CHUNK])
            scores = await self._client.zmscore(self._keys.retired(domain), chunk)
            found |= {c for c, score in zip(chunk, scores, strict=True) if score is not None}
        return found

    async def take_over(self, domain: str) -> int:
        """Count a takeover of the domain (a router about to rebuild it from here); the new count."""
        return int(await self._client.incr(self._keys.owner(domain)))

    async def takeovers(self, domain: str) -> int:
        """How many times the domain has been taken over (0: never)."""
        return int(await self._client.get(self._keys.owner(domain)) or 0)

    async def get_task(self, domain: str, task_id: str) -> dict[str, Any] | None:
        """One task's entry, or None."""
        value = await self._client.hget(self._keys.tasks(domain), task_id)
        return None if value is None else dict(json.loads(value))

    # many changes, one round trip

    async def apply(self, ops: Sequence[Write | Read], *, atomic: bool = False) -> list[Any]:
        """Carry out `ops` in order in one pipeline (one round trip); the answers of the reads among them, in
        order, each as its method would give it. With `atomic`, in one MULTI/EXEC (nothing half done).

        Without `atomic` (the router's rounds) Redis still runs them in order, and other clients' commands
        may come in between, as they could between separate calls; a MULTI would double the replies to
        parse (one QUEUED per command). A domain's retired set is trimmed once per call, after the ops: by
        the latest time among them (`retire`'s rule, not once per retirement), then to the newest
        `max_retired` (so its memory is bounded whatever the rate).

        Scripts are sent with EVAL, not EVALSHA: a script cache emptied by a Redis restart then costs
        nothing, where EVALSHA would fail after the commands before it ran."""
        decoders: list[tuple[int, Callable[[Any], Any]]] = []
        trims: dict[str, float] = {}  # domain -> forget retirements before this time
        async with self._client.pipeline(transaction=atomic) as pipe:
            for op in ops:
                if isinstance(op, Read):
                    decoders.append((len(pipe), self._ops.read(pipe, op)))
                else:
                    self._ops.write(pipe, op, trims)
            for domain, before in trims.items():
                pipe.zremrangebyscore(self._keys.retired(domain), "-inf", before)
                pipe.zremrangebyrank(self._keys.retired(domain), 0, -(self._max_retired + 1))
            results = await pipe.execute() if len(pipe) else []
        return [decode(results[at]) for at, decode in decoders]

    # the agent's inbox (live notifications to its open event streams)

    def inbox(self, agent_id: str) -> str:
        """The pub/sub channel of the agent's notifications."""
        return self._keys.inbox(agent_id)

    async def notify(self, agent_id: str, message: dict[str, Any]) -> None:
        """Publish a notification to the agent's open streams (none listening: it is dropped; the
        stream shows the agent's current holds when it connects, so nothing held is missed)."""
        await self.apply([Write("notify", (agent_id, message))])

    async def load_tasks(self, domain: str) -> dict[str, dict[str, Any]]:
        """Every entry of the domain (read with HSCAN, so a large domain does not block Redis)."""
        entries: dict[str, dict[str, Any]] = {}
        async for task_id, value in self._client.hscan_iter(self._keys.tasks(domain), count=1000):
            entries[text(task_id)] = json.loads(value)
        return entries

    # the pull indexes (redis_pull_index.py)

    async def index_classes(self, domain: str, queues: Sequence[str]) -> dict[str, set[str]]:
        """Each pull queue's skill classes in the domain's pull indexes, in one round trip."""
        return await self._index.classes(self._client, domain, queues)

    async def index_pages(self, domain: str, pages: Sequence[Page]) -> list[list[tuple[str, float]]]:
        """(member, score) of each page of the domain's pull indexes, in one round trip."""
        return await self._index.pages(self._client, domain, pages)

    async def entries_held(self, domain: str, task_ids: Sequence[str]) -> dict[str, tuple[dict[str, Any] | None, bool]]:
        """task id -> (its entry or None, whether an agent holds it), in one round trip."""
        if not task_ids:
            return {}
        keys = [self._keys.tasks(domain), *(self._keys.holder(t) for t in task_ids)]
        values, held = await self._scripts.entries(keys=keys, args=list(task_ids))
        return {
            task_id: (None if value is None else dict(json.loads(value)), bool(is_held))
            for task_id, value, is_held in zip(task_ids, values, held, strict=True)
        }

    async def reconcile_index(self, domain: str, filed: Mapping[str, tuple[QueueEntry, bool]]) -> tuple[int, int]:
        """Make the domain's pull indexes hold exactly `filed` (task id -> (entry, in a pull queue and not
        held)); (members written, members removed). A takeover's: it reads every member once."""
        return await self._index.reconcile(self._client, domain, filed)

    async def load_agents(self) -> list[AgentSnapshot]:
        """(profile, presence, load, held) of every agent with a profile, sorted by agent id.

        Each batch of 500 agents is read in one MULTI/EXEC, so an agent's load and held set agree.
        """
        ids = sorted({text(m) async for m in self._client.sscan_iter(self._keys.agents, count=1000)})
        snapshots: list[AgentSnapshot] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            async with self._client.pipeline(transaction=True) as pipe:
                for agent_id in chunk:
                    pipe.hgetall(self._keys.agent(agent_id))
                    pipe.hgetall(self._keys.load(agent_id))
                    pipe.smembers(self._keys.held(agent_id))
                rows = await pipe.execute()
            for i, agent_id in enumerate(chunk):
                fields = decoded(rows[3 * i])
                profile = profile_from(agent_id, fields)
                if profile is None:  # profile key deleted since the id was listed
                    continue
                load = {k: int(v) for k, v in decoded(rows[3 * i + 1]).items()}
                snapshots.append((profile, presence_from(fields), load, {text(m) for m in rows[3 * i + 2]}))
        return snapshots
