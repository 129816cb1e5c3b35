"""The reporting domain: the task-row fold, report requests, and rendering (no database)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.support.scripted_day import scripted_day
from workrouter.adapters.postgres.reports.runner import SPECS, Report, spec
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import make_event
from workrouter.domain.reporting.parse import parse_request
from workrouter.domain.reporting.request import ReportRequest, bucket_start
from workrouter.domain.reporting.task_row import TaskRow, fold
from workrouter.services.reporting.render import as_csv

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _rows() -> dict[str, TaskRow]:
    rows: dict[str, TaskRow] = {}
    events, _ = scripted_day()
    for kind, env in events:
        if kind == "tasks":
            assert isinstance(env.data, te.TaskEvent)
            rows[env.data.task_id] = fold(rows.get(env.data.task_id), env)
    return rows


def test_the_scripted_day_folds_to_each_task_s_end() -> None:
    rows = _rows()
    assert {t: (r.status, r.queue, r.agent_id, r.wrap_up_code) for t, r in rows.items()} == {
        "T1": ("completed", "finance", "a1", "processed"),
        "T2": ("completed", "finance", "a1", None),
        "T3": ("completed", "claims", "a3", "processed"),
        "T4": ("cancelled", "claims", None, None),
        "T5": ("completed", "finance", "a2", "need_follow_up"),
        "T6": ("completed", "finance", "a1", "processed"),
        "T7": ("queued", "finance", None, None),
        "T8": ("expired", "claims", None, None),
    }
    t6 = rows["T6"]
    assert (t6.type, t6.escalations, t6.last_escalation, t6.offers) == ("claim", 1, "sla:claims:100%", 1)
    assert rows["T2"].offers == 2
    assert rows["T1"].queued_at == T0, "a re-queue to the same queue keeps the time it entered"
    assert rows["T6"].queued_at == T0.replace(hour=13, minute=10), "a move to another queue starts a new stay"


def test_an_ended_task_keeps_its_end_and_counts_late_events() -> None:
    row = fold(None, make_event(te.TaskCaptured(task_id="t", source="s", external_id="x", type="k", title="t"),
                                source="/t", key="t", time=T0))  # fmt: skip
    row = fold(row, make_event(te.TaskCancelled(task_id="t", by="source", reason="r"), source="/t", key="t",
                               time=T0 + timedelta(minutes=1)))  # fmt: skip
    late = te.TaskEscalated(task_id="t", step="sla:x:50%", actions=["alert"])
    row = fold(row, make_event(late, source="/t", key="t", time=T0 + timedelta(minutes=2)))
    queued = te.TaskQueued(task_id="t", queue="q", domain="d", priority=1, sort_key="k")
    row = fold(row, make_event(queued, source="/t", key="t", time=T0 + timedelta(minutes=3)))
    assert (row.status, row.closed_at, row.queue, row.escalations, row.events) == (
        "cancelled",
        T0 + timedelta(minutes=1),
        None,
        1,
        4,
    )


def test_an_event_of_a_task_never_captured_still_makes_a_row() -> None:
    accepted = te.TaskAccepted(task_id="ghost", agent_id="a1", queue="q")
    row = fold(None, make_event(accepted, source="/t", key="ghost", time=T0))
    assert (row.task_id, row.status, row.agent_id, row.type, row.created_at) == ("ghost", "assigned", "a1", None, T0)


def test_requests_are_checked_with_messages_that_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="the period is empty"):
        parse_request("2026-11-03T00:00:00Z", "2026-11-02T00:00:00Z")
    with pytest.raises(ValueError, match="from: missing: a report needs from and to"):
        parse_request(None, "2026-11-02T00:00:00Z")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        parse_request("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", tz="Mars/Olympus")
    with pytest.raises(ValueError, match="ascending order"):
        parse_request("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", thresholds="60,20")
    with pytest.raises(ValueError, match="whole seconds"):
        parse_request("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", thresholds="1m")
    with pytest.raises(ValueError, match="1 to 12"):
        parse_request("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", thresholds=",".join(map(str, range(1, 14))))
    with pytest.raises(ValueError, match="interval"):
        parse_request("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", interval="week")
    with pytest.raises(ValidationError, match="longer than 400 days"):
        ReportRequest(start=T0, end=T0 + timedelta(days=401))


def test_groupings_are_checked_against_the_report_and_its_always_groups_added() -> None:
    request = parse_request("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", group="skill")
    assert request.for_spec(spec("queue-summary")).group_by == ("queue", "skill")
    assert request.for_spec(spec("service-level")).group_by == ("queue", "skill")
    with pytest.raises(ValueError, match="'tasks' cannot be grouped by skill; it takes: nothing"):
        request.for_spec(spec("tasks"))
    plain = parse_request("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z")
    assert plain.for_spec(spec("wrap-up")).group_by == ("code", "queue", "agent")
    assert len(SPECS) == 8


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(["15m", "hour", "day"]),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)
def test_an_instant_falls_in_the_interval_that_starts_at_its_bucket(at: datetime, interval: str, tz: str) -> None:
    request = ReportRequest(start=at - timedelta(days=2), end=at + timedelta(days=2), interval=interval, tz=tz)
    start = bucket_start(at, request)
    step = request.step
    assert step is not None
    local = at.astimezone(start.tzinfo).replace(tzinfo=None)
    assert start.replace(tzinfo=None) <= local < start.replace(tzinfo=None) + step


def test_csv_spreads_the_thresholds_and_leaves_missing_ones_empty() -> None:
    request = ReportRequest(start=T0, end=T0 + timedelta(days=1))
    rows = [
        {"queue": "a", "offered": 2, "thresholds": [{"seconds": 20, "absolute": 1, "cumulative": 1, "percent": 50.0}]},
        {"queue": "b", "offered": 0, "thresholds": []},
    ]
    text = as_csv(Report("service-level", ("queue", "offered", "thresholds"), rows, request))
    table = list(csv.reader(io.StringIO(text)))
    assert table == [
        ["queue", "offered", "t1_seconds", "t1_absolute", "t1_cumulative", "t1_percent"],
        ["a", "2", "20", "1", "1", "50.0"],
        ["b", "0", "", "", "", ""],
    ]
