"""Partition ownership on real Kafka: a group's members split a topic; a survivor takes over what a member gives up."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from pathlib import Path

from tests.contracts.bus_contract import event
from tests.support.infra import ROOT, Infra
from tests.support.wait import wait_until
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.kafka_options import KafkaOptions
from workrouter.bus.port import Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.contracts.topics import TopicSpec

PARTITIONS = 6
EVERY = frozenset(range(PARTITIONS))
# The broker's smallest session timeout (group.min.session.timeout.ms); fast heartbeats hear of rebalances soon.
# Offsets are committed only when a rebalance or a stop makes the bus commit them.
OPTIONS = KafkaOptions(session_timeout_ms=6000, heartbeat_interval_ms=500, commit_every=10_000, commit_interval_s=60)


class Board:
    """Who owns which partition, across members of one process; notes any partition owned twice."""

    def __init__(self) -> None:
        self.owner: dict[int, str] = {}
        self.conflicts: list[str] = []


class Member:
    """One group member's view: what it owns, what it handled, and anything out of turn."""

    def __init__(self, name: str, board: Board, handling_takes: float = 0.0) -> None:
        self.name = name
        self.board = board
        self.owned: set[int] = set()
        self.handled: list[str] = []
        self.strays: list[int] = []  # messages of partitions it did not own
        self.revoked_mid_handler = 0
        self._handling = False
        self._takes = handling_takes

    async def on_assign(self, partitions: set[int]) -> None:
        for p in partitions:
            if p in self.board.owner:
                self.board.conflicts.append(f"{self.name} got {p}, still owned by {self.board.owner[p]}")
            self.board.owner[p] = self.name
        self.owned |= partitions

    async def on_revoke(self, partitions: set[int]) -> None:
        self.revoked_mid_handler += self._handling
        for p in partitions:
            self.board.owner.pop(p, None)
        self.owned -= partitions

    async def handle(self, envelope: Envelope, delivery: Delivery) -> None:
        if delivery.partition not in self.owned:
            self.strays.append(delivery.partition)
        self._handling = True
        await asyncio.sleep(self._takes)  # slow work, so that a rebalance finds a handler running
        self._handling = False
        self.handled.append(envelope.id)


def topics() -> tuple[TopicSpec, TopicSpec, str]:
    suffix = uuid.uuid4().hex[:10]
    work = TopicSpec(f"test.rebalance.{suffix}", "key", PARTITIONS, "rebalance test", ())
    dead = TopicSpec(f"test.rebalance-dead.{suffix}", "key", 1, "rebalance test dead letters", ())
    return work, dead, f"rebalance-{suffix}"


def join(infra: Infra, work: TopicSpec, dead: TopicSpec, group: str, member: Member) -> KafkaBus:
    bus = KafkaBus(infra.kafka_bootstrap, topics=[work, dead], deadletter_topic=dead.name, options=OPTIONS)
    bus.subscribe(work.name, group, member.handle, on_assign=member.on_assign, on_revoke=member.on_revoke)
    return bus


def split(*members: set[int]) -> bool:
    """Each member owns some partitions, none owns one another owns, and together they own them all."""
    return all(members) and set().union(*members) == EVERY and sum(map(len, members)) == PARTITIONS


async def test_two_members_split_the_partitions_and_one_takes_all_when_the_other_leaves(infra: Infra) -> None:
    work, dead, group = topics()
    board = Board()
    first, second = Member("first", board, handling_takes=0.05), Member("second", board, handling_takes=0.05)
    first_bus = join(infra, work, dead, group, first)
    await first_bus.start()
    try:
        await wait_until(lambda: first.owned == EVERY, timeout=30, what="the lone member to own every partition")
        for seq in range(60):
            await first_bus.publish(work.name, event(f"task-{seq}", seq))
        await wait_until(lambda: len(first.handled) >= 5, timeout=30, what="the first member to be busy")
        second_bus = join(infra, work, dead, group, second)
        await second_bus.start()  # joins while the first member is handling
        try:
            await wait_until(lambda: split(first.owned, second.owned), timeout=30, what="a split between two")
            await wait_until(
                lambda: len(set(first.handled) | set(second.handled)) == 60, timeout=30, what="60 messages handled"
            )
        finally:
            await second_bus.stop()
        assert second.owned == set(), "stopping revokes what the member owned"
        await wait_until(lambda: first.owned == EVERY, timeout=30, what="the survivor to own every partition")
    finally:
        await first_bus.stop()
    assert first.owned == set()
    assert board.conflicts == []
    assert first.strays == second.strays == []
    assert first.revoked_mid_handler == second.revoked_mid_handler == 0, "on_revoke waits for the running handler"
    assert not set(first.handled) & set(second.handled), "handled offsets are committed before the revoke"


def owned_by(log: Path) -> set[int]:
    """What the member process owns now, from its log."""
    owned: set[int] = set()
    for line in log.read_text().splitlines() if log.exists() else []:
        word, *numbers = line.split()
        partitions = {int(n) for n in numbers}
        owned = owned | partitions if word == "assigned" else owned - partitions
    return owned


async def test_when_a_member_dies_the_survivor_is_assigned_its_partitions(infra: Infra, tmp_path: Path) -> None:
    work, dead, group = topics()
    survivor = Member("survivor", Board())
    bus = join(infra, work, dead, group, survivor)
    await bus.start()
    log = tmp_path / "member.log"
    proc: asyncio.subprocess.Process | None = None
    try:
        await wait_until(lambda: survivor.owned == EVERY, timeout=30, what="the lone member to own every partition")
        args = [infra.kafka_bootstrap, work.name, dead.name, group, str(PARTITIONS), str(log)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.rebalance_member", *args, cwd=ROOT
        )
        await wait_until(
            lambda: split(survivor.owned, owned_by(log)), timeout=60, what="a split with the member process"
        )
        proc.send_signal(signal.SIGKILL)  # no LeaveGroup: the broker notices after the session timeout
        await proc.wait()
        await wait_until(lambda: survivor.owned == EVERY, timeout=30, what="the survivor to own every partition")
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        await bus.stop()
