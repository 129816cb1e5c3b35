"""Views over the event log for dashboards and ad-hoc SQL: the same visits and completions the reports use.

A filter on a view's time column (`entered_at`, `done_at`) reaches the log's (type, time) index, so a
Grafana panel over a day reads that day's events only.
"""

from __future__ import annotations

from workrouter.adapters.postgres.reports.queues import OUTCOME
from workrouter.adapters.postgres.reports.sql_parts import visits_select
from workrouter.adapters.postgres.reports.work import done_select


def views_ddl(s: str) -> str:
    """CREATE OR REPLACE the reporting views in schema `s`."""
    return f"""
CREATE OR REPLACE VIEW {s}.report_visits AS
    SELECT v.*, {OUTCOME} AS outcome FROM ({visits_select(s, "true")}) v;
CREATE OR REPLACE VIEW {s}.report_completions AS
    SELECT d.*, d.work_seconds + d.acw_seconds AS handle_seconds FROM ({done_select(s, "true")}) d;
CREATE OR REPLACE VIEW {s}.report_presence AS
    SELECT p.agent_id, p.time AS since,
           COALESCE(lead(p.time) OVER (PARTITION BY p.agent_id ORDER BY p.time, p.seq), now()) AS until,
           p.data->>'presence' AS presence, COALESCE(p.data->>'reason', '') AS reason
    FROM {s}.event_log p WHERE p.type = 'agent.presence_changed';
"""
