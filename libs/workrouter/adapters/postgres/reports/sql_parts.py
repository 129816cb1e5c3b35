"""Building blocks of the report queries: intervals, queue visits, handles, grouping.

Every report query takes the same first parameters: $1 start (inclusive), $2 end (exclusive),
$3 the interval's length (NULL: one interval, the whole period), $4 the time zone intervals are cut
in. The order of a task's events is the log's `seq` (the order of `wr.tasks`), never their times,
which are equal for events one command caused.

A *visit* is a stay of a task in a queue: it starts with the `task.queued` that put the task in
the queue (a later `task.queued` to the same queue while it still waits — a reclassification —
continues the visit) and ends with the task's next accepted, parked, completed, cancelled,
expired, rescheduled, paused or error_held event, or its queueing to another queue.
A *handle* is an agent's work on a task: from `task.accepted` to the task's next completed,
wrap_up_started, queued, parked, rescheduled, paused, cancelled, expired or unassigned event;
after-call work is the after-work time the wrap-up announced.
"""

from __future__ import annotations

from dataclasses import dataclass

VISIT_ENDS = (
    "task.accepted", "task.parked", "task.completed", "task.cancelled", "task.expired", "task.rescheduled",
    "task.paused", "task.error_held",
)  # fmt: skip
HANDLE_ENDS = (
    "task.completed", "task.wrap_up_started", "task.queued", "task.parked", "task.rescheduled", "task.paused",
    "task.cancelled", "task.expired", "task.unassigned",
)  # fmt: skip


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]::text[]"


def bucket(column: str) -> str:
    """The start of the interval `column` falls in, cut in the report's time zone ($1 for 'total')."""
    return (
        f"(CASE WHEN $3::interval IS NULL THEN $1::timestamptz ELSE date_bin($3::interval, "
        f"({column}) AT TIME ZONE $4::text, TIMESTAMP '2000-01-01') AT TIME ZONE $4::text END)"
    )


def seconds(expr: str) -> str:
    """An interval expression as float seconds."""
    return f"EXTRACT(EPOCH FROM ({expr}))::float8"


def visits_cte(s: str) -> str:
    """`visits`: the visits that started in the period, with how and when they ended."""
    return f"visits AS ({visits_select(s, 'q.time >= $1 AND q.time < $2')})"


def visits_select(s: str, where: str) -> str:
    """The visits whose first `task.queued` (alias q) matches `where`."""
    return f"""
    SELECT q.task_id, q.queue, q.time AS entered_at, q.seq AS start_seq,
           e.type AS end_type, e.time AS ended_at, e.seq AS end_seq, e.agent_id AS end_agent,
           {seconds("e.time - q.time")} AS wait_seconds,
           (SELECT count(*) FROM {s}.event_log o WHERE o.task_id = q.task_id AND o.type = 'task.offered'
              AND o.seq > q.seq AND o.seq < COALESCE(e.seq, 9223372036854775807)) AS offers,
           (SELECT count(*) FROM {s}.event_log o WHERE o.task_id = q.task_id AND o.type = 'task.offer_revoked'
              AND o.data->>'reason' = 'rona'
              AND o.seq > q.seq AND o.seq < COALESCE(e.seq, 9223372036854775807)) AS ronas
    FROM {s}.event_log q
    LEFT JOIN LATERAL (
        SELECT p.type, p.queue FROM {s}.event_log p
        WHERE p.task_id = q.task_id AND p.seq < q.seq AND p.type = ANY({_array((*VISIT_ENDS, "task.queued"))})
        ORDER BY p.seq DESC LIMIT 1) prev ON true
    LEFT JOIN LATERAL (
        SELECT e.type, e.time, e.seq, e.agent_id FROM {s}.event_log e
        WHERE e.task_id = q.task_id AND e.seq > q.seq
          AND (e.type = ANY({_array(VISIT_ENDS)}) OR (e.type = 'task.queued' AND e.queue IS DISTINCT FROM q.queue))
        ORDER BY e.seq LIMIT 1) e ON true
    WHERE q.type = 'task.queued' AND {where}
      AND (prev.type IS DISTINCT FROM 'task.queued' OR prev.queue IS DISTINCT FROM q.queue)"""


def handles_cte(s: str, where: str = "a.time >= $1 AND a.time < $2") -> str:
    """`handles`: agents' work on tasks (accepted in the period unless `where` says otherwise)."""
    return f"""handles AS (
    SELECT a.task_id, a.seq AS accept_seq, a.time AS accepted_at, a.agent_id,
           COALESCE(NULLIF(a.queue, ''), NULLIF(a.data->>'queue', '')) AS queue,
           h.type AS end_type, h.time AS ended_at,
           {seconds("h.time - a.time")} AS work_seconds,
           CASE WHEN h.type = 'task.wrap_up_started' THEN (h.data->>'after_work_seconds')::float8 ELSE 0 END
               AS acw_seconds,
           (h.type = 'task.wrap_up_started' OR (h.type = 'task.completed' AND h.data->>'by' = 'agent')) AS completed,
           h.data->>'wrap_up_code' AS wrap_up_code
    FROM {s}.event_log a
    LEFT JOIN LATERAL (
        SELECT h.type, h.time, h.data FROM {s}.event_log h
        WHERE h.task_id = a.task_id AND h.seq > a.seq AND h.type = ANY({_array(HANDLE_ENDS)})
        ORDER BY h.seq LIMIT 1) h ON true
    WHERE a.type = 'task.accepted' AND {where})"""


@dataclass(frozen=True, slots=True)
class Grouping:
    """The SELECT and GROUP BY parts for the chosen dimensions."""

    select: str  # "expr AS name, ..." (with a trailing comma when not empty)
    group: str  # "1, 2, ..." positions, or "" for none
    joins: str  # extra joins the dimensions need
    names: tuple[str, ...]


def grouping(groups: tuple[str, ...], exprs: dict[str, str], joins: dict[str, str], at: str) -> Grouping:
    """interval_start (from `at`) and the chosen dimensions, in that order."""
    names = ("interval_start", *groups)
    select = [f"{bucket(at)} AS interval_start", *(f"{exprs[g]} AS {g}" for g in groups)]
    extra = " ".join(dict.fromkeys(joins[g] for g in groups if g in joins))
    return Grouping(
        select=", ".join(select) + ",",
        group=", ".join(str(i + 1) for i in range(len(names))),
        joins=extra,
        names=names,
    )


SKILL_JOIN = (
    "CROSS JOIN LATERAL unnest(CASE WHEN cardinality(ts.skills) = 0 THEN ARRAY['(none)'] "
    "ELSE ts.skills END) AS sk(skill)"
)
