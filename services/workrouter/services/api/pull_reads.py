"""One request's walk over the pull indexes (domain/routing/pull_walk.py), read from the live store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from workrouter.domain.routing.entry import QueueEntry
from workrouter.domain.routing.pull_walk import Page, Step


class IndexReads(Protocol):
    """What a walk reads (RedisAgentStore)."""

    async def index_classes(self, domain: str, queues: Sequence[str]) -> dict[str, set[str]]:
        """Each queue's skill classes in the domain's pull indexes, in one round trip."""
        ...

    async def index_pages(self, domain: str, pages: Sequence[Page]) -> list[list[tuple[str, float]]]:
        """(member, score) of each page of the domain's pull indexes, in one round trip."""
        ...

    async def entries_held(self, domain: str, task_ids: Sequence[str]) -> dict[str, tuple[dict[str, Any] | None, bool]]:
        """task id -> (its entry or None, whether an agent holds it), in one round trip."""
        ...


class Walk(Protocol):
    """PullWalk or ParkedWalk."""

    def next_step(self) -> Step | None: ...
    def classes_read(self, classes: Mapping[str, Iterable[str]]) -> None: ...
    def pages_read(self, pages: Sequence[Sequence[tuple[str, float]]]) -> None: ...
    def entries_read(self, rows: Mapping[str, tuple[Mapping[str, Any] | None, bool]]) -> None: ...
    def result(self) -> list[QueueEntry]: ...


async def read_walk(store: IndexReads, domain: str, walk: Walk) -> list[QueueEntry]:
    """Carry the walk out: each step one round trip to the store; the walk's result."""
    while (step := walk.next_step()) is not None:
        if step.classes:
            walk.classes_read(await store.index_classes(domain, step.classes))
        if step.pages:
            walk.pages_read(await store.index_pages(domain, step.pages))
        if step.entries:
            rows = await store.entries_held(domain, step.entries)
            walk.entries_read({t: rows.get(t, (None, False)) for t in step.entries})  # every id answered
    return walk.result()
