"""The pull indexes in Redis: the sorted sets of domain/routing/pull_index.py, written in the router's pipelines
and read by the api a page at a time.

Keys under `prefix` (domain, queue and agent names never hold a colon: config's NAME_PATTERN; <class> is
pull_index.class_of, the skill needs as JSON):
    {p}:pull:<domain>:<queue>:static:<class>  zset  waiting tasks of a pull queue's class, scored -static_score
    {p}:pull:<domain>:<queue>:urgent:<class>  zset  those with a due time, scored -urgent_score
    {p}:pullclasses:<domain>:<queue>          set   the classes of the queue that have (or had) bands
    {p}:parked:<domain>:<agent>               zset  tasks parked in the agent's personal workbin, scored 0
members: pull_index.member (enqueued_at, seq, task id, preferred agents). A class stays listed when its
bands empty (the api reads two empty pages) until a takeover's reconcile drops it.

The router files an entry as it saves it and takes it out before it drops it or files it elsewhere, in the
same pipeline (no extra round trip), and takes a task out of its queue's bands while an agent holds it. A
takeover files every entry again (`reconcile`). The api never writes here, and checks every member it
uses against the entry and the task's holder record: a member left behind costs a look, never a wrong
answer; a waiting task missing from its bands would be hidden, which is what the writes above prevent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as redis

from workrouter.adapters.redis_agent_records import text
from workrouter.domain.priority import PriorityPolicy
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.pull_index import (
    PARKED,
    STATIC,
    IndexKey,
    every_place,
    member,
    placement,
)
from workrouter.domain.routing.pull_walk import Page

_CHUNK = 500


class PullIndexes:
    """The key names of one prefix, and what the router's pipelines and the api's reads do with them."""

    def __init__(self, prefix: str, policy: PriorityPolicy) -> None:
        self.prefix = prefix
        self.policy = policy

    def key(self, domain: str, index: IndexKey) -> str:
        """The Redis key of one of the domain's sorted sets."""
        if index.kind == PARKED:
            return f"{self.prefix}:parked:{domain}:{index.name}"
        return f"{self.prefix}:pull:{domain}:{index.name}:{index.kind}:{index.skills}"

    def classes_key(self, domain: str, queue: str) -> str:
        """The Redis key of the set of a pull queue's skill classes."""
        return f"{self.prefix}:pullclasses:{domain}:{queue}"

    def patterns(self, domain: str) -> list[str]:
        """SCAN patterns matching every sorted set of the domain's pull indexes and no other key."""
        p, d = _glob(self.prefix), _glob(domain)
        return [f"{p}:pull:{d}:*", f"{p}:parked:{d}:*"]

    # writes (queued on the caller's pipeline)

    def file(self, pipe: Any, domain: str, entry: QueueEntry | dict[str, Any], *, pull: bool) -> None:
        """File the entry (or its JSON) where it belongs (nothing when it is not a readable entry)."""
        parsed = _entry(entry)
        if parsed is None:
            return
        text_member = member(parsed)
        for index, score in placement(parsed, pull=pull, policy=self.policy):
            pipe.zadd(self.key(domain, index), {text_member: score})
            if index.kind == STATIC:
                pipe.sadd(self.classes_key(domain, index.name), index.skills)

    def unfile(self, pipe: Any, domain: str, entry: QueueEntry | dict[str, Any]) -> None:
        """Take the entry (or its JSON) out of every sorted set it may be filed in."""
        parsed = _entry(entry)
        if parsed is None:
            return
        text_member = member(parsed)
        for index in every_place(parsed):
            pipe.zrem(self.key(domain, index), text_member)

    # reads (the api's)

    async def classes(self, client: redis.Redis, domain: str, queues: Sequence[str]) -> dict[str, set[str]]:
        """Each queue's skill classes, in one round trip."""
        async with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.smembers(self.classes_key(domain, queue))
            rows = await pipe.execute()
        return {queue: {text(c) for c in row} for queue, row in zip(queues, rows, strict=True)}

    async def pages(self, client: redis.Redis, domain: str, pages: Sequence[Page]) -> list[list[tuple[str, float]]]:
        """(member, score) of each page, in one round trip."""
        if not pages:
            return []
        async with client.pipeline(transaction=False) as pipe:
            for page in pages:
                pipe.zrange(self.key(domain, page.key), page.start, page.start + page.count - 1, withscores=True)
            rows = await pipe.execute()
        return [[(text(m), float(score)) for m, score in page_rows] for page_rows in rows]

    # a takeover

    async def reconcile(
        self, client: redis.Redis, domain: str, filed: Mapping[str, tuple[QueueEntry, bool]]
    ) -> tuple[int, int]:
        """Make the domain's sorted sets (and class lists) hold exactly the entries `filed` (task id -> (entry,
        pull), as for `file`); (members written, members removed). Reads every member of the domain's sets
        once; holds the members it expects in memory meanwhile (about 200 bytes each)."""
        wanted: dict[str, dict[str, float]] = {}
        classes: dict[str, set[str]] = {}
        for entry, pull in filed.values():
            places = placement(entry, pull=pull, policy=self.policy)
            if places:
                text_member = member(entry)
                for index, score in places:
                    wanted.setdefault(self.key(domain, index), {})[text_member] = score
                    if index.kind == STATIC:
                        classes.setdefault(self.classes_key(domain, index.name), set()).add(index.skills)
        keys = set(wanted)
        for pattern in self.patterns(domain):
            keys |= {text(k) async for k in client.scan_iter(match=pattern, count=1000)}
        written = removed = 0
        for key in sorted(keys):
            adds, removals = await _sync(client, key, wanted.pop(key, {}))
            written, removed = written + adds, removed + removals
        await self._list_classes(client, domain, classes)
        return written, removed

    async def _list_classes(self, client: redis.Redis, domain: str, wanted: dict[str, set[str]]) -> None:
        """Each pull queue's list of classes: exactly those with a band."""
        pattern = f"{_glob(self.prefix)}:pullclasses:{_glob(domain)}:*"
        keys = {text(k) async for k in client.scan_iter(match=pattern, count=1000)} | set(wanted)
        async with client.pipeline(transaction=True) as pipe:  # a reader never sees a list half made
            for key in sorted(keys):
                pipe.delete(key)
                if wanted.get(key):
                    pipe.sadd(key, *sorted(wanted[key]))
            await pipe.execute()


async def _sync(client: redis.Redis, key: str, want: dict[str, float]) -> tuple[int, int]:
    """Make one sorted set hold exactly `want` (member -> score); (members written, members removed)."""
    removals: list[str] = []
    for found, score in await _members(client, key):
        if want.get(found) == score:
            del want[found]
        else:
            removals.append(found)
    adds = list(want.items())
    for start in range(0, len(removals), _CHUNK):  # removals first: a member may be written back
        await client.zrem(key, *removals[start : start + _CHUNK])
    for start in range(0, len(adds), _CHUNK):
        await client.zadd(key, dict(adds[start : start + _CHUNK]))
    return len(adds), len(removals)


async def _members(client: redis.Redis, key: str) -> list[tuple[str, float]]:
    """Every (member, score) of a sorted set, read by rank in pipelined pages (nobody else writes it meanwhile:
    the router owns the domain, the api only reads)."""
    size = int(await client.zcard(key))
    page = 10_000
    found: list[tuple[str, float]] = []
    for first in range(0, size, page * 10):
        async with client.pipeline(transaction=False) as pipe:
            for start in range(first, min(first + page * 10, size), page):
                pipe.zrange(key, start, start + page - 1, withscores=True)
            for rows in await pipe.execute():
                found += [(text(m), float(score)) for m, score in rows]
    return found


def _entry(raw: QueueEntry | dict[str, Any]) -> QueueEntry | None:
    if isinstance(raw, QueueEntry):
        return raw
    try:
        return QueueEntry.from_json(dict(raw))
    except (KeyError, TypeError, ValueError):
        return None


def _glob(name: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", name)
