"""The notifier's Prometheus metrics (the /metrics endpoint is served by the shared runtime)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLBACKS = Counter(
    "workrouter_callbacks",
    "Callback attempts by source and outcome: delivered (2xx), retry (failed, will try again), dead (gave up).",
    ["source", "outcome"],
)
ENQUEUED = Counter(
    "workrouter_callbacks_enqueued", "Callbacks decided and put in the outbox, by event.", ["source", "event"]
)
DEAD_LETTERS = Gauge("workrouter_callback_dead_letters", "Callbacks that gave up and wait for a replay.", ["source"])
PENDING = Gauge("workrouter_callbacks_pending", "Callbacks waiting to be sent or retried.", ["source"])
LATENCY = Histogram(
    "workrouter_callback_duration_seconds",
    "Time of one callback attempt, request to answer (or timeout), by source.",
    ["source"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
