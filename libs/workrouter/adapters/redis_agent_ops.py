"""Turning the store's held writes and reads (`Write`, `Read`) into the commands of one Redis pipeline.

RedisAgentStore.apply queues them in order; scripts are sent with EVAL (see apply), writes that retire a
classification note the domain's trim for the end of the pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import redis.asyncio as redis
from redis.typing import EncodableT

from workrouter.adapters.redis_agent_records import (
    ReserveResult,
    decoded,
    hold_kind,
    holder_from,
    presence_from,
    text,
)
from workrouter.adapters.redis_keys import AgentKeys
from workrouter.adapters.redis_pull_index import PullIndexes
from workrouter.domain.routing.model import Presence

DOMAIN_WRITES = frozenset({"save_task", "drop_task", "index_task", "unindex_task", "retire", "let_go"})


@dataclass(frozen=True, slots=True)
class Write:
    """A change to the store held for `apply`: the name of the store method that makes it, and its arguments.

    One of save_task, drop_task, index_task, unindex_task, retire, convert, release, let_go, notify, set_presence."""

    op: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Read:
    """A question to the store asked after held writes by `apply`: the name of the store method, its arguments.

    One of reserve (which also changes the store), holder, held, get_presence, retired."""

    op: str
    args: tuple[Any, ...]


def _lua(name: str) -> str:
    return files("workrouter.adapters").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


class Scripts:
    """The store's Lua scripts, registered on one client."""

    def __init__(self, client: redis.Redis) -> None:
        self.reserve = client.register_script(_lua("reserve"))
        self.release = client.register_script(_lua("release"))
        self.convert = client.register_script(_lua("convert"))
        self.presence = client.register_script(_lua("presence"))
        self.entries = client.register_script(_lua("entries"))


class PipelineOps:
    """Queues each held op's commands on a pipeline; a read returns how to decode its reply."""

    def __init__(self, keys: AgentKeys, scripts: Scripts, index: PullIndexes) -> None:
        self.keys, self.scripts, self.index = keys, scripts, index

    def release_call(self, task_id: str, agent_id: str, freed_at: float | None) -> tuple[list[str], list[EncodableT]]:
        """The keys and arguments of the release script (with `freed_at`, the idle clock restarts)."""
        keys = [self.keys.holder(task_id), self.keys.load(agent_id), self.keys.held(agent_id)]
        args: list[EncodableT] = [agent_id, task_id]
        if freed_at is not None:
            keys.append(self.keys.agent(agent_id))
            args.append(freed_at)
        return keys, args

    def write(self, pipe: Any, write: Write, trims: dict[str, float]) -> None:
        """Queue one write; `trims` gathers, per domain, before when retirements are forgotten."""
        if write.op in DOMAIN_WRITES:
            self._domain_write(pipe, write, trims)
        else:
            self._agent_write(pipe, write)

    def _domain_write(self, pipe: Any, write: Write, trims: dict[str, float]) -> None:
        op, a = write.op, write.args
        if op == "save_task":
            domain, task_id, entry = a
            pipe.hset(self.keys.tasks(domain), task_id, json.dumps(entry, separators=(",", ":")))
        elif op == "drop_task":
            domain, task_id = a
            pipe.hdel(self.keys.tasks(domain), task_id)
        elif op == "index_task":
            domain, entry, pull = a
            self.index.file(pipe, domain, entry, pull=pull)
        elif op == "unindex_task":
            domain, entry = a
            self.index.unfile(pipe, domain, entry)
        elif op == "retire":
            domain, classified_id, now, keep_seconds = a
            pipe.zadd(self.keys.retired(domain), {classified_id: now})
            trims[domain] = max(trims.get(domain, float("-inf")), now - keep_seconds)
        else:  # let_go
            domain, task_id, agent_id, retire, *freed = a
            if retire is not None:
                self._domain_write(pipe, Write("retire", (domain, *retire)), trims)
            self._agent_write(pipe, Write("release", (task_id, agent_id, *freed)))
            self._domain_write(pipe, Write("drop_task", (domain, task_id)), trims)

    def _agent_write(self, pipe: Any, write: Write) -> None:
        op, a = write.op, write.args
        if op == "convert":
            task_id, agent_id, kind = a
            _eval(pipe, self.scripts.convert, [self.keys.holder(task_id)], [agent_id, hold_kind(kind)])
        elif op == "release":
            task_id, agent_id, *freed = a
            _eval(pipe, self.scripts.release, *self.release_call(task_id, agent_id, freed[0] if freed else None))
        elif op == "notify":
            agent_id, message = a
            pipe.publish(self.keys.inbox(agent_id), json.dumps(message, separators=(",", ":")))
        elif op == "set_presence":
            agent_id, presence, reason, now = a
            args: list[EncodableT] = [Presence(presence).value, "0" if reason is None else "1", reason or "", now]
            _eval(pipe, self.scripts.presence, [self.keys.agent(agent_id), self.keys.heartbeats], [*args, agent_id])
        else:
            raise ValueError(f"not a write of the agent store: {op!r}")

    def read(self, pipe: Any, read: Read) -> Callable[[Any], Any]:
        """Queue one read; how to decode its reply."""
        op, a = read.op, read.args
        if op == "reserve":
            agent_id, task_id, channel, kind, now, require_ready = a
            keys = [
                self.keys.agent(agent_id),
                self.keys.load(agent_id),
                self.keys.held(agent_id),
                self.keys.holder(task_id),
            ]
            args: list[EncodableT] = [task_id, channel, hold_kind(kind), now, "1" if require_ready else "0", agent_id]
            _eval(pipe, self.scripts.reserve, keys, args)
            return lambda r: ReserveResult(text(r))
        if op == "holder":
            (task_id,) = a
            pipe.hgetall(self.keys.holder(task_id))
            return lambda r: holder_from(decoded(r))
        if op == "held":
            (agent_id,) = a
            pipe.smembers(self.keys.held(agent_id))
            return lambda r: {text(m) for m in r}
        if op == "get_presence":
            (agent_id,) = a
            fields = ("presence", "reason", "since", "version")
            pipe.hmget(self.keys.agent(agent_id), list(fields))
            return lambda r: presence_from(dict(zip(fields, r, strict=True)))
        if op == "retired":
            domain, classified_id = a
            pipe.zscore(self.keys.retired(domain), classified_id)
            return lambda r: r is not None
        raise ValueError(f"not a read of the agent store: {op!r}")


def _eval(pipe: Any, script: Any, keys: Sequence[str], args: Sequence[EncodableT]) -> None:
    pipe.eval(script.script, len(keys), *keys, *args)
