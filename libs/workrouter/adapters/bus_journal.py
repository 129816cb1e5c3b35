"""The journal that makes the in-process bus durable: every published record on disk before `publish` returns.

Records and committed offsets go, in the order they happened, to numbered segment files under one
folder (`<data>/bus`). A flusher task writes what was appended since its last pass in one write and
one fdatasync (group commit) and only then releases the publishers waiting for it, so an api that
answers 202 after `publish` answers after the command is on disk; publishes that arrive during a
sync wait for the next one. Each pass also writes the offsets committed since the last one (no
publisher waits for those: a lost commit means a redelivery, which consumers tolerate), and the
flusher writes them on its own every `idle_seconds` when nothing is published.

A segment is cut at `segment_bytes`; the new one starts with every committed offset, and an old
segment is deleted once every group reading a topic has committed past all its records there, so
the disk holds what is pending plus about one segment. `replay` reads the folder back at start:
the records and the last committed offsets; a half-written frame at the end of a file (a crash in
the middle of a write) is cut off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workrouter.adapters.journal_frames import FrameReader, JournalRecord, Position, commits_frame, record_frame

log = logging.getLogger(__name__)
SUFFIX = ".journal"


class JournalError(RuntimeError):
    """The journal could not write: what was published with it is not durable."""


@dataclass(slots=True)
class _Segment:
    path: Path
    ends: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> last offset + 1
    size: int = 0


@dataclass(slots=True)
class Replay:
    """What the journal held: records per (topic, partition) in offset order, and the last committed offsets."""

    records: dict[tuple[str, int], list[JournalRecord]] = field(default_factory=dict)
    committed: dict[Position, int] = field(default_factory=dict)


class BusJournal:
    """Append-only, checksummed segment files with group-committed flushes (see the module docstring)."""

    def __init__(
        self, folder: Path, *, segment_bytes: int = 16 << 20, sync: bool = True, idle_seconds: float = 0.5
    ) -> None:
        self.folder = folder
        self._segment_bytes = segment_bytes
        self._sync = sync
        self._idle = idle_seconds
        self._segments: list[_Segment] = []
        self._fd: int | None = None
        self._buffer = bytearray()
        self._buffer_ends: dict[tuple[str, int], int] = {}
        self._waiter: asyncio.Future[None] | None = None
        self._committed: Mapping[Position, int] = {}
        self._written: dict[Position, int] = {}
        self._readers: Mapping[str, Sequence[str]] = {}
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False
        self._flushing = asyncio.Lock()  # one write at a time, in the order the batches were taken

    def replay(self) -> Replay:
        """Read every segment back (cutting a torn last frame); call once, before `open`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        out = Replay()
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            reader = FrameReader(path.read_bytes())
            segment = _Segment(path)
            for item in reader:
                if isinstance(item, JournalRecord):
                    out.records.setdefault((item.topic, item.partition), []).append(item)
                    segment.ends[(item.topic, item.partition)] = item.offset + 1
                else:
                    for position, offset in item.items():
                        out.committed[position] = max(offset, out.committed.get(position, 0))
            if reader.torn:
                log.warning(
                    "bus journal: %s ends in a torn frame (a crash mid-write); cut at byte %d", path, reader.whole
                )
                os.truncate(path, reader.whole)
            segment.size = reader.whole
            self._segments.append(segment)
        self._written = dict(out.committed)
        return out

    async def open(self, committed: Mapping[Position, int], readers: Mapping[str, Sequence[str]]) -> None:
        """Start a new segment and the flusher, given the bus's live committed offsets and its groups per topic."""
        self._committed, self._readers = committed, readers
        self._written.update(committed)
        await asyncio.to_thread(self._roll)
        self._wake, self._closing = asyncio.Event(), False
        self._flusher = asyncio.create_task(self._run(), name="bus-journal")

    def append(self, topic: str, partition: int, offset: int, key: str | None, value: bytes) -> Awaitable[None]:
        """Queue a record for the next flush; the awaitable completes once it is on disk."""
        if self._flusher is None:
            raise RuntimeError("bus journal is not open")
        self._buffer += record_frame(topic, partition, offset, key, value)
        self._buffer_ends[(topic, partition)] = offset + 1
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
            self._wake.set()
        return asyncio.shield(self._waiter)  # one future for the whole batch: a cancelled publisher must not cancel it

    async def close(self) -> None:
        """Flush what is left, delete every segment whose records were all handled, close the file."""
        if self._flusher is None:
            return
        self._closing = True
        self._wake.set()
        await self._flusher  # it ends after a last flush; a cancel could strand a batch in mid-write
        self._flusher = None
        await self.flush()
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        await asyncio.to_thread(self._compact, include_current=True)

    def segments(self) -> list[Path]:
        """The segment files, oldest first."""
        return [s.path for s in self._segments]

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._idle):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write what was appended and the committed offsets now (the flusher does it on its own)."""
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        batch, waiter, ends = self._buffer, self._waiter, self._buffer_ends
        self._buffer, self._waiter, self._buffer_ends = bytearray(), None, {}
        delta = {p: o for p, o in self._committed.items() if self._written.get(p) != o}
        if delta:
            batch += commits_frame(delta)
        if not batch:
            return
        try:
            await asyncio.to_thread(self._write, bytes(batch))
        except OSError as exc:
            log.error("bus journal: writing %d bytes to %s failed: %s", len(batch), self._segments[-1].path, exc)
            if waiter is not None:
                waiter.set_exception(JournalError(f"the bus journal could not write: {exc}"))
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self._roll)  # later frames go to a clean file, not after a torn one
            return
        current = self._segments[-1]
        current.ends.update(ends)
        current.size += len(batch)
        self._written.update(delta)
        if waiter is not None:
            waiter.set_result(None)
        if current.size >= self._segment_bytes:
            await asyncio.to_thread(self._roll)
        if len(self._segments) > 1:
            await asyncio.to_thread(self._compact, include_current=False)

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        if self._sync:
            os.fdatasync(self._fd)

    def _roll(self) -> None:
        """Start the next segment with every committed offset written so far at its head."""
        number = int(self._segments[-1].path.stem) + 1 if self._segments else 1
        path = self.folder / f"{number:012d}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = fd
        self._segments.append(_Segment(path))
        self._write(commits_frame(self._written))
        self._segments[-1].size = os.fstat(fd).st_size
        self._sync_folder()

    def _handled(self, segment: _Segment) -> bool:
        return all(
            self._written.get((group, topic, partition), 0) >= end
            for (topic, partition), end in segment.ends.items()
            for group in self._readers.get(topic, ())
        )

    def _compact(self, *, include_current: bool) -> None:
        """Delete the segments every reading group has handled (by the offsets already on disk)."""
        closed = self._segments if include_current else self._segments[:-1]
        done = [s for s in closed if self._handled(s)]
        for segment in done:
            segment.path.unlink(missing_ok=True)
            self._segments.remove(segment)
        if done:
            self._sync_folder()

    def _sync_folder(self) -> None:
        if not self._sync:
            return
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
