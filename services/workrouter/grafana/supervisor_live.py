"""The supervisor's live dashboard (Prometheus): queues, agents, SLA risk, the flow of offers, the services.

Every expression reads metrics documented in docs/metrics.md. Router gauges are reported only by the
instance owning a queue's domain, so they are summed; the at-risk count is the same in every
escalation instance, so it is max'ed.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.models import dashboard as dm

from workrouter.grafana.board import dashboard, numbered, prom_variable
from workrouter.grafana.panels import Steps, bargauge, prom, row, stat, table, timeseries

UID = "workrouter-supervisor-live"
Q = 'queue=~"$queue"'
RATE = "$__rate_interval"
WAIT_STEPS: Steps = (("green", None), ("orange", 60), ("red", 300))
SL_STEPS: Steps = (("red", None), ("orange", 0.7), ("green", 0.8))
RISK_STEPS: Steps = (("green", None), ("orange", 1), ("red", 10))


def per_minute(metric: str, by: str = "", selector: str = Q) -> str:
    """Events per minute of a counter, optionally split by labels."""
    group = f" by ({by})" if by else ""
    return f"sum{group} (rate({metric}{{{selector}}}[{RATE}])) * 60"


def first_offer_quantile(q: float) -> str:
    """A quantile of the time from entering the queue to the first offer."""
    return f"histogram_quantile({q}, sum by (le) (rate(workrouter_capture_to_offer_seconds_bucket{{{Q}}}[{RATE}])))"


def headline(board: Dashboard) -> None:
    """The numbers a supervisor looks at first."""
    board.with_row(row("Now"))
    waiting = stat(
        "Tasks waiting", [prom(f"sum(workrouter_tasks_waiting{{{Q}}})")], description="In the selected queues."
    )
    board.with_panel(waiting.span(4).height(4))
    oldest = prom(f"max(workrouter_queue_oldest_wait_seconds{{{Q}}})")
    board.with_panel(stat("Longest wait", [oldest], unit="s", steps=WAIT_STEPS).span(4).height(4))
    sl = prom(f'min(workrouter_queue_service_level_ratio{{{Q}, threshold_index="1"}})')
    description = "The lowest queue's share answered within its first threshold (last 15 minutes)."
    board.with_panel(
        stat("Service level now", [sl], unit="percentunit", steps=SL_STEPS, description=description).span(4).height(4)
    )
    risk = prom(f"sum(max by (queue) (workrouter_tasks_at_sla_risk{{{Q}}}))")
    board.with_panel(stat("At SLA risk", [risk], steps=RISK_STEPS).span(4).height(4))
    ready = prom('sum(workrouter_agents{status="ready"})', legend="ready")
    not_ready = prom('sum(workrouter_agents{status="not_ready"})', legend="not ready", ref="B")
    board.with_panel(stat("Agents logged in", [ready, not_ready]).span(4).height(4))
    board.with_panel(
        stat("Offers per minute", [prom(per_minute("workrouter_offers_total"))], decimals=1).span(4).height(4)
    )


def queues(board: Dashboard) -> None:
    """Per queue: the table, waiting, longest wait, service level, SLA risk."""
    board.with_row(row("Queues"))
    columns = [
        (f"sum by (queue) (workrouter_tasks_waiting{{{Q}}})", "Waiting"),
        (f"max by (queue) (workrouter_queue_oldest_wait_seconds{{{Q}}})", "Longest wait"),
        (f'sum by (queue) (workrouter_tasks_held{{{Q}, state=~"offered|claimed|assigned"}})', "With agents"),
        (f"sum by (queue) (workrouter_queue_agents_eligible{{{Q}}})", "Agents logged in"),
        (f"sum by (queue) (workrouter_queue_agents_available{{{Q}}})", "Agents available"),
        (f'min by (queue) (workrouter_queue_service_level_ratio{{{Q}, threshold_index="1"}})', "Service level"),
        (f"max by (queue) (workrouter_tasks_at_sla_risk{{{Q}}})", "At SLA risk"),
    ]
    refs = "ABCDEFG"
    targets = [prom(expr, ref=ref, table=True) for ref, (expr, _) in zip(refs, columns, strict=True)]
    rename = {f"Value #{ref}": name for ref, (_, name) in zip(refs, columns, strict=True)} | {"queue": "Queue"}
    units = {"Longest wait": "s", "Service level": "percentunit"}
    board.with_panel(table("Queues now", targets, rename=rename, units=units).span(24))
    waiting = prom(f"sum by (queue, band) (workrouter_tasks_waiting{{{Q}}})", legend="{{queue}} {{band}}")
    description = "static: before the due time's urgency horizon; urgent: inside it (docs/prioritisation.md)."
    board.with_panel(
        timeseries("Tasks waiting by queue and priority band", [waiting], stacked=True, description=description)
    )
    oldest = prom(f"max by (queue) (workrouter_queue_oldest_wait_seconds{{{Q}}})", legend="{{queue}}")
    board.with_panel(timeseries("Longest wait by queue", [oldest], unit="s"))
    sl = prom(
        f"min by (queue, threshold_seconds) (workrouter_queue_service_level_ratio{{{Q}}})",
        legend="{{queue}} within {{threshold_seconds}} s",
    )
    board.with_panel(timeseries("Service level now by queue and threshold", [sl], unit="percentunit"))
    risk = prom(f"max by (queue) (workrouter_tasks_at_sla_risk{{{Q}}})", legend="{{queue}}")
    description = "Open tasks whose SLA ladder has taken a step (a share of the SLA has passed)."
    board.with_panel(bargauge("Tasks at SLA risk", [risk], steps=RISK_STEPS, description=description))


def agents(board: Dashboard) -> None:
    """Who is there, who is free, how busy they are."""
    board.with_row(row("Agents"))
    eligible = prom(f"sum by (queue) (workrouter_queue_agents_eligible{{{Q}}})", legend="{{queue}} logged in")
    available = prom(
        f"sum by (queue) (workrouter_queue_agents_available{{{Q}}})", legend="{{queue}} available", ref="B"
    )
    board.with_panel(bargauge("Agents per queue: logged in and available", [eligible, available]).span(8))
    status = prom("sum by (status, reason) (workrouter_agents)", legend="{{status}} {{reason}}")
    board.with_panel(bargauge("Agents by status and not-ready reason", [status]).span(8))
    occupancy = prom(
        "sum by (channel) (workrouter_agent_tasks) / sum by (channel) (workrouter_agent_capacity)", legend="{{channel}}"
    )
    description = "Tasks held (offers included) over the capacity of the logged-in agents."
    board.with_panel(
        timeseries("Occupancy by channel", [occupancy], unit="percentunit", description=description).span(8)
    )


def flow(board: Dashboard) -> None:
    """What the router does: arrivals, offers, assignments, RONAs, time to first offer, escalations."""
    board.with_row(row("Flow"))
    targets = [
        prom(per_minute("workrouter_tasks_queued_total"), legend="queued", ref="A"),
        prom(per_minute("workrouter_offers_total"), legend="offered", ref="B"),
        prom(per_minute("workrouter_assignments_total"), legend="assigned", ref="C"),
        prom(per_minute("workrouter_ronas_total"), legend="RONA", ref="D"),
    ]
    board.with_panel(timeseries("Tasks per minute: queued, offered, assigned, RONA", targets).span(8))
    revoked = prom(per_minute("workrouter_offers_revoked_total", "reason"), legend="{{reason}}")
    board.with_panel(timeseries("Offers taken back per minute, by reason", [revoked]).span(8))
    latency = [
        prom(first_offer_quantile(0.5), legend="p50", ref="A"),
        prom(first_offer_quantile(0.95), legend="p95", ref="B"),
    ]
    description = "From entering the queue (for a new task: just after capture) to the first offer or assignment."
    board.with_panel(timeseries("Time to first offer", latency, unit="s", description=description).span(8))
    escalations = prom(per_minute("workrouter_escalations_total", "action", ""), legend="{{action}}")
    board.with_panel(timeseries("Escalation actions per minute", [escalations]).span(12))
    assigned = prom(per_minute("workrouter_assignments_total", "how"), legend="{{how}}")
    board.with_panel(timeseries("Assignments per minute, by how", [assigned]).span(12))


def services(board: Dashboard) -> None:
    """The services behind it: instances, consumer lag, handler errors, throughput."""
    board.with_row(row("Services"))
    instances = prom("count by (service, version) (workrouter_service_info)", legend="{{service}} {{version}}")
    board.with_panel(bargauge("Running instances", [instances]).span(6))
    lag = prom("sum by (group, topic) (workrouter_consumer_lag)", legend="{{group}} {{topic}}")
    board.with_panel(timeseries("Consumer lag (messages)", [lag]).span(6))
    errors = prom(
        per_minute("workrouter_handler_errors_total", "topic, error_type, verdict", ""),
        legend="{{topic}} {{error_type}} ({{verdict}})",
    )
    board.with_panel(timeseries("Handler errors per minute", [errors]).span(6))
    handled = prom(
        'sum by (topic) (rate(workrouter_messages_handled_total{verdict="ack"}[$__rate_interval]))', legend="{{topic}}"
    )
    board.with_panel(timeseries("Messages handled per second", [handled]).span(6))


def build() -> dm.Dashboard:
    """The dashboard document."""
    queue = prom_variable("queue", "label_values(workrouter_tasks_waiting, queue)", label="Queue")
    board = dashboard(
        UID,
        "workrouter — supervisor live",
        description="Queues, agents and SLA risk now, from Prometheus (docs/metrics.md).",
        variables=[queue],
    )
    for section in (headline, queues, agents, flow, services):
        section(board)
    return numbered(board.build())
