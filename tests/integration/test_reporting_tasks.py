"""The task routes of the reports app on real PostgreSQL: the list with its filters and orders, a task's detail
and its history, from events written through the event log's ingest path (tests/support/task_story.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.support.infra import Infra
from tests.support.task_story import FAR_DUE, story
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.config.sources import hash_api_key
from workrouter.domain.priority import display_priority
from workrouter.services.reporting.access import ReportsAccess
from workrouter.services.reporting.http import create_app

ACCESS = ReportsAccess(key_sha256=hash_api_key("it-tasks-key"))
KEY_HEADER = {"Authorization": "Bearer it-tasks-key"}


@pytest_asyncio.fixture
async def http(infra: Infra, fresh_schema: str) -> AsyncIterator[httpx.AsyncClient]:
    """The reports app over an event log holding the story (written twice: the redelivery changes nothing)."""
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=4)
    try:
        log = EventLog(pool, schema=fresh_schema)
        await log.migrate()
        events = [(e, None) for e in story()]
        assert await log.write(events) == len(events)
        assert await log.write(events) == 0
        transport = httpx.ASGITransport(app=create_app(log, access=ACCESS))
        async with httpx.AsyncClient(transport=transport, base_url="http://reports", headers=KEY_HEADER) as client:
            yield client
    finally:
        await pool.close()


async def listed(http: httpx.AsyncClient, **params: str) -> list[str]:
    response = await http.get("/v1/tasks", params=params)
    assert response.status_code == 200, response.text
    return [t["task_id"] for t in response.json()["tasks"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["clm-2", "inv-1", "inv-4", "tkt-3"]),  # last changed first
        ({"order": "created"}, ["inv-4", "tkt-3", "clm-2", "inv-1"]),
        ({"order": "due"}, ["inv-1", "clm-2", "inv-4", "tkt-3"]),  # no due time last, by id
        ({"type": "invoice", "order": "created"}, ["inv-4", "inv-1"]),
        ({"source": "bpm"}, ["clm-2"]),
        ({"escalated": "true"}, ["clm-2", "inv-1"]),
        ({"escalated": "no", "order": "created"}, ["inv-4", "tkt-3"]),
        ({"error_held": "yes"}, ["tkt-3"]),
        ({"error_held": "false", "open": "true"}, ["clm-2", "inv-4"]),
        ({"agent": "emma", "open": "true"}, ["inv-4"]),
        ({"queue": "finance", "type": "invoice", "status": "completed", "escalated": "1"}, ["inv-1"]),
        ({"queue": "finance", "escalated": "true", "open": "true", "source": "bpm", "type": "claim"}, ["clm-2"]),
        ({"status": "queued", "error_held": "true"}, []),
        ({"order": "created", "limit": "2"}, ["inv-4", "tkt-3"]),
    ],
)
async def test_the_list_takes_every_filter_combined(
    http: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    assert await listed(http, **params) == expected


async def test_a_list_row_has_the_work_list_columns(http: httpx.AsyncClient) -> None:
    (row,) = (await http.get("/v1/tasks", params={"source": "crm", "open": "false"})).json()["tasks"]
    assert {k: row[k] for k in ("type", "title", "external_id", "queue", "priority", "agent_id", "status")} == {
        "type": "invoice",
        "title": "Pay ACME",
        "external_id": "INV-1",
        "queue": "finance",
        "priority": 500,
        "agent_id": "emma",
        "status": "completed",
    }
    assert (row["created_at"], row["due_at"], row["expires_at"]) == (
        "2026-03-02T09:00:00Z",
        "2026-03-02T11:00:00Z",
        None,
    )
    assert (row["escalated"], row["escalations"], row["offers"]) == (True, 1, 2)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("escalated=maybe", "escalated"),
        ("error_held=%00", "error_held"),
        ("order=priority", "order"),
        ("limit=0", "limit"),
        ("type=" + "x" * 300, "type"),
        ("source=a&source=b", "source"),
        ("work_type=invoice", "work_type"),
    ],
)
async def test_the_list_refuses_a_bad_value_naming_its_parameter(
    http: httpx.AsyncClient, query: str, parameter: str
) -> None:
    response = await http.get(f"/v1/tasks?{query}")
    assert response.status_code == 400, response.text
    assert [e["loc"] for e in response.json()["errors"]] == [parameter]


async def test_the_detail_of_a_finished_task_has_its_facts_with_the_updates_applied(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/tasks/inv-1")
    assert response.status_code == 200, response.text
    detail = response.json()
    assert {k: detail[k] for k in ("source", "external_id", "type", "title", "url", "description", "channel")} == {
        "source": "crm",
        "external_id": "INV-1",
        "type": "invoice",
        "title": "Pay ACME",
        "url": "https://crm.example/inv/1",
        "description": "second text",
        "channel": "workitem",
    }
    assert detail["attributes"] == {"amount": 150, "customer": "ACME"}
    assert (detail["status"], detail["open"], detail["queue"], detail["agent_id"]) == (
        "completed",
        False,
        "finance",
        "emma",
    )
    assert (detail["priority"], detail["business_value"], detail["effective_priority"]) == (500, 100.0, None)
    assert (detail["sla_seconds"], detail["sla_calendar"], detail["due_at"]) == (3600, "24x7", "2026-03-02T11:00:00Z")
    assert (detail["escalated"], detail["last_escalation"], detail["error_held"]) == (True, "sla:standard:80%", None)
    assert (detail["wrap_up_code"], detail["offers"], detail["events"]) == ("processed", 2, 11)
    assert (detail["created_at"], detail["closed_at"]) == ("2026-03-02T09:00:00Z", "2026-03-02T09:51:00Z")


async def test_an_open_task_shows_base_and_effective_priority(http: httpx.AsyncClient) -> None:
    detail = (await http.get("/v1/tasks/clm-2")).json()
    assert (detail["status"], detail["queue"], detail["escalated"]) == ("queued", "finance", True)
    assert detail["priority"] == 300
    # at the request's time: base + 50 ln(1 + 10), due in 2099 so no urgency yet
    expected = display_priority(300, 10.0, FAR_DUE, datetime.fromisoformat(detail["effective_at"]))
    assert detail["effective_priority"] == expected == 420
    assert (detail["sla_seconds"], detail["sla_calendar"]) == (None, None)
    assert (detail["attributes"], detail["description"]) == ({}, None)


async def test_a_held_task_says_why(http: httpx.AsyncClient) -> None:
    detail = (await http.get("/v1/tasks/tkt-3")).json()
    assert detail["status"] == "error_held"
    assert detail["error_held"] == {
        "reason": "no rule places work type 'ticket'",
        "since": "2026-03-02T09:20:06Z",
        "service": None,
        "dead_letter_id": None,
    }
    assert (detail["queue"], detail["priority"], detail["effective_priority"]) == (None, None, None)


async def test_the_history_is_every_event_in_order_with_a_summary(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/tasks/inv-1/history")
    assert response.status_code == 200, response.text
    body = response.json()
    written = [e for e in story() if e.data.__dict__["task_id"] == "inv-1"]
    assert [e["event_id"] for e in body["events"]] == [e.id for e in written]
    assert body["next_after"] is None
    assert [e["summary"] for e in body["events"]] == [
        "captured from crm: invoice (external id INV-1)",
        "classified to finance (priority 500) by rule finance-rule",
        "queued in finance (priority 500)",
        "offered to noah (tier 1)",
        "offer to noah ended: not answered in time (RONA)",
        "offered to emma (tier 0)",
        "accepted by emma from finance",
        "updated by the source: description, attributes",
        "escalated: step sla:standard:80% (alert)",
        "wrap-up by emma: processed",
        "completed by emma: wrap-up processed",
    ]
    third = body["events"][3]
    assert (third["type"], third["agent_id"], third["queue"], third["time"]) == (
        "task.offered",
        "noah",
        "finance",
        "2026-03-02T09:01:00Z",
    )


async def test_the_history_pages_with_after(http: httpx.AsyncClient) -> None:
    pages: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await http.get("/v1/tasks/inv-1/history", params={"limit": "4", "after": str(after)})).json()
        pages.append(page)
        if page["next_after"] is None:
            break
        after = page["next_after"]
        assert after == page["events"][-1]["seq"]
    assert [len(p["events"]) for p in pages] == [4, 4, 3]
    whole = (await http.get("/v1/tasks/inv-1/history")).json()["events"]
    assert [e for p in pages for e in p["events"]] == whole
    past_the_end = await http.get("/v1/tasks/inv-1/history", params={"after": str(whole[-1]["seq"])})
    assert past_the_end.json() == {"task_id": "inv-1", "events": [], "next_after": None}


@pytest.mark.parametrize("path", ["/v1/tasks/nope", "/v1/tasks/nope/history"])
async def test_an_unknown_task_is_a_404_naming_it(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "no task 'nope' in the event log" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/tasks/bad%01id", "task_id"),
        ("/v1/tasks/inv-1?verbose=1", "verbose"),
        ("/v1/tasks/inv-1/history?after=-1", "after"),
        ("/v1/tasks/inv-1/history?limit=1001", "limit"),
    ],
)
async def test_refused_task_reads_name_the_parameter(http: httpx.AsyncClient, path: str, parameter: str) -> None:
    response = await http.get(path)
    assert response.status_code == 400, response.text
    assert [e["loc"] for e in response.json()["errors"]] == [parameter]
