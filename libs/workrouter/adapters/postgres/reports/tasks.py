"""The tasks report: opened, completed, cancelled, expired, escalated per work type and interval;
time to close (average and percentiles); overdue (open past the due date at the interval's end) and
finished overdue (completed after the due date). The due date is the task's latest one."""

from __future__ import annotations

from workrouter.adapters.postgres.reports.sql_parts import bucket, seconds
from workrouter.adapters.postgres.reports.work import buckets_cte


def tasks_sql(s: str) -> str:
    """One row per interval and work type."""
    ended = f"""SELECT {bucket("e.time")} AS label, ts.type,
            (e.type = 'task.completed')::int AS completed, (e.type = 'task.cancelled')::int AS cancelled,
            (e.type = 'task.expired')::int AS expired,
            CASE WHEN e.type = 'task.completed' THEN {seconds("e.time - ts.created_at")} END AS close_seconds,
            (e.type = 'task.completed' AND ts.due_at IS NOT NULL AND e.time > ts.due_at)::int AS finished_overdue
        FROM {s}.event_log e JOIN {s}.task_state ts ON ts.task_id = e.task_id
        WHERE e.type IN ('task.completed', 'task.cancelled', 'task.expired') AND e.time >= $1 AND e.time < $2"""
    return f"""WITH {buckets_cte()},
facts AS (
    SELECT {bucket("o.time")} AS label, o.data->>'type' AS type, 1 AS opened, 0 AS completed, 0 AS cancelled,
           0 AS expired, 0 AS escalated, NULL::float8 AS close_seconds, 0 AS finished_overdue, 0 AS overdue
    FROM {s}.event_log o WHERE o.type = 'task.captured' AND o.time >= $1 AND o.time < $2
    UNION ALL
    SELECT label, type, 0, completed, cancelled, expired, 0, close_seconds, finished_overdue, 0 FROM ({ended}) x
    UNION ALL
    SELECT label, type, 0, 0, 0, 0, 1, NULL, 0, 0 FROM (
        SELECT DISTINCT {bucket("e.time")} AS label, ts.type, e.task_id
        FROM {s}.event_log e JOIN {s}.task_state ts ON ts.task_id = e.task_id
        WHERE e.type = 'task.escalated' AND e.time >= $1 AND e.time < $2) x
    UNION ALL
    SELECT b.label, ts.type, 0, 0, 0, 0, 0, NULL, 0, 1
    FROM buckets b JOIN {s}.task_state ts
      ON ts.due_at < b.be AND ts.created_at < b.be AND (ts.closed_at IS NULL OR ts.closed_at >= b.be)
    WHERE ts.due_at < $2 AND ts.created_at < $2 AND (ts.closed_at IS NULL OR ts.closed_at >= $1))
SELECT label AS interval_start, COALESCE(type, '(unknown)') AS type,
    sum(opened) AS opened, sum(completed) AS completed, sum(cancelled) AS cancelled, sum(expired) AS expired,
    sum(escalated) AS escalated,
    avg(close_seconds) AS avg_close_seconds,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY close_seconds) AS p50_close_seconds,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY close_seconds) AS p90_close_seconds,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY close_seconds) AS p95_close_seconds,
    sum(overdue) AS overdue, sum(finished_overdue) AS finished_overdue
FROM facts GROUP BY 1, 2 ORDER BY 1, 2"""
