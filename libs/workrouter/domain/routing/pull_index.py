"""Where a queue entry is filed for the api's pull reads: sorted sets, their scores and members (pure).

The router keeps, next to each domain's entries (entry.py), sorted sets the api walks instead of
reading every entry (docs/decisions.md, "pull indexes"):

- per pull queue, two bands: STATIC, every waiting task scored -static_score, and URGENT, every
  waiting task with a due time scored -urgent_score. A task with a due time is in both: its priority
  now is the larger of the two (workbin.priority_pair), so walking the two bands merged, a task is
  met first where it ranks now, and neither band ever needs rescoring as time passes;
- per agent, PARKED: the tasks parked in its personal workbin, all scored 0.

Ties of score are ordered by member, bytewise, and a member starts with the task's enqueued_at and seq
encoded so that bytewise order is their numeric order, then its id: the same tie-break as
workbin.order_key. After the id come the task's skill needs and preferred agents, so that the api can
tell whether an agent may take the task from the member alone and read the entry only for those it may.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from workrouter.domain.priority import PriorityPolicy, static_score
from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.model import SkillNeeds
from workrouter.domain.routing.workbin import DEFAULT_PRIORITY, urgent_score

STATIC, URGENT, PARKED = "static", "urgent", "parked"
SEPARATOR = "\x1f"  # between the id and the member's tail (ids never hold control characters)
_SIGN = 1 << 63
_ALL = (1 << 64) - 1
_PREFIX = 32  # hex digits of enqueued_at and seq


@dataclass(frozen=True, slots=True)
class IndexKey:
    """One sorted set of a domain: a pull queue's band (STATIC, URGENT) or an agent's personal workbin (PARKED)."""

    kind: str
    name: str  # the queue, or the agent


@dataclass(frozen=True, slots=True)
class Member:
    """What a member says about its task."""

    enqueued_at: float
    seq: int
    task_id: str
    tail: str  # the needs and preferred agents, as written (a cache key: most tasks share a few)


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


def tail_of(needs: SkillNeeds, preferred: tuple[str, ...]) -> str:
    """The member's tail: what the api needs to know whether an agent may take the task."""
    return json.dumps([[list(pair) for pair in needs], list(preferred)], separators=(",", ":"))


def read_tail(tail: str) -> tuple[SkillNeeds, tuple[str, ...]]:
    """(needs, preferred) from a member's tail."""
    needs, preferred = json.loads(tail)
    return tuple((str(skill), int(level)) for skill, level in needs), tuple(str(a) for a in preferred)


def member(entry: QueueEntry) -> str:
    """The entry's member in every sorted set it is filed in."""
    seq = f"{(entry.seq + _SIGN) & _ALL:016x}"
    return f"{sortable(entry.enqueued_at)}{seq}{entry.task_id}{SEPARATOR}{tail_of(entry.needs, entry.preferred)}"


def read_member(text: str) -> Member:
    """A member read back; ValueError when it is not one."""
    task_id, separator, tail = text[_PREFIX:].partition(SEPARATOR)
    if len(text) < _PREFIX or not separator or not task_id:
        raise ValueError(f"not a pull index member: {text[:80]!r}")
    seq = int(text[16:_PREFIX], 16) - _SIGN
    return Member(unsortable(text[:16]), seq, task_id, tail)


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
    filed = [(IndexKey(STATIC, entry.queue), -static_score(entry.base, entry.business_value, policy))]
    urgent = urgent_score(entry, policy)
    if urgent is not None:
        filed.append((IndexKey(URGENT, entry.queue), -urgent))
    return filed


def every_place(entry: QueueEntry) -> list[IndexKey]:
    """Every sorted set the entry may be filed in, whatever its state (to take it out of all of them)."""
    keys = [IndexKey(STATIC, entry.queue), IndexKey(URGENT, entry.queue)]
    if entry.parked_for is not None:
        keys.append(IndexKey(PARKED, entry.parked_for))
    return keys
