"""The consumer-group rebalance listener that turns Kafka's assignments into a subscription's ownership.

What aiokafka 0.14 does (read in aiokafka/consumer/group_coordinator.py, fetcher.py and
subscription_state.py), and why this listener is shaped as it is:

- Every join of the group, the first one included and a group of one member alike, goes
  through `_on_join_prepare`, which awaits `on_partitions_revoked(previous assignment)` (an
  empty set on the first join), then JoinGroup/SyncGroup, then `_on_join_complete`, which
  awaits `on_partitions_assigned(new assignment)`. Async listener methods are awaited.
- Rebalancing is eager: the revoke carries the whole previous assignment and the assign the
  whole new one. A member leaving (LeaveGroup on stop) or dying (no heartbeat for
  `session_timeout_ms`) makes the broker rebalance; the survivors hear of it in their next
  heartbeat and rejoin, so they get revoke then assign like any other rebalance. A member
  whose own session expired gets the revoke when it rejoins.
- The assignment is installed (`assign_from_subscribed`, which ends "reassignment in
  progress") *before* `on_partitions_assigned` is awaited, and the fetcher and
  `getone()` do not wait for the listener: records of the new partitions can reach the
  handler while on_partitions_assigned still runs. (Tried against the local broker: with a
  listener that sleeps 2 s in on_partitions_assigned, `getone()` returned a record 10 ms after
  the listener was called.) So awaiting on_assign inside the listener would not hold the
  handler back; the gate in `PartitionOwnership` does.
- The heartbeat task is stopped during the join and restarted only after
  `on_partitions_assigned` returns, so a slow listener there costs the membership once it
  exceeds the session timeout. That is why the listener only starts on_assign (in a task,
  behind the gate) and returns at once.
- During `on_partitions_revoked` the heartbeat keeps running and the old assignment (and
  generation) is still valid, so the handled offsets of the revoked partitions can still be
  committed there; aiokafka itself commits auto-commit offsets at the same point.
- `consumer.stop()` leaves the group without calling the listener; `KafkaBus.stop` revokes
  explicitly first.
- FastStream 0.7.8 hands `subscriber(listener=...)` to `consumer.subscribe`, inside its
  logging facade, which awaits our methods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiokafka import ConsumerRebalanceListener, TopicPartition

from workrouter.adapters.kafka_commits import OffsetCommitter
from workrouter.bus.ownership import PartitionOwnership

log = logging.getLogger(__name__)


class OwnershipListener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Revoke: settle the handled offsets, then on_revoke. Assign: start on_assign behind the handler gate."""

    def __init__(
        self,
        topic: str,
        ownership: PartitionOwnership,
        committer: OffsetCommitter,
        *,
        drain_timeout: float,
        stopping: Callable[[], bool],
    ) -> None:
        self._topic = topic
        self._ownership = ownership
        self._committer = committer
        self._drain_timeout = drain_timeout
        self._stopping = stopping

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Called before each (re)join, with the previous assignment (empty on the first join)."""
        lost = {tp for tp in revoked if tp.topic == self._topic}
        await self._ownership.revoke(settle=lambda: self._settle(lost), drain_timeout=self._drain_timeout)

    async def _settle(self, lost: set[TopicPartition]) -> None:
        await self._committer.flush()
        # Whatever could not be committed now belongs to the next owner, who will redeliver it.
        self._committer.forget(lost)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Called after each join with the new assignment; on_assign runs behind the gate, not here."""
        if self._stopping():
            return  # the bus has revoked everything for good
        partitions = {tp.partition for tp in assigned if tp.topic == self._topic}
        log.info("assigned %s partitions %s", self._topic, sorted(partitions))
        self._ownership.assign(partitions)
