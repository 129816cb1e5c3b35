"""The task routes' domain (no database): list and history parameters, history summaries, a task's detail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.task_story import T0, logged, story
from workrouter.adapters.postgres.task_reads import list_sql
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope, make_event
from workrouter.domain.reporting.problems import ReportParameterError
from workrouter.domain.reporting.task_detail import FACT_EVENTS, TaskDetail, task_detail
from workrouter.domain.reporting.task_history import SUMMARISED, LoggedEvent, history, summary
from workrouter.domain.reporting.task_query import HistoryQuery, TaskQuery, parse_history_query, parse_task_query
from workrouter.domain.reporting.task_row import TaskRow, fold

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def refused(params: dict[str, str]) -> dict[str, str]:
    """The problems by parameter (fails when the query is taken)."""
    with pytest.raises(ReportParameterError) as caught:
        parse_task_query(params)
    return {p.parameter: p.message for p in caught.value.problems}


def test_every_filter_is_read_into_the_query() -> None:
    params = {"status": "queued", "queue": "finance", "agent": "emma", "type": "invoice", "source": "crm"}
    params |= {"open": "yes", "escalated": "0", "error_held": "false", "order": "due", "limit": "1000"}
    assert parse_task_query(params) == TaskQuery(
        status="queued", queue="finance", agent_id="emma", type="invoice", source="crm",
        open=True, escalated=False, error_held=False, order="due", limit=1000,
    )  # fmt: skip
    assert parse_task_query({}) == TaskQuery(order="updated", limit=100)
    assert parse_task_query({"queue": "Kundenservice Österreich/Süd"}).queue == "Kundenservice Österreich/Süd"


def test_every_refusal_is_named_at_once_and_says_what_to_give() -> None:
    problems = refused({"status": "lost", "escalated": "maybe", "order": "priority", "limit": "0", "queue": "a\x00"})
    assert set(problems) == {"status", "escalated", "order", "limit", "queue"}
    assert "one of captured, classified" in problems["status"]
    assert problems["escalated"] == "give true or false (or yes/no, 1/0), got 'maybe'"
    assert "give updated (last changed first), created (newest first) or due" in problems["order"]
    assert problems["limit"] == "give a whole number from 1 to 1000, got '0'"
    assert "U+0000" in problems["queue"]


@pytest.mark.parametrize("limit", ["1001", "-1", "1e3", "\uff11", "01" * 3, " 5", ""])
def test_a_limit_is_a_whole_number_from_1_to_1000(limit: str) -> None:
    assert set(refused({"limit": limit})) == {"limit"}


def test_the_history_query_takes_after_and_limit() -> None:
    assert parse_history_query({}) == HistoryQuery(after=0, limit=500)
    assert parse_history_query({"after": "9223372036854775807", "limit": "1"}) == HistoryQuery(2**63 - 1, 1)
    with pytest.raises(ReportParameterError) as caught:
        parse_history_query({"after": "9223372036854775808", "limit": "1001", "page": "2"})
    assert [p.parameter for p in caught.value.problems] == ["after", "limit", "page"]


@given(st.dictionaries(st.sampled_from(["status", "open", "order", "limit", "queue", "x"]), st.text(max_size=8)))
def test_any_text_is_a_query_or_a_named_refusal(params: dict[str, str]) -> None:
    problems: dict[str, str] = {}
    query = None
    try:
        query = parse_task_query(params)
    except ReportParameterError as exc:
        problems = {p.parameter: p.message for p in exc.problems}
    assert (query is None) == bool(problems)
    assert set(problems) <= set(params)
    assert all(problems.values())
    assert query is None or 1 <= query.limit <= 1000


TASK_EVENT_TYPES = sorted(
    cls.event_type.removeprefix("workrouter.")
    for cls in [*te.TaskEvent.__subclasses__(), *te.TaskWithdrawn.__subclasses__()]
    if "event_type" in vars(cls)
)


def test_every_task_event_type_has_a_summary_of_its_own() -> None:
    assert len(TASK_EVENT_TYPES) >= 19
    assert set(TASK_EVENT_TYPES) - SUMMARISED == set()
    assert summary("task.annotated", {"note": "x"}) == "annotated"  # a type this version does not know


@pytest.mark.parametrize("event_type", TASK_EVENT_TYPES)
def test_a_summary_leaves_out_what_a_payload_lacks(event_type: str) -> None:
    text = summary(event_type, {})
    assert text
    assert "None" not in text
    assert summary(event_type, {"tier": "x", "actions": "alert", "priority": None, "changed": 3, "by": 1})


@pytest.mark.parametrize(
    ("event", "text"),
    [
        (te.TaskAccepted(task_id="t", agent_id="emma", how="force", by="sam", queue="q"),
         "force-assigned to emma by sam from q"),
        (te.TaskAccepted(task_id="t", agent_id="emma", how="pull"), "claimed by emma from a workbin"),
        (te.TaskOffered(task_id="t", offer_id="o", agent_id="emma", queue="q", tier=-1, how="get_next",
                        offer_expires_at=T0), "claimed with get-next by emma (preferred agent)"),
        (te.TaskOfferRevoked(task_id="t", offer_id="o", agent_id="emma", reason="taken_back"),
         "offer to emma ended: taken back by a supervisor"),
        (te.TaskUnassigned(task_id="t", agent_id="emma", reason="cancelled"), "taken from emma: cancelled"),
        (te.TaskParked(task_id="t", workbin="personal:emma", agent_id="emma", by="sam"),
         "parked in personal:emma by sam"),
        (te.TaskEscalated(task_id="t", step="sla:std:80%", actions=["alert", "move_queue"], target_queue="vip"),
         "escalated: step sla:std:80% (alert, move_queue), moved to vip"),
        (te.TaskReprioritised(task_id="t", priority=620, reason="due within 24h", raise_by=120),
         "priority now 620 (+120): due within 24h"),
        (te.TaskReprioritised(task_id="t", priority=620, reason="set by hand"), "priority now 620: set by hand"),
        (te.TaskErrorHeld(task_id="t", reason="could not decode", ruleset_version="v", service="wr-router"),
         "held for a person: could not decode (wr-router gave up)"),
        (te.TaskCompleted(task_id="t", by="source"), "completed by the source"),
        (te.TaskCancelled(task_id="t", by="source", reason="customer withdrew"),
         "cancelled by the source: customer withdrew"),
        (te.TaskExpired(task_id="t", expired_at=T0), "expired (expiry time 2026-03-02T09:00:00Z)"),
        (te.TaskRescheduled(task_id="t", wake_at=T0, by="agent"), "rescheduled by agent until 2026-03-02T09:00:00Z"),
        (te.TaskPaused(task_id="t", by="source", reason="waiting for documents"),
         "paused by source: waiting for documents"),
        (te.TaskResumed(task_id="t", by="timer", wake_at=T0), "woke up (rescheduled to 2026-03-02T09:00:00Z)"),
        (te.TaskResumed(task_id="t", by="source"), "resumed by source"),
    ],
)  # fmt: skip
def test_summaries_say_what_happened(event: te.TaskEvent, text: str) -> None:
    assert summary(event.event_type.removeprefix("workrouter."), event.model_dump(mode="json")) == text


def _logged_history(task_id: str) -> list[LoggedEvent]:
    return [e for e in logged(story()) if e.data["task_id"] == task_id]


def test_a_history_page_says_where_the_next_one_starts() -> None:
    events = _logged_history("inv-1")
    first = history("inv-1", events[:5], limit=4)
    assert [e.seq for e in first.events] == [e.seq for e in events[:4]]
    assert first.next_after == events[3].seq
    last = history("inv-1", events[8:], limit=4)
    assert (len(last.events), last.next_after) == (3, None)


def detail_of(task_id: str, envelopes: list[Envelope], now: datetime = NOW) -> TaskDetail:
    """What the route answers: the folded row and the fact events, as the log keeps them."""
    row: TaskRow | None = None
    for envelope in envelopes:
        assert isinstance(envelope.data, te.TaskEvent)
        if envelope.data.task_id == task_id:
            row = fold(row, envelope)
    assert row is not None
    facts = [e for e in logged(envelopes) if e.data["task_id"] == task_id and e.type in FACT_EVENTS]
    return task_detail(row, facts, now)


def test_the_detail_applies_updates_to_what_was_captured() -> None:
    detail = detail_of("inv-1", story())
    assert (detail.description, detail.attributes) == ("second text", {"amount": 150, "customer": "ACME"})
    assert (detail.sla_seconds, detail.business_value, detail.rule) == (3600, 100.0, "finance-rule")
    assert (detail.open, detail.effective_priority, detail.effective_at) == (False, None, None)


def test_the_effective_priority_grows_as_the_due_time_nears() -> None:
    base = {"task_id": "x", "queue": "q", "domain": "d", "priority": 500, "rule": "r", "ruleset_version": "v"}
    due = NOW + timedelta(hours=24)
    events = [_event(te.TaskClassified(**base, due_at=due), NOW)]
    detail = detail_of("x", events, now=NOW)
    assert (detail.priority, detail.effective_priority) == (500, 500 + 10 * (72 - 24))
    assert detail_of("x", events, now=due + timedelta(days=30)).effective_priority == 1000  # clamped


def test_the_hold_shows_only_while_held_and_the_source_sla_until_classified() -> None:
    captured = te.TaskCaptured(task_id="x", source="s", external_id="e", type="w", title="t", sla_seconds=600)
    held = te.TaskErrorHeld(task_id="x", reason="no rule", ruleset_version="v")
    events = [_event(captured, T0), _event(held, T0 + timedelta(seconds=1))]
    detail = detail_of("x", events)
    assert detail.error_held is not None
    assert (detail.error_held.reason, detail.error_held.since, detail.sla_seconds) == ("no rule", events[1].time, 600)
    classified = te.TaskClassified(task_id="x", queue="q", domain="d", priority=1, rule="r", ruleset_version="v")
    released = detail_of("x", [*events, _event(classified, T0 + timedelta(seconds=2))])
    assert (released.status, released.error_held, released.sla_seconds) == ("classified", None, None)


def test_the_detail_reads_odd_payloads_leniently() -> None:
    row = TaskRow(task_id="x", status="queued", priority=5)
    odd: dict[str, Any] = {"attributes": ["not", "a", "dict"], "url": 7, "sla_seconds": True, "business_value": "9"}
    events = [LoggedEvent(n, f"e{n}", T0, t, None, None, odd) for n, t in enumerate(FACT_EVENTS[:3], start=1)]
    detail = task_detail(row, events, NOW)
    assert (detail.attributes, detail.url, detail.sla_seconds, detail.business_value) == ({}, None, None, None)
    assert detail.effective_priority == 5


def _event(payload: te.TaskEvent, at: datetime) -> Envelope:
    return make_event(payload, source="/test", key=payload.task_id, time=at)


def test_the_list_statement_holds_only_the_conditions_given_and_never_a_value() -> None:
    query = TaskQuery(queue="q'; DROP TABLE task_state; --", open=True, escalated=False, order="due", limit=7)
    sql, args = list_sql("wr", query)
    assert sql == (
        "SELECT * FROM wr.task_state WHERE queue = $1 AND closed_at IS NULL AND escalations = 0 "
        "ORDER BY due_at ASC NULLS LAST, task_id LIMIT $2"
    )
    assert args == ["q'; DROP TABLE task_state; --", 7]
    assert list_sql("wr", TaskQuery()) == (
        "SELECT * FROM wr.task_state ORDER BY updated_at DESC NULLS LAST, task_id LIMIT $1",
        [100],
    )
