"""Tables, indexes and statements of the event log (see event_log.py for how a batch goes in).

`migrate` runs SCHEMA_DDL at every start: a table or index added here is created on the first start of the
new version (`CREATE INDEX` without CONCURRENTLY: it holds off the ingest's writes to that table while it is
built). task_state_updated serves the task list's default order (GET /v1/tasks: last changed first) by an
index scan instead of sorting every task; it cost about 0.2 us of PostgreSQL CPU per event at ingest
(docs/reporting.md, The task routes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from workrouter.domain.reporting.task_row import TaskRow

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
TASK_COLUMNS = tuple(f.name for f in fields(TaskRow))

SCHEMA_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.event_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    time timestamptz NOT NULL,
    type text NOT NULL,
    task_id text NULL,
    agent_id text NULL,
    queue text NULL,
    producer text NOT NULL,
    topic text NULL,
    kafka_partition integer NULL,
    kafka_offset bigint NULL,
    data jsonb NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS event_log_type_time ON {s}.event_log (type, time);
CREATE INDEX IF NOT EXISTS event_log_task_seq ON {s}.event_log (task_id, seq) WHERE task_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS event_log_presence ON {s}.event_log (agent_id, time)
    WHERE type = 'agent.presence_changed';
CREATE TABLE IF NOT EXISTS {s}.task_state (
    task_id text PRIMARY KEY,
    status text NOT NULL,
    source text NULL,
    external_id text NULL,
    type text NULL,
    title text NOT NULL DEFAULT '',
    channel text NOT NULL DEFAULT 'workitem',
    queue text NULL,
    domain text NULL,
    priority integer NULL,
    skills text[] NOT NULL DEFAULT '{{}}',
    agent_id text NULL,
    created_at timestamptz NULL,
    queued_at timestamptz NULL,
    accepted_at timestamptz NULL,
    closed_at timestamptz NULL,
    due_at timestamptz NULL,
    expires_at timestamptz NULL,
    wrap_up_code text NULL,
    offers integer NOT NULL DEFAULT 0,
    escalations integer NOT NULL DEFAULT 0,
    last_escalation text NULL,
    updated_at timestamptz NULL,
    events integer NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS task_state_open ON {s}.task_state (queue, status) WHERE closed_at IS NULL;
CREATE INDEX IF NOT EXISTS task_state_created ON {s}.task_state (created_at);
CREATE INDEX IF NOT EXISTS task_state_updated ON {s}.task_state (updated_at DESC NULLS LAST, task_id);
CREATE TABLE IF NOT EXISTS {s}.agent_state (
    agent_id text PRIMARY KEY, domain text NOT NULL, presence text NOT NULL, reason text NULL,
    since timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.report_queues (
    queue text PRIMARY KEY, domain text NOT NULL, thresholds integer[] NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.report_queue_members (
    queue text NOT NULL, agent_id text NOT NULL, PRIMARY KEY (queue, agent_id));
CREATE TABLE IF NOT EXISTS {s}.report_wrap_up_codes (code text PRIMARY KEY);
"""


@dataclass(frozen=True, slots=True)
class EventLogSql:
    """The statements of one schema."""

    known_events: str
    load_tasks: str
    stage_tasks: str
    upsert_tasks: str
    upsert_agent: str
    clear_dimensions: str
    insert_queue: str
    insert_member: str
    insert_code: str


def schema_sql(schema: str) -> EventLogSql:
    """The statements for tables in `schema` (a plain lower-case identifier)."""
    if not _IDENTIFIER.fullmatch(schema):
        raise ValueError(f"schema name {schema!r} must be a lower-case identifier such as 'public' or 'reporting'")
    s = schema
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in TASK_COLUMNS if c != "task_id")
    return EventLogSql(
        # Lookups by id are one index probe per id, written as LATERAL ... LIMIT 1 so that no plan can
        # scan the table instead: `= ANY($1)` got a whole-table scan per batch (a plan made while the table
        # was small, or one pricing each probe as a disk read), 40 % of ingest at 1M events.
        known_events=f"""
            SELECT e.event_id FROM unnest($1::text[]) AS k(id),
                LATERAL (SELECT event_id FROM {s}.event_log WHERE event_id = k.id LIMIT 1) AS e""",
        load_tasks=f"""
            SELECT t.* FROM unnest($1::text[]) AS k(id),
                LATERAL (SELECT * FROM {s}.task_state WHERE task_id = k.id LIMIT 1) AS t""",
        stage_tasks=f"""
            CREATE TEMP TABLE IF NOT EXISTS wr_stage_tasks (LIKE {s}.task_state) ON COMMIT DELETE ROWS""",
        upsert_tasks=f"""
            INSERT INTO {s}.task_state SELECT * FROM pg_temp.wr_stage_tasks
            ON CONFLICT (task_id) DO UPDATE SET {updates}""",
        upsert_agent=f"""
            INSERT INTO {s}.agent_state (agent_id, domain, presence, reason, since) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (agent_id) DO UPDATE SET domain = EXCLUDED.domain, presence = EXCLUDED.presence,
                reason = EXCLUDED.reason, since = EXCLUDED.since
            WHERE {s}.agent_state.since <= EXCLUDED.since""",
        clear_dimensions=f"TRUNCATE {s}.report_queues, {s}.report_queue_members, {s}.report_wrap_up_codes",
        insert_queue=f"INSERT INTO {s}.report_queues (queue, domain, thresholds) VALUES ($1, $2, $3)",
        insert_member=f"INSERT INTO {s}.report_queue_members (queue, agent_id) VALUES ($1, $2)",
        insert_code=f"INSERT INTO {s}.report_wrap_up_codes (code) VALUES ($1)",
    )
