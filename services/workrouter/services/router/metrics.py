"""The router's event metrics (offers, assignments, revocations, RONAs, time to first offer) and the
answered-within window behind the live service level, kept per routing domain.

Counters count what the router did, once per decision (a re-announcement after a takeover is not
counted again). The service level window lives with the domain's state, so a router that gives a
domain up stops reporting it, and one that takes it over starts a fresh window.
"""

from __future__ import annotations

from collections import deque

from prometheus_client import Counter, Histogram

OFFERED = frozenset({"offer", "get_next"})  # the ways of giving a task that the agent still has to take
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
SERVICE_LEVEL_WINDOW_SECONDS = 15 * 60.0

QUEUED = Counter("workrouter_tasks_queued_total", "Tasks the router queued (TaskQueued), by queue.", ["queue"])
OFFERS = Counter(
    "workrouter_offers_total",
    "Tasks offered to an agent (how=offer: push offer to answer; get_next: a claim to start in time).",
    ["queue", "how"],
)
ASSIGNMENTS = Counter(
    "workrouter_assignments_total",
    "Tasks assigned to an agent: accepted offers, started get-next claims, auto-answer, pull claims, "
    "force-assign and personal workbins (how).",
    ["queue", "how"],
)
REVOKED = Counter(
    "workrouter_offers_revoked_total",
    "Offers and claims taken back (TaskOfferRevoked), by reason: rona, rejected, agent_offline, cancelled, "
    "claim_timeout.",
    ["queue", "reason"],
)
RONAS = Counter(
    "workrouter_ronas_total",
    "Redirects on no answer: offers that timed out unanswered (the agent went not ready).",
    ["queue"],
)
FIRST_GIVEN_LIMIT = 200_000
FIRST_OFFER = Histogram(
    "workrouter_queue_to_first_offer_seconds",
    "From the task entering its queue to the first time the router offered or assigned it to an agent there.",
    ["queue"],
    buckets=LATENCY_BUCKETS,
)
CAPTURE_TO_OFFER = Histogram(
    "workrouter_capture_to_offer_seconds",
    "From the task's capture (its source handing it over) to the first time it was offered or assigned to an agent.",
    ["queue"],
    buckets=LATENCY_BUCKETS,
)


class DomainMetrics:
    """What one routing domain's owner counts and remembers for its live metrics."""

    def __init__(self, window_seconds: float = SERVICE_LEVEL_WINDOW_SECONDS) -> None:
        self.window_seconds = window_seconds
        self.answered: dict[str, deque[tuple[float, float]]] = {}  # queue -> (answered at, seconds waited)
        self.given: set[str] = set()  # tasks given to an agent at least once since they entered their queue
        # Tasks whose capture-to-offer latency was observed: kept past the task leaving its queue (a transfer
        # is not a first offer), the oldest dropped beyond FIRST_GIVEN_LIMIT to bound memory.
        self.first_given: dict[str, None] = {}

    def queued(self, queue: str) -> None:
        """A task was queued (TaskQueued announced)."""
        QUEUED.labels(queue).inc()

    def entered_queue(self, task_id: str) -> None:
        """The task (re-)entered a queue with a new wait clock: its next offer is a first offer again."""
        self.given.discard(task_id)

    def forget(self, task_id: str) -> None:
        """The task left the domain."""
        self.given.discard(task_id)

    def gave(
        self, task_id: str, queue: str, how: str, enqueued_at: float, at: float, *, captured_at: float | None = None
    ) -> None:
        """The router gave the task to an agent: an offer or claim to take up, or an assignment outright."""
        if how in OFFERED:
            OFFERS.labels(queue, how).inc()
        else:
            self.assigned(queue, how, enqueued_at, at)
        if task_id not in self.given:
            self.given.add(task_id)
            FIRST_OFFER.labels(queue).observe(max(0.0, at - enqueued_at))
        if captured_at is not None and task_id not in self.first_given:
            self.first_given[task_id] = None
            if len(self.first_given) > FIRST_GIVEN_LIMIT:
                del self.first_given[next(iter(self.first_given))]
            CAPTURE_TO_OFFER.labels(queue).observe(max(0.0, at - captured_at))

    def assigned(self, queue: str, how: str, enqueued_at: float, at: float) -> None:
        """The task is assigned (accepted, started, or given outright): answered after waiting since `enqueued_at`."""
        ASSIGNMENTS.labels(queue, how).inc()
        window = self.answered.setdefault(queue, deque())
        window.append((at, max(0.0, at - enqueued_at)))
        self._trim(window, at)

    def revoked(self, queue: str, reason: str) -> None:
        """An offer or claim was taken back (reason as in TaskOfferRevoked)."""
        REVOKED.labels(queue, reason).inc()
        if reason == "rona":
            RONAS.labels(queue).inc()

    def service_level(self, queue: str, threshold: float, late_waiting: int, now: float) -> float:
        """Share answered within `threshold` seconds over the window, counting the `late_waiting` tasks still
        waiting longer than that as missed: within / (answered + late_waiting). 1.0 when there is nothing to judge."""
        window = self.answered.get(queue)
        if window is not None:
            self._trim(window, now)
        answered = window or ()
        within = sum(1 for _, waited in answered if waited <= threshold)
        total = len(answered) + late_waiting
        return 1.0 if total == 0 else within / total

    def _trim(self, window: deque[tuple[float, float]], now: float) -> None:
        start = now - self.window_seconds
        while window and window[0][0] < start:
            window.popleft()
