"""The REST intake: authentication, validation errors with field paths, bulk, lifecycle commands."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.fakes import RecordingBus
from workrouter.contracts import commands as c
from workrouter.domain.capture import task_id_for

CRM = {"X-API-Key": "crm-demo-key"}


def task(external_id: str = "CASE-1", **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"external_id": external_id, "type": "claim", "title": "Water damage"}
    body["attributes"] = {"department": "Claims", "segment": "Silver"}
    return {**body, **over}


async def test_a_valid_task_is_accepted_with_its_task_id_and_published(
    client: httpx.AsyncClient, bus: RecordingBus
) -> None:
    response = await client.post("/v1/tasks", json=task(), headers=CRM)
    assert response.status_code == 202
    assert response.json() == {"task_id": task_id_for("crm", "CASE-1"), "status": "accepted"}
    ((topic, event),) = bus.published
    assert (topic, event.partitionkey) == ("wr.capture", "crm:CASE-1")
    assert isinstance(event.data, c.CaptureTask)
    assert event.data.source == "crm"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing API key"),
        ({"X-API-Key": "nope"}, "unknown API key"),
        ({"Authorization": "Bearer nope"}, "unknown API key"),
    ],
)
async def test_unauthenticated_requests_are_refused(
    client: httpx.AsyncClient, headers: dict[str, str], detail: str
) -> None:
    response = await client.post("/v1/tasks", json=task(), headers=headers)
    assert response.status_code == 401
    assert detail in response.json()["detail"]


async def test_bearer_token_works_too(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/tasks", json=task(), headers={"Authorization": "Bearer bpm-demo-key"})
    assert response.json()["task_id"] == task_id_for("bpm", "CASE-1")


@pytest.mark.parametrize(
    ("body", "loc", "msg"),
    [
        (task(attributes={"segment": "Platinum"}), "body.attributes.segment", "is not one of"),
        (task(type="pizza"), "body.type", "unknown work type"),
        (task(title=""), "body.title", "at least 1 character"),
        ({"type": "claim", "title": "t"}, "body.external_id", "Field required"),
        (task(due_at="tomorrow"), "body.due_at", "RFC 3339 string with a time zone"),
        (task(due_at=1764000000), "body.due_at", "RFC 3339 string with a time zone"),
        (task(priority=5000), "body.priority", "less than or equal to 1000"),
    ],
)
async def test_invalid_bodies_get_422_naming_the_field(
    client: httpx.AsyncClient, bus: RecordingBus, body: dict[str, Any], loc: str, msg: str
) -> None:
    response = await client.post("/v1/tasks", json=body, headers=CRM)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(e["loc"] == loc and msg in e["msg"] for e in errors), errors
    assert not bus.published


async def test_another_sources_name_is_forbidden(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/tasks", json=task(source="bpm"), headers=CRM)
    assert response.status_code == 403
    assert response.json()["errors"][0]["loc"] == "body.source"


async def test_non_json_and_oversized_bodies(client: httpx.AsyncClient) -> None:
    bad = await client.post("/v1/tasks", content=b"{oops", headers={**CRM, "Content-Type": "application/json"})
    assert bad.status_code == 400
    assert "not valid JSON" in bad.json()["detail"]
    huge = await client.post("/v1/tasks", content=b" " * 1_000_001, headers=CRM)
    assert huge.status_code == 413


async def test_bulk_accepts_the_good_and_names_the_bad(client: httpx.AsyncClient, bus: RecordingBus) -> None:
    response = await client.post("/v1/tasks", json=[task("A"), task("B", type="pizza"), task("C")], headers=CRM)
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert body["results"][1]["errors"][0]["loc"] == "body.1.type"
    assert len(bus.published) == 2
    all_good = await client.post("/v1/tasks", json=[task("D")], headers=CRM)
    assert all_good.status_code == 202


async def test_update_and_lifecycle_commands_are_published(client: httpx.AsyncClient, bus: RecordingBus) -> None:
    assert (await client.patch("/v1/tasks/CASE-1", json={"attributes": {"vip": True}}, headers=CRM)).status_code == 202
    assert (await client.post("/v1/tasks/CASE-1/cancel", headers=CRM)).status_code == 202
    later = {"wake_at": "2030-01-01T09:00:00Z"}
    assert (await client.post("/v1/tasks/CASE-1/reschedule", json=later, headers=CRM)).status_code == 202
    kinds = [type(ev.data) for _, ev in bus.published]
    assert kinds == [c.UpdateTask, c.CancelTask, c.RescheduleTask]
    assert all(ev.partitionkey == "crm:CASE-1" for _, ev in bus.published)


async def test_lifecycle_errors(client: httpx.AsyncClient) -> None:
    missing = await client.post("/v1/tasks/CASE-1/reschedule", json={}, headers=CRM)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == "body.wake_at"
    unknown = await client.post("/v1/tasks/CASE-1/explode", headers=CRM)
    assert unknown.status_code == 404
    assert "one of: cancel" in unknown.json()["detail"]
