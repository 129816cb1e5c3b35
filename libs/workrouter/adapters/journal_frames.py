"""The on-disk frames of the bus journal: published records and committed offsets, each checksummed.

A frame is `length (4 bytes) | crc32 of the body (4) | body`, big-endian. The body's first byte
says what it is: `R` a record (topic, partition, offset, key, value), `C` committed offsets (JSON,
rare: once per flush and at the head of each segment). A crash can leave the last frame of a file
half written; `read_frames` stops at the first frame that is short or fails its checksum and says
how many bytes were whole, so the journal can cut the file there.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

_HEAD = struct.Struct(">II")  # body length, crc32 of the body
_RECORD = struct.Struct(">cHIQi")  # kind, topic length, partition, offset, key length (-1: no key)
RECORD, COMMITS = b"R", b"C"

Position = tuple[str, str, int]
"""(group, topic, partition) of a committed offset."""


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One published record as the journal keeps it."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes


def _frame(body: bytes) -> bytes:
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


def record_frame(topic: str, partition: int, offset: int, key: str | None, value: bytes) -> bytes:
    """The frame of one published record."""
    name = topic.encode()
    raw_key = b"" if key is None else key.encode()
    head = _RECORD.pack(RECORD, len(name), partition, offset, -1 if key is None else len(raw_key))
    return _frame(b"".join((head, name, raw_key, value)))


def commits_frame(committed: Mapping[Position, int]) -> bytes:
    """The frame of some committed offsets."""
    rows = [[group, topic, partition, offset] for (group, topic, partition), offset in committed.items()]
    return _frame(COMMITS + json.dumps(rows, separators=(",", ":")).encode())


def _record(body: bytes) -> JournalRecord:
    _, topic_len, partition, offset, key_len = _RECORD.unpack_from(body)
    at = _RECORD.size
    topic = body[at : at + topic_len].decode()
    at += topic_len
    key = None if key_len < 0 else body[at : at + key_len].decode()
    at += max(key_len, 0)
    return JournalRecord(topic, partition, offset, key, body[at:])


def _commits(body: bytes) -> dict[Position, int]:
    return {(str(g), str(t), int(p)): int(o) for g, t, p, o in json.loads(body[1:])}


@dataclass(slots=True)
class FrameReader:
    """Reads the whole frames of one file's bytes; `whole` is how many bytes they took."""

    data: bytes
    whole: int = 0

    def __iter__(self) -> Iterator[JournalRecord | dict[Position, int]]:
        data, at = self.data, 0
        while at + _HEAD.size <= len(data):
            length, crc = _HEAD.unpack_from(data, at)
            body = data[at + _HEAD.size : at + _HEAD.size + length]
            if len(body) < length or zlib.crc32(body) != crc or not body:
                return  # torn (or damaged) tail: what follows cannot be trusted
            at += _HEAD.size + length
            self.whole = at
            if body[:1] == RECORD:
                yield _record(body)
            elif body[:1] == COMMITS:
                yield _commits(body)

    @property
    def torn(self) -> bool:
        """Whether bytes were left after the last whole frame (read the frames first)."""
        return self.whole < len(self.data)
