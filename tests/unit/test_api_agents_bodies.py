"""Hostile agent and supervisor bodies: deep nesting, numbers JSON has not, NUL and lone surrogates.

Each is a 4xx naming the place, never a 500, and nothing is published. Bodies are sent as bytes (json.dumps
escapes "\\ud800" and "\\u0000" the way a client would send them).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.agent_api import T0, Harness, auth, entry, harness
from workrouter.adapters.redis_agent_records import Holder
from workrouter.config.catalog import Catalog
from workrouter.contracts.bounds import printable

EMMA, SAM = auth("emma"), auth("sam")
JSON = {"Content-Type": "application/json"}

# every route that reads a body: (path, who, a body it would take)
Route = tuple[str, dict[str, str], dict[str, Any]]  # path, who, a body it would take
BODY_ROUTES: list[Route] = [
    ("/v1/agent/presence", EMMA, {"presence": "not_ready", "reason": "lunch"}),
    ("/v1/agent/offers/t1/accept", EMMA, {"offer_id": "o-1"}),
    ("/v1/agent/offers/t1/reject", EMMA, {"offer_id": "o-1"}),
    ("/v1/agent/tasks/t1/complete", EMMA, {"wrap_up_code": "processed"}),
    ("/v1/agent/tasks/t1/transfer", EMMA, {"queue": "general", "reason": "needs French"}),
    ("/v1/agent/tasks/t1/reschedule", EMMA, {"wake_at": "2030-01-01T00:00:00Z", "reason": "customer away"}),
    ("/v1/agent/tasks/t1/reclassify", EMMA, {"reason": "fraud"}),
    ("/v1/supervisor/tasks/t1/assign", SAM, {"agent_id": "farid"}),
    ("/v1/supervisor/tasks/t1/park", SAM, {"agent_id": "farid"}),
]
STRING_FIELDS = [(route, field) for route in BODY_ROUTES for field in route[2]]
ROUTE_IDS = [path.removeprefix("/v1/") for path, _, _ in BODY_ROUTES]
FIELD_IDS = [f"{route[0].removeprefix('/v1/')}:{field}" for route, field in STRING_FIELDS]


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog) as built:
        await built.ready("emma", "farid")
        built.store.queue(entry("t1"))
        built.store.holds["t1"] = Holder("emma", "workitem", "assign", T0)
        yield built


async def post(h: Harness, path: str, who: dict[str, str], content: bytes) -> Any:
    response = await h.client.post(path, content=content, headers={**who, **JSON})
    assert h.commands() == []
    return response


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("route", BODY_ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "case",
    [
        (nested_list(300), 422, "body.0.0"),  # 600 bytes: valid JSON, nested deeper than taken
        (nested_object(300), 422, "body.a.a"),
        (nested_list(1000), 422, "body"),  # 2 KB: deeper than the parser's stack
        ('{"x":' + nested_list(2000) + "}", 422, "body"),
        ('{"x": ' + nested_object(300) + "}", 422, "body.x.a"),
        ('{"x": ' + "1" * 5000 + "}", 400, None),  # more digits than Python reads: not JSON we take
    ],
    ids=["list-300", "object-300", "list-1000", "field-list-2000", "field-object-300", "5000-digits"],
)
async def test_deep_or_unreadable_bodies_are_a_4xx_naming_the_place(
    h: Harness, route: Route, case: tuple[str, int, str | None]
) -> None:
    (path, who, _), (content, status, loc) = route, case
    response = await post(h, path, who, content.encode())
    assert response.status_code == status
    if loc is not None:
        assert [e["loc"] for e in response.json()["errors"]] == [loc]
    assert response.json()["detail"]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_numbers_json_has_not_are_refused(h: Harness, route: Route, number: str) -> None:
    path, who, good = route
    field = next(iter(good))
    content = json.dumps({**good, field: "@"}).replace('"@"', number)
    response = await post(h, path, who, content.encode())
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "not valid JSON" in detail
    assert "not JSON" in detail or "out of range" in detail, detail


@pytest.mark.parametrize(("route", "field"), STRING_FIELDS, ids=FIELD_IDS)
@pytest.mark.parametrize(
    "bad",
    [
        ("x\u0000y", "must not contain U+0000 (NUL) (at character 1)"),
        ("\u0000", "must not contain U+0000 (NUL) (at character 0)"),
        ("lunch\ud800", "must not contain a lone surrogate U+D800 (at character 5)"),
        ("\udfff", "must not contain a lone surrogate U+DFFF"),
    ],
    ids=["nul-inside", "nul", "high-surrogate", "low-surrogate"],
)
async def test_strings_the_event_log_cannot_store_are_refused_by_field(
    h: Harness, route: Route, field: str, bad: tuple[str, str]
) -> None:
    (path, who, good), (text, msg) = route, bad
    response = await post(h, path, who, json.dumps({**good, field: text}).encode())
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["loc"], error["msg"].startswith(msg)) == (f"body.{field}", True), error


@pytest.mark.parametrize("route", BODY_ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("name", ["\u0000", "a\ud800"])
async def test_a_field_name_the_event_log_cannot_store_is_refused(h: Harness, route: Route, name: str) -> None:
    path, who, good = route
    response = await post(h, path, who, json.dumps({**good, name: 1}).encode())
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["loc"] == f"body.{printable(name)}"
    assert error["msg"].startswith("key must not contain")


@pytest.mark.parametrize(
    "path", ["/v1/agent/tasks/t1/start", "/v1/agent/heartbeat", "/v1/agent/claim/t9", "/v1/agent/next"]
)
async def test_routes_that_take_no_body_ignore_a_hostile_one(h: Harness, path: str) -> None:
    response = await h.client.post(path, content=nested_list(5000).encode(), headers={**EMMA, **JSON})
    assert response.status_code < 500
