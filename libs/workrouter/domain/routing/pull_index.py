"""Where a queue entry is filed for the api's pull reads: sorted sets, their scores and members (pure).

The router keeps, next to each domain's entries (entry.py), sorted sets the api walks instead of
reading every entry (docs/decisions.md, "pull indexes"):

- per pull queue and skill class (the task's skill needs, exactly), two bands: STATIC, every waiting
  task scored -static_score, and URGENT, every waiting task with a due time scored -urgent_score. A
  task with a due time is in both: its priority now is the larger of the two (workbin.priority_pair),
  so walking the two bands merged, a task is met first where it ranks now, and neither band ever needs
  rescoring as time passes. An agent who lacks a class's skills (or has one below the class's level)
  may take none of its tasks in any tier: the api does not read that class at all;
- per agent, PARKED: the tasks parked in its personal workbin, all scored 0.

Ties of score are ordered by member, bytewise, and a member starts with the task's enqueued_at and seq
encoded so that bytewise order is their numeric order, then its id: the same tie-break as
workbin.order_key. After the id come the task's preferred agents, the one thing besides its class,
queue and age that decides whether an agent may take it: the api reads the entry only of tasks the
agent may take.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from functools import lru_cache

from workrouter.domain.priority import PriorityPolicy, static_score
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import SkillNeeds
from workrouter.domain.routing.workbin import DEFAULT_PRIORITY, urgent_score

STATIC, URGENT, PARKED = "static", "urgent", "parked"
SEPARATOR = "\x1f"  # between the id and the member's tail (ids never hold control characters)
_SIGN = 1 << 63
_ALL = (1 << 64) - 1
PREFIX = 32  # hex digits of enqueued_at and seq, at the start of every member


@dataclass(frozen=True, slots=True)
class IndexKey:
    """One sorted set of a domain: a band (STATIC, URGENT) of a pull queue's skill class, or an agent's
    personal workbin (PARKED)."""

    kind: str
    name: str  # the queue, or the agent
    skills: str = ""  # a band's skill class (class_of); "" for PARKED


@dataclass(frozen=True, slots=True)
class Member:
    """What a member says about its task."""

    enqueued_at: float
    seq: int
    task_id: str
    tail: str  # the preferred agents, as written (a cache key: most tasks have none)


def sortable(value: float) -> str:
    """16 hex digits whose bytewise order is the numeric order of the floats (-0.0 as 0.0)."""
    (bits,) = struct.unpack(">Q", struct.pack(">d", value + 0.0))
    return f"{(bits ^ _ALL) if bits & _SIGN else (bits | _SIGN):016x}"


def unsortable(digits: str) -> float:
    """The float `sortable` encoded."""
    bits = int(digits, 16)
    bits = (bits ^ _SIGN) if bits & _SIGN else (bits ^ _ALL)
    (value,) = struct.unpack(">d", struct.pack(">Q", bits))
    return float(value)


@lru_cache(maxsize=4096)
def class_of(needs: SkillNeeds) -> str:
    """A skill class as it names a band: the needs, sorted, as compact JSON."""
    return json.dumps(sorted([skill, level] for skill, level in needs), separators=(",", ":"))


def needs_of(skills: str) -> SkillNeeds:
    """The needs of a skill class (ValueError when it is not one)."""
    try:
        return tuple((str(skill), int(level)) for skill, level in json.loads(skills))
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a skill class: {skills[:80]!r}") from exc


def tail_of(preferred: tuple[str, ...]) -> str:
    """The member's tail: the preferred agents (their ids never hold a comma: config's NAME_PATTERN)."""
    return ",".join(preferred)


def read_tail(tail: str) -> tuple[str, ...]:
    """The preferred agents from a member's tail."""
    return tuple(tail.split(",")) if tail else ()


def prefix_of(entry: QueueEntry) -> str:
    """The first PREFIX characters of the entry's member: enqueued_at and seq, ordered as they are."""
    return f"{sortable(entry.enqueued_at)}{(entry.seq + _SIGN) & _ALL:016x}"


def member(entry: QueueEntry) -> str:
    """The entry's member in every sorted set it is filed in."""
    return f"{prefix_of(entry)}{entry.task_id}{SEPARATOR}{tail_of(entry.preferred)}"


def split_member(text: str) -> tuple[str, str, str]:
    """(prefix, task id, tail) of a member; ValueError when it is not one."""
    task_id, separator, tail = text[PREFIX:].partition(SEPARATOR)
    if len(text) < PREFIX or not separator or not task_id:
        raise ValueError(f"not a pull index member: {text[:80]!r}")
    return text[:PREFIX], task_id, tail


def read_member(text: str) -> Member:
    """A member read back; ValueError when it is not one."""
    prefix, task_id, tail = split_member(text)
    return Member(unsortable(prefix[:16]), int(prefix[16:], 16) - _SIGN, task_id, tail)


def placement(
    entry: QueueEntry, *, pull: bool, policy: PriorityPolicy = DEFAULT_PRIORITY
) -> list[tuple[IndexKey, float]]:
    """The sorted sets the entry belongs in, with its score in each: none in after-work; its agent's
    personal workbin when parked; its queue's bands when waiting in a pull queue (`pull`)."""
    if entry.after_work_until is not None:
        return []
    if entry.parked_for is not None:
        return [(IndexKey(PARKED, entry.parked_for), 0.0)]
    if not pull:
        return []
    skills = class_of(entry.needs)
    filed = [(IndexKey(STATIC, entry.queue, skills), -static_score(entry.base, entry.business_value, policy))]
    urgent = urgent_score(entry, policy)
    if urgent is not None:
        filed.append((IndexKey(URGENT, entry.queue, skills), -urgent))
    return filed


def every_place(entry: QueueEntry) -> list[IndexKey]:
    """Every sorted set the entry may be filed in, whatever its state (to take it out of all of them)."""
    skills = class_of(entry.needs)
    keys = [IndexKey(STATIC, entry.queue, skills)]
    if entry.due_at is not None:
        keys.append(IndexKey(URGENT, entry.queue, skills))
    if entry.parked_for is not None:
        keys.append(IndexKey(PARKED, entry.parked_for))
    return keys
