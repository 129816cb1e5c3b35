"""Reports on agents' work: wrap-up codes, agent status and statistics, fairness.

They count *completions*: a task an agent finished (`task.completed` by the agent) in the period,
with its handle time (accepted → completed, plus the after-work time its wrap-up announced) and its
queue (the one it was accepted from). Agent time comes from presence events, each state lasting
until the agent's next presence event; busy time is the union of the agent's handles.
"""

from __future__ import annotations

from workrouter.adapters.postgres.reports.sql_parts import Grouping, bucket, handles_cte, seconds

BUSY_LOOKBACK = "interval '7 days'"  # handles begun this long before the period still count as busy time in it


def done_cte(s: str) -> str:
    """`done`: completions in the period, with agent, queue, code and times."""
    return f"done AS ({done_select(s, 'c.time >= $1 AND c.time < $2')})"


def done_select(s: str, where: str) -> str:
    """Completions by agents (`task.completed`, alias c) matching `where`."""
    return f"""
    SELECT c.task_id, c.time AS done_at, a.agent_id, a.time AS accepted_at,
           COALESCE(NULLIF(a.queue, ''), ts.queue) AS queue,
           c.data->>'wrap_up_code' AS wrap_up_code,
           {seconds("c.time - a.time")} AS work_seconds,
           COALESCE((w.data->>'after_work_seconds')::float8, 0) AS acw_seconds
    FROM {s}.event_log c
    JOIN {s}.task_state ts ON ts.task_id = c.task_id
    JOIN LATERAL (
        SELECT a.agent_id, a.time, a.queue, a.seq FROM {s}.event_log a
        WHERE a.task_id = c.task_id AND a.seq < c.seq AND a.type = 'task.accepted'
        ORDER BY a.seq DESC LIMIT 1) a ON true
    LEFT JOIN LATERAL (
        SELECT w.data FROM {s}.event_log w
        WHERE w.task_id = c.task_id AND w.seq > a.seq AND w.seq < c.seq AND w.type = 'task.wrap_up_started'
        ORDER BY w.seq DESC LIMIT 1) w ON true
    WHERE c.type = 'task.completed' AND c.data->>'by' = 'agent' AND {where}"""


def buckets_cte() -> str:
    """`buckets`: the intervals of the period (label, clipped start, clipped end)."""
    return """buckets AS (
    SELECT $1::timestamptz AS label, $1::timestamptz AS bs, $2::timestamptz AS be WHERE $3::interval IS NULL
    UNION ALL
    SELECT g AT TIME ZONE $4::text, GREATEST(g AT TIME ZONE $4::text, $1), LEAST((g + $3) AT TIME ZONE $4::text, $2)
    FROM generate_series(date_bin($3::interval, $1 AT TIME ZONE $4::text, TIMESTAMP '2000-01-01'),
                         $2 AT TIME ZONE $4::text - interval '1 microsecond', $3::interval) AS g
    WHERE $3::interval IS NOT NULL)"""


def wrap_up_sql(s: str, g: Grouping) -> str:
    """Count, handle time and after-call work by code (NS: none given although codes are offered)."""
    return f"""WITH {done_cte(s)},
d AS (SELECT done.*, COALESCE(wrap_up_code, CASE WHEN EXISTS (SELECT 1 FROM {s}.report_wrap_up_codes)
          THEN 'NS' ELSE '-' END) AS code, work_seconds + acw_seconds AS handle_seconds FROM done)
SELECT {g.select}
    count(*) AS tasks,
    avg(d.handle_seconds) AS avg_handle_seconds, sum(d.handle_seconds) AS total_handle_seconds,
    avg(d.acw_seconds) AS avg_acw_seconds, sum(d.acw_seconds) AS total_acw_seconds
FROM d GROUP BY {g.group} ORDER BY {g.group}"""


def _presence_segments(s: str) -> str:
    return f"""pres AS (
    SELECT p.agent_id, p.time, p.seq, p.data->>'presence' AS presence, p.data->>'reason' AS reason
    FROM {s}.event_log p WHERE p.type = 'agent.presence_changed' AND p.time >= $1 AND p.time < $2
    UNION ALL
    SELECT l.* FROM {s}.agent_state ag CROSS JOIN LATERAL (
        SELECT p.agent_id, p.time, p.seq, p.data->>'presence', p.data->>'reason' FROM {s}.event_log p
        WHERE p.type = 'agent.presence_changed' AND p.agent_id = ag.agent_id AND p.time < $1
        ORDER BY p.time DESC, p.seq DESC LIMIT 1) l),
segs AS (
    SELECT agent_id, presence, reason, GREATEST(time, $1) AS s,
           LEAST(COALESCE(lead(time) OVER (PARTITION BY agent_id ORDER BY time, seq), $2), $2, now()) AS e
    FROM pres),
st AS (
    SELECT b.label, x.agent_id, x.presence, x.reason, {seconds("LEAST(x.e, b.be) - GREATEST(x.s, b.bs)")} AS secs
    FROM segs x JOIN buckets b ON x.s < b.be AND x.e > b.bs)"""


def agent_status_sql(s: str) -> str:
    """Seconds per agent, status and not-ready reason, per interval."""
    return f"""WITH {buckets_cte()}, {_presence_segments(s)}
SELECT label AS interval_start, agent_id, presence AS status, COALESCE(reason, '') AS reason, sum(secs) AS seconds
FROM st WHERE presence <> 'offline' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""


def agent_stats_sql(s: str) -> str:
    """Logged-in, ready, not-ready and busy time, tasks handled, handle time and occupancy per agent.

    Occupancy is the busy time while logged in over the logged-in time, so at most 100 %: an agent keeps the
    tasks it holds when it goes offline, and that busy time is busy (busy_seconds) but not occupancy."""
    begun = f"a.time < $2 AND a.time >= $1 - {BUSY_LOOKBACK}"
    return f"""WITH {buckets_cte()}, {_presence_segments(s)}, {done_cte(s)}, {handles_cte(s, begun)},
hv AS (SELECT agent_id, accepted_at AS s,
       LEAST(COALESCE(ended_at + make_interval(secs => acw_seconds), $2), $2, now()) AS e FROM handles),
marked AS (SELECT hv.*, CASE WHEN s <= max(e) OVER (PARTITION BY agent_id ORDER BY s, e
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS starts FROM hv WHERE e > s),
islands AS (SELECT agent_id, min(s) AS s, max(e) AS e FROM (
    SELECT marked.*, sum(starts) OVER (PARTITION BY agent_id ORDER BY s, e) AS island FROM marked) x
    GROUP BY agent_id, island),
busy AS (SELECT b.label, i.agent_id, sum({seconds("LEAST(i.e, b.be) - GREATEST(i.s, b.bs)")}) AS secs
    FROM islands i JOIN buckets b ON i.s < b.be AND i.e > b.bs GROUP BY 1, 2),
busy_in AS (SELECT b.label, i.agent_id,
    sum({seconds("LEAST(i.e, x.e, b.be) - GREATEST(i.s, x.s, b.bs)")}) AS secs
    FROM islands i JOIN segs x ON x.agent_id = i.agent_id AND x.presence <> 'offline' AND x.s < i.e AND x.e > i.s
    JOIN buckets b ON GREATEST(i.s, x.s) < b.be AND LEAST(i.e, x.e) > b.bs GROUP BY 1, 2),
presence AS (SELECT label, agent_id,
    COALESCE(sum(secs) FILTER (WHERE presence <> 'offline'), 0) AS logged_in_seconds,
    COALESCE(sum(secs) FILTER (WHERE presence = 'ready'), 0) AS ready_seconds,
    COALESCE(sum(secs) FILTER (WHERE presence = 'not_ready'), 0) AS not_ready_seconds
    FROM st GROUP BY 1, 2),
work AS (SELECT {bucket("done_at")} AS label, agent_id, count(*) AS tasks_handled,
    sum(work_seconds + acw_seconds) AS handle_seconds FROM done GROUP BY 1, 2),
keys AS (SELECT label, agent_id FROM presence UNION SELECT label, agent_id FROM work
         UNION SELECT label, agent_id FROM busy)
SELECT k.label AS interval_start, k.agent_id,
    COALESCE(p.logged_in_seconds, 0) AS logged_in_seconds, COALESCE(p.ready_seconds, 0) AS ready_seconds,
    COALESCE(p.not_ready_seconds, 0) AS not_ready_seconds, COALESCE(bz.secs, 0) AS busy_seconds,
    COALESCE(w.tasks_handled, 0) AS tasks_handled, COALESCE(w.handle_seconds, 0) AS handle_seconds,
    CASE WHEN COALESCE(p.logged_in_seconds, 0) > 0
         THEN round((100 * COALESCE(bi.secs, 0) / p.logged_in_seconds)::numeric, 2)::float8 END AS occupancy_pct
FROM keys k LEFT JOIN presence p USING (label, agent_id) LEFT JOIN work w USING (label, agent_id)
LEFT JOIN busy bz USING (label, agent_id) LEFT JOIN busy_in bi USING (label, agent_id)
ORDER BY 1, 2"""


def fairness_sql(s: str) -> str:
    """Tasks and handle time per agent per queue over the period, with each queue's spread."""
    return f"""WITH {done_cte(s)},
per AS (SELECT queue, agent_id, count(*) AS tasks, sum(work_seconds + acw_seconds) AS handle_seconds
        FROM done GROUP BY 1, 2),
members AS (SELECT m.queue, m.agent_id FROM {s}.report_queue_members m WHERE m.queue IN (SELECT queue FROM per)
            UNION SELECT queue, agent_id FROM per),
f AS (SELECT m.queue, m.agent_id, COALESCE(p.tasks, 0) AS tasks, COALESCE(p.handle_seconds, 0) AS handle_seconds
      FROM members m LEFT JOIN per p USING (queue, agent_id))
SELECT {bucket("$1")} AS interval_start, queue, agent_id, tasks, handle_seconds,
    round((100.0 * tasks / sum(tasks) OVER q)::numeric, 2)::float8 AS task_share_pct,
    round((stddev_pop(tasks) OVER q / NULLIF(avg(tasks) OVER q, 0))::numeric, 4)::float8 AS queue_tasks_cv,
    round((stddev_pop(handle_seconds) OVER q / NULLIF(avg(handle_seconds) OVER q, 0))::numeric, 4)::float8
        AS queue_handle_cv,
    max(tasks) OVER q - min(tasks) OVER q AS queue_tasks_range
FROM f WINDOW q AS (PARTITION BY queue) ORDER BY queue, agent_id"""
