"""The historical dashboard (PostgreSQL event log): service level, queue outcomes, wrap-up codes, agent activity.

Panels read the reporting views (report_visits, report_completions, report_presence; see
docs/reporting.md), filtered by the dashboard's time range and the $queue variable, so they show the
same figures as `workrouter report` for the same period.
"""

from __future__ import annotations

from grafana_foundation_sdk.models import dashboard as dm

from workrouter.grafana.board import dashboard, numbered, sql_variable
from workrouter.grafana.panels import bargauge, row, sql, table, timeseries

UID = "workrouter-historical"
IN_QUEUE = "v.queue IN ($queue)"

SERVICE_LEVEL = f"""SELECT date_bin('1 hour', v.entered_at, TIMESTAMPTZ '2000-01-01') AS time, v.queue AS metric,
  100.0 * count(*) FILTER (WHERE v.outcome = 'answered' AND v.wait_seconds <= rq.thresholds[1])
    / NULLIF(count(*) FILTER (WHERE v.outcome IN ('answered', 'abandoned')), 0) AS value
FROM report_visits v JOIN report_queues rq ON rq.queue = v.queue
WHERE $__timeFilter(v.entered_at) AND {IN_QUEUE}
GROUP BY 1, 2 ORDER BY 1, 2"""

QUEUE_OUTCOMES = f"""SELECT v.queue AS "Queue", count(*) AS "Offered",
  count(*) FILTER (WHERE v.outcome = 'answered') AS "Answered",
  count(*) FILTER (WHERE v.outcome = 'abandoned') AS "Abandoned",
  count(*) FILTER (WHERE v.outcome = 'transferred') AS "Transferred",
  round(avg(v.wait_seconds) FILTER (WHERE v.outcome = 'answered')::numeric, 1) AS "Avg wait (s)",
  round(max(v.wait_seconds) FILTER (WHERE v.outcome = 'answered')::numeric, 1) AS "Max wait (s)"
FROM report_visits v WHERE $__timeFilter(v.entered_at) AND {IN_QUEUE}
GROUP BY 1 ORDER BY 1"""

WAIT_OVER_TIME = f"""SELECT date_bin('1 hour', v.entered_at, TIMESTAMPTZ '2000-01-01') AS time, v.queue AS metric,
  avg(v.wait_seconds) AS value
FROM report_visits v WHERE $__timeFilter(v.entered_at) AND {IN_QUEUE} AND v.outcome = 'answered'
GROUP BY 1, 2 ORDER BY 1, 2"""

WRAP_UP = """SELECT COALESCE(d.wrap_up_code, CASE WHEN EXISTS (SELECT 1 FROM report_wrap_up_codes)
    THEN 'NS' ELSE '-' END) AS "Code", count(*) AS "Tasks",
  round(avg(d.handle_seconds)::numeric, 1) AS "Avg handle (s)", round(sum(d.acw_seconds)::numeric, 1) AS "ACW (s)"
FROM report_completions d WHERE $__timeFilter(d.done_at) AND d.queue IN ($queue)
GROUP BY 1 ORDER BY 2 DESC, 1"""

WRAP_UP_BARS = """SELECT COALESCE(d.wrap_up_code, 'NS') AS metric, count(*) AS value
FROM report_completions d WHERE $__timeFilter(d.done_at) AND d.queue IN ($queue)
GROUP BY 1 ORDER BY 2 DESC"""

AGENT_STATUS = """SELECT p.agent_id AS "Agent", p.presence AS "Status", p.reason AS "Reason",
  round(sum(EXTRACT(EPOCH FROM LEAST(p.until, $__timeTo()::timestamptz)
        - GREATEST(p.since, $__timeFrom()::timestamptz)))::numeric / 60, 1) AS "Minutes"
FROM report_presence p
WHERE p.presence <> 'offline' AND p.since < $__timeTo()::timestamptz AND p.until > $__timeFrom()::timestamptz
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""

AGENT_WORK = """SELECT d.agent_id AS "Agent", count(*) AS "Tasks handled",
  round(sum(d.handle_seconds)::numeric / 60, 1) AS "Handle (min)",
  round(avg(d.handle_seconds)::numeric, 1) AS "Avg handle (s)"
FROM report_completions d WHERE $__timeFilter(d.done_at) AND d.queue IN ($queue)
GROUP BY 1 ORDER BY 1"""

TASKS_BY_TYPE = """SELECT COALESCE(ts.type, '(unknown)') AS "Type", count(*) AS "Completed",
  round(avg(EXTRACT(EPOCH FROM ts.closed_at - ts.created_at))::numeric, 0) AS "Avg time to close (s)",
  round(percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM ts.closed_at - ts.created_at))::numeric, 0)
    AS "p90 time to close (s)",
  count(*) FILTER (WHERE ts.due_at IS NOT NULL AND ts.closed_at > ts.due_at) AS "Finished overdue"
FROM task_state ts WHERE ts.status = 'completed' AND $__timeFilter(ts.closed_at)
GROUP BY 1 ORDER BY 1"""


def build() -> dm.Dashboard:
    """The historical dashboard document."""
    variables = [sql_variable("queue", "SELECT queue FROM report_queues ORDER BY 1", label="Queue")]
    board = dashboard(
        UID,
        "workrouter — historical",
        description="Service level, queue outcomes, wrap-up codes and agent activity from the event log.",
        variables=variables,
        refresh="",
        time_from="now-7d",
    )
    board.with_row(row("Service level"))
    description = "Answered within the queue's first threshold, of those answered or abandoned, per hour."
    service_level = sql(SERVICE_LEVEL, fmt="time_series")
    board.with_panel(
        timeseries(
            "Service level per queue (first threshold)", [service_level], unit="percent", description=description
        )
    )
    board.with_panel(timeseries("Average wait of answered tasks", [sql(WAIT_OVER_TIME, fmt="time_series")], unit="s"))
    description = "Stays in a queue begun in the range."
    board.with_panel(table("Queue outcomes", [sql(QUEUE_OUTCOMES)], description=description).span(24))
    board.with_row(row("Wrap-up codes"))
    board.with_panel(bargauge("Completions by wrap-up code", [sql(WRAP_UP_BARS)]).span(8))
    description = "NS: no code given although codes exist."
    board.with_panel(table("Wrap-up codes", [sql(WRAP_UP)], description=description).span(16))
    board.with_row(row("Agent activity"))
    description = "Ready and not-ready minutes by reason."
    board.with_panel(table("Time in status", [sql(AGENT_STATUS)], description=description))
    board.with_panel(table("Work per agent", [sql(AGENT_WORK)]))
    board.with_panel(table("Tasks completed by type", [sql(TASKS_BY_TYPE)]).span(24))
    return numbered(board.build())
