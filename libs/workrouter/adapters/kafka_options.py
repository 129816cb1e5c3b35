"""How the Kafka bus connects and consumes: client id, group timeouts, commit and poll tuning."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KafkaOptions:
    """Connection and consumer-group tuning."""

    client_id: str = "workrouter"
    replication_factor: int = 1
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    request_timeout_ms: int = 30_000
    commit_every: int = 500
    commit_interval_s: float = 0.2
    poll_records: int = 500  # most records one poll hands a subscription
    # How long a poll waits for a first record; it returns as soon as any are there, but FastStream sleeps as
    # long again after an empty one, so this bounds the latency an idle consumer adds (and sets its idle cost).
    poll_wait_ms: int = 10
    batch_fetch_min_bytes: int = 1 << 20  # a batch subscription's fetch waits for this much, or its max_wait_ms
    drain_timeout_s: float = 20.0  # how long a revoke waits for a running handler (below the rebalance timeout)
