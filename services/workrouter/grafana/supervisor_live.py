"""The supervisor's live dashboard (Prometheus): queues, agents, SLA risk, the flow of offers, the services.

Every expression reads metrics documented in docs/metrics.md. Router gauges are reported only by the
instance owning a queue's domain, so they are summed; the at-risk count is the same in every
escalation instance, so it is max'ed.
"""

from __future__ import annotations

from workrouter.grafana.board import dashboard, prom_variable
from workrouter.grafana.model import Grid, Json, bargauge, prom, row, stat, table, timeseries

UID = "workrouter-supervisor-live"
Q = 'queue=~"$queue"'
RATE = "$__rate_interval"
WAIT_STEPS = ({"color": "green", "value": None}, {"color": "orange", "value": 60}, {"color": "red", "value": 300})
SL_STEPS = ({"color": "red", "value": None}, {"color": "orange", "value": 0.7}, {"color": "green", "value": 0.8})
RISK_STEPS = ({"color": "green", "value": None}, {"color": "orange", "value": 1}, {"color": "red", "value": 10})


def per_minute(metric: str, by: str = "", selector: str = Q) -> str:
    """Events per minute of a counter, optionally split by labels."""
    group = f" by ({by})" if by else ""
    return f"sum{group} (rate({metric}{{{selector}}}[{RATE}])) * 60"


def first_offer_quantile(q: float) -> str:
    """A quantile of the time from entering the queue to the first offer."""
    return f"histogram_quantile({q}, sum by (le) (rate(workrouter_capture_to_offer_seconds_bucket{{{Q}}}[{RATE}])))"


def headline(grid: Grid) -> None:
    """The numbers a supervisor looks at first."""
    grid.add(row("Now"))
    waiting = stat(
        "Tasks waiting", [prom(f"sum(workrouter_tasks_waiting{{{Q}}})")], description="In the selected queues."
    )
    grid.add(waiting, w=4, h=4)
    oldest = prom(f"max(workrouter_queue_oldest_wait_seconds{{{Q}}})")
    grid.add(stat("Longest wait", [oldest], unit="s", thresholds=WAIT_STEPS), w=4, h=4)
    sl = prom(f'min(workrouter_queue_service_level_ratio{{{Q}, threshold_index="1"}})')
    description = "The lowest queue's share answered within its first threshold (last 15 minutes)."
    grid.add(
        stat("Service level now", [sl], unit="percentunit", thresholds=SL_STEPS, description=description), w=4, h=4
    )
    risk = prom(f"sum(max by (queue) (workrouter_tasks_at_sla_risk{{{Q}}}))")
    grid.add(stat("At SLA risk", [risk], thresholds=RISK_STEPS), w=4, h=4)
    ready = prom('sum(workrouter_agents{status="ready"})', legend="ready")
    not_ready = prom('sum(workrouter_agents{status="not_ready"})', legend="not ready", ref="B")
    grid.add(stat("Agents logged in", [ready, not_ready]), w=4, h=4)
    grid.add(stat("Offers per minute", [prom(per_minute("workrouter_offers_total"))], decimals=1), w=4, h=4)


def queues(grid: Grid) -> None:
    """Per queue: the table, waiting, longest wait, service level, SLA risk."""
    grid.add(row("Queues"))
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
    grid.add(table("Queues now", targets, rename=rename, units=units), w=24, h=8)
    waiting = prom(f"sum by (queue, band) (workrouter_tasks_waiting{{{Q}}})", legend="{{queue}} {{band}}")
    description = "static: before the due time's urgency horizon; urgent: inside it (docs/prioritisation.md)."
    grid.add(timeseries("Tasks waiting by queue and priority band", [waiting], stacked=True, description=description))
    oldest = prom(f"max by (queue) (workrouter_queue_oldest_wait_seconds{{{Q}}})", legend="{{queue}}")
    grid.add(timeseries("Longest wait by queue", [oldest], unit="s"))
    sl = prom(
        f"min by (queue, threshold_seconds) (workrouter_queue_service_level_ratio{{{Q}}})",
        legend="{{queue}} within {{threshold_seconds}} s",
    )
    grid.add(timeseries("Service level now by queue and threshold", [sl], unit="percentunit"))
    risk = prom(f"max by (queue) (workrouter_tasks_at_sla_risk{{{Q}}})", legend="{{queue}}")
    description = "Open tasks whose SLA ladder has taken a step (a share of the SLA has passed)."
    grid.add(bargauge("Tasks at SLA risk", [risk], thresholds=RISK_STEPS, description=description))


def agents(grid: Grid) -> None:
    """Who is there, who is free, how busy they are."""
    grid.add(row("Agents"))
    eligible = prom(f"sum by (queue) (workrouter_queue_agents_eligible{{{Q}}})", legend="{{queue}} logged in")
    available = prom(
        f"sum by (queue) (workrouter_queue_agents_available{{{Q}}})", legend="{{queue}} available", ref="B"
    )
    grid.add(bargauge("Agents per queue: logged in and available", [eligible, available]), w=8)
    status = prom("sum by (status, reason) (workrouter_agents)", legend="{{status}} {{reason}}")
    grid.add(bargauge("Agents by status and not-ready reason", [status]), w=8)
    occupancy = prom(
        "sum by (channel) (workrouter_agent_tasks) / sum by (channel) (workrouter_agent_capacity)", legend="{{channel}}"
    )
    description = "Tasks held (offers included) over the capacity of the logged-in agents."
    grid.add(timeseries("Occupancy by channel", [occupancy], unit="percentunit", description=description), w=8)


def flow(grid: Grid) -> None:
    """What the router does: arrivals, offers, assignments, RONAs, time to first offer, escalations."""
    grid.add(row("Flow"))
    targets = [
        prom(per_minute("workrouter_tasks_queued_total"), legend="queued", ref="A"),
        prom(per_minute("workrouter_offers_total"), legend="offered", ref="B"),
        prom(per_minute("workrouter_assignments_total"), legend="assigned", ref="C"),
        prom(per_minute("workrouter_ronas_total"), legend="RONA", ref="D"),
    ]
    grid.add(timeseries("Tasks per minute: queued, offered, assigned, RONA", targets), w=8)
    revoked = prom(per_minute("workrouter_offers_revoked_total", "reason"), legend="{{reason}}")
    grid.add(timeseries("Offers taken back per minute, by reason", [revoked]), w=8)
    latency = [
        prom(first_offer_quantile(0.5), legend="p50", ref="A"),
        prom(first_offer_quantile(0.95), legend="p95", ref="B"),
    ]
    description = "From entering the queue (for a new task: just after capture) to the first offer or assignment."
    grid.add(timeseries("Time to first offer", latency, unit="s", description=description), w=8)
    escalations = prom(per_minute("workrouter_escalations_total", "action", ""), legend="{{action}}")
    grid.add(timeseries("Escalation actions per minute", [escalations]), w=12)
    assigned = prom(per_minute("workrouter_assignments_total", "how"), legend="{{how}}")
    grid.add(timeseries("Assignments per minute, by how", [assigned]), w=12)


def services(grid: Grid) -> None:
    """The services behind it: instances, consumer lag, handler errors, throughput."""
    grid.add(row("Services"))
    instances = prom("count by (service, version) (workrouter_service_info)", legend="{{service}} {{version}}")
    grid.add(bargauge("Running instances", [instances]), w=6)
    lag = prom("sum by (group, topic) (workrouter_consumer_lag)", legend="{{group}} {{topic}}")
    grid.add(timeseries("Consumer lag (messages)", [lag]), w=6)
    errors = prom(per_minute("workrouter_handler_errors_total", "topic, error_type, verdict", ""))
    errors["legendFormat"] = "{{topic}} {{error_type}} ({{verdict}})"
    grid.add(timeseries("Handler errors per minute", [errors]), w=6)
    handled = prom('sum by (topic) (rate(workrouter_messages_handled_total{verdict="ack"}[$__rate_interval]))')
    handled["legendFormat"] = "{{topic}}"
    grid.add(timeseries("Messages handled per second", [handled]), w=6)


def build() -> Json:
    """The dashboard document."""
    grid = Grid()
    for section in (headline, queues, agents, flow, services):
        section(grid)
    queue = prom_variable("queue", "label_values(workrouter_tasks_waiting, queue)", label="Queue")
    return dashboard(
        UID,
        "workrouter — supervisor live",
        grid.panels,
        description="Queues, agents and SLA risk now, from Prometheus (docs/metrics.md).",
        variables=[queue],
    )
