"""Queue reports: service level, summary (per interval), and the visit-by-visit detail."""

from __future__ import annotations

from typing import Any

from workrouter.adapters.postgres.reports.sql_parts import (
    SKILL_JOIN,
    Grouping,
    bucket,
    handles_cte,
    visits_cte,
)

QUEUE_DIMS = {"queue": "v.queue", "channel": "ts.channel", "skill": "sk.skill"}
QUEUE_JOINS = {"skill": SKILL_JOIN}
OUTCOME = """CASE
    WHEN v.end_type = 'task.accepted' THEN 'answered'
    WHEN v.end_type IN ('task.cancelled', 'task.expired', 'task.completed') THEN 'abandoned'
    WHEN v.end_type IN ('task.queued', 'task.parked') THEN 'transferred'
    WHEN v.end_type IS NULL THEN 'waiting'
    ELSE 'withdrawn' END"""


def _visits_with_handles(s: str) -> str:
    # A visit's handle is the one its acceptance began, whenever that acceptance was.
    return f"""WITH {visits_cte(s)},
    {handles_cte(s, "a.seq IN (SELECT end_seq FROM visits WHERE end_type = 'task.accepted')")},
    v AS (SELECT v.*, {OUTCOME} AS outcome, h.work_seconds + h.acw_seconds AS handle_seconds
          FROM visits v LEFT JOIN handles h ON h.accept_seq = v.end_seq AND h.ended_at IS NOT NULL)"""


def summary_sql(s: str, g: Grouping) -> str:
    """Offered (entered the queue), answered, abandoned, transferred, withdrawn, waits and handle times."""
    return f"""{_visits_with_handles(s)}
SELECT {g.select}
    count(*) AS offered,
    count(*) FILTER (WHERE v.outcome = 'answered') AS answered,
    count(*) FILTER (WHERE v.outcome = 'abandoned') AS abandoned,
    count(*) FILTER (WHERE v.outcome = 'transferred') AS transferred,
    count(*) FILTER (WHERE v.outcome = 'withdrawn') AS withdrawn,
    count(*) FILTER (WHERE v.outcome = 'waiting') AS waiting,
    COALESCE(sum(v.offers), 0)::bigint AS offers_to_agents,
    COALESCE(sum(v.ronas), 0)::bigint AS ronas,
    avg(v.wait_seconds) FILTER (WHERE v.outcome = 'answered') AS avg_wait_seconds,
    max(v.wait_seconds) FILTER (WHERE v.outcome = 'answered') AS max_wait_seconds,
    avg(v.handle_seconds) FILTER (WHERE v.outcome = 'answered') AS avg_handle_seconds
FROM v JOIN {s}.task_state ts ON ts.task_id = v.task_id {g.joins}
GROUP BY {g.group} ORDER BY {g.group}"""


def service_level_sql(s: str, g: Grouping) -> str:
    """Per group and threshold: answered within it (cumulative), with the group's totals on every row."""
    return f"""{_visits_with_handles(s)}
SELECT {g.select}
    t.i AS threshold_index, t.seconds AS threshold_seconds,
    count(*) AS offered,
    count(*) FILTER (WHERE v.outcome = 'answered') AS answered,
    count(*) FILTER (WHERE v.outcome = 'abandoned') AS abandoned,
    count(*) FILTER (WHERE v.outcome = 'answered' AND v.wait_seconds <= t.seconds) AS cumulative
FROM v JOIN {s}.task_state ts ON ts.task_id = v.task_id {g.joins}
LEFT JOIN {s}.report_queues rq ON rq.queue = v.queue
LEFT JOIN LATERAL unnest(COALESCE($5::integer[], rq.thresholds)) WITH ORDINALITY AS t(seconds, i) ON true
GROUP BY {g.group}, t.i, t.seconds ORDER BY {g.group}, t.i"""


def detail_sql(s: str) -> str:
    """One row per visit that started in the period."""
    return f"""{_visits_with_handles(s)}
SELECT {bucket("v.entered_at")} AS interval_start, v.entered_at, v.task_id, v.queue, ts.channel, ts.type,
       ts.source, ts.external_id, v.outcome, v.ended_at, v.end_agent AS agent_id, v.wait_seconds, v.offers,
       v.ronas, v.handle_seconds
FROM v JOIN {s}.task_state ts ON ts.task_id = v.task_id
ORDER BY v.entered_at, v.task_id"""


def fold_service_level(rows: list[dict[str, Any]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per group with its thresholds: absolute (answered in the band), cumulative, percent."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[n] for n in names)
        group = out.setdefault(
            key,
            {
                **{n: row[n] for n in names},
                "offered": row["offered"],
                "answered": row["answered"],
                "abandoned": row["abandoned"],
                "thresholds": [],
            },
        )
        if row["threshold_index"] is None:
            continue
        levels = group["thresholds"]
        before = levels[-1]["cumulative"] if levels else 0
        finished = row["answered"] + row["abandoned"]
        levels.append(
            {
                "seconds": row["threshold_seconds"],
                "absolute": row["cumulative"] - before,
                "cumulative": row["cumulative"],
                "percent": round(100.0 * row["cumulative"] / finished, 2) if finished else None,
            }
        )
    return list(out.values())
