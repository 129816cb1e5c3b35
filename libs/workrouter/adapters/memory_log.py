"""The partition logs of the in-process bus, and how they are rebuilt from its journal after a restart."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from workrouter.adapters.bus_journal import Replay
from workrouter.adapters.journal_frames import JournalRecord, Position
from workrouter.contracts.topics import TopicSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Record:
    """A record as a partition holds it."""

    key: str | None
    value: bytes
    type: str | None = None  # the event's type when published as an envelope (None after a journal replay)


class PartitionLog:
    """One partition: records from offset `base` on (earlier ones were handled by every group and dropped)."""

    __slots__ = ("base", "records")

    def __init__(self, base: int = 0, records: list[Record] | None = None) -> None:
        self.base = base
        self.records: list[Record] = records or []

    @property
    def end(self) -> int:
        """The offset the next record gets."""
        return self.base + len(self.records)

    def at(self, offset: int, count: int = 1) -> list[Record]:
        """Up to `count` records from `offset` on."""
        start = offset - self.base
        return self.records[start : start + count]

    def trim(self, upto: int) -> None:
        """Drop the records before offset `upto`."""
        drop = min(upto, self.end) - self.base
        if drop > 0:
            del self.records[:drop]
            self.base += drop


def rebuild(
    topic: str,
    partition: int,
    replayed: Iterable[JournalRecord],
    committed: Mapping[Position, int],
    readers: Iterable[str],
) -> PartitionLog:
    """One partition as it stood, from its journalled records (in offset order) and the committed offsets.

    Records every reading group had committed are left out; offsets stay what they were, so the
    committed offsets still point at the right records and new records continue the numbering.
    """
    ends = [o for (_, t, p), o in committed.items() if t == topic and p == partition]
    positions = [committed.get((group, topic, partition), 0) for group in readers]
    low = min(positions, default=0)
    kept: list[JournalRecord] = []
    last = max(ends, default=0)
    for record in replayed:
        last = max(last, record.offset + 1)
        if record.offset < low:
            continue
        if kept and record.offset != kept[-1].offset + 1:
            # Only when a group was added since: the records before the gap were handled by every group then.
            log.info("bus journal: %s[%d] resumes at offset %d after a gap", topic, partition, record.offset)
            kept = []
        kept.append(record)
    if not kept:
        return PartitionLog(base=last)
    return PartitionLog(base=kept[0].offset, records=[Record(r.key, r.value) for r in kept])


def restore(
    specs: Iterable[TopicSpec], replay: Replay, readers: Mapping[str, Sequence[str]]
) -> dict[str, list[PartitionLog]]:
    """Every topic's partitions rebuilt from what the journal replayed, for the groups that read each topic."""
    return {
        spec.name: [
            rebuild(spec.name, p, replay.records.get((spec.name, p), ()), replay.committed, readers.get(spec.name, ()))
            for p in range(spec.partitions)
        ]
        for spec in specs
    }
