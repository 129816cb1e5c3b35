"""The OpenAPI documents of both apps declare every request body and every status a route answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, cast

import asyncpg
import pytest

from tests.support.agent_api import Clock, Harness, harness, seed_routing
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.config.catalog import Catalog
from workrouter.services.api.passwords import PasswordSignIn
from workrouter.services.api.sign_in import SignIn
from workrouter.services.reporting.access import ReportsAccess
from workrouter.services.reporting.http import create_app as reports_app

# (method, path) -> whether the body is required; every other operation takes no body.
BODIES = {
    ("post", "/v1/tasks"): True,
    ("patch", "/v1/tasks/{external_id}"): True,
    ("post", "/v1/tasks/{external_id}/cancel"): False,
    ("post", "/v1/tasks/{external_id}/complete"): False,
    ("post", "/v1/tasks/{external_id}/reschedule"): True,
    ("post", "/v1/tasks/{external_id}/pause"): False,
    ("post", "/v1/tasks/{external_id}/resume"): False,
    ("post", "/v1/agent/presence"): True,
    ("post", "/v1/agent/offers/{task_id}/{answer}"): False,
    ("post", "/v1/agent/tasks/{task_id}/complete"): False,
    ("post", "/v1/agent/tasks/{task_id}/transfer"): True,
    ("post", "/v1/agent/tasks/{task_id}/reschedule"): True,
    ("post", "/v1/agent/tasks/{task_id}/reclassify"): True,
    ("post", "/v1/supervisor/tasks/{task_id}/{action}"): True,
    ("post", "/v1/supervisor/tasks/{task_id}/move"): True,
    ("post", "/v1/supervisor/tasks/bulk"): True,
    ("post", "/v1/supervisor/tasks/{task_id}/override"): True,
    ("put", "/v1/supervisor/agents/{agent_id}"): True,
    ("put", "/v1/supervisor/agents/{agent_id}/queues/{queue}"): True,
}
TOKEN = ("post", "/v1/auth/token")  # only where local users sign in with a password
NO_ERRORS = {"/healthz", "/v1/reports"}


@pytest.fixture(params=["tokens", "passwords"])
async def h(catalog: Catalog, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """The api as configured with demo tokens only, and with local users' passwords (the sign-in route)."""
    sign_in = None
    if request.param == "passwords":
        clock = Clock()
        routing = replace(seed_routing(), agent_passwords={"emma": "$argon2id$unused"})
        sign_in = SignIn(routing, passwords=PasswordSignIn(routing.agent_passwords, b"s" * 32, clock=clock))
    async with harness(catalog, sign_in=sign_in) as built:
        yield built


def bodies(doc: dict[str, Any]) -> dict[tuple[str, str], bool]:
    """BODIES, with the sign-in's when the app has that route."""
    return BODIES | ({TOKEN: True} if TOKEN[1] in doc["paths"] else {})


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in doc["paths"].items() for method, op in item.items()]


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The component names a schema refers to, each checked to exist."""
    names = [v.rsplit("/", 1)[-1] for v in _refs(schema)]
    missing = [n for n in names if n not in doc["components"]["schemas"]]
    assert not missing, missing
    return names


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*([node["$ref"]] if "$ref" in node else []), *(r for v in node.values() for r in _refs(v))]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_the_api_document_declares_every_body_and_every_problem(h: Harness) -> None:
    doc = (await h.client.get("/openapi.json")).json()
    expected, seen = bodies(doc), set()
    for method, path, op in operations(doc):
        where = f"{method.upper()} {path}"
        if (method, path) in expected:
            seen.add((method, path))
            body = op.get("requestBody")
            assert body is not None, where
            assert body["required"] is expected[(method, path)], where
            assert resolve(doc, body["content"]["application/json"]["schema"]), where
        else:
            assert "requestBody" not in op, where
        errors = {status: r for status, r in op["responses"].items() if status[0] in "45"}
        assert errors or path in NO_ERRORS, where
        for status, response in errors.items():
            assert "Problem" in resolve(doc, response["content"]["application/problem+json"]["schema"]), (where, status)
        if path.startswith(("/v1/agent", "/v1/supervisor")) or path.endswith("/explain"):
            assert "401" in errors, where
    assert seen == set(expected)
    assert (TOKEN in seen) is (h.routing.agent_passwords != {}), "the sign-in route is there with passwords only"
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    bulk = doc["paths"]["/v1/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert bulk[1]["items"] == bulk[0] == {"$ref": "#/components/schemas/CaptureTaskBody"}


def reachable(doc: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """The component names a schema refers to, and those they refer to, and so on."""
    found: set[str] = set()
    todo = resolve(doc, schema)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += resolve(doc, doc["components"]["schemas"][name])
    return found


async def test_every_request_body_field_is_described(h: Harness) -> None:
    """Each field of a body, and of every model inside one, says what it means to a caller."""
    doc = (await h.client.get("/openapi.json")).json()
    missing = []
    for method, path, op in operations(doc):
        for name in sorted(reachable(doc, op.get("requestBody", {}))):
            for field, schema in doc["components"]["schemas"][name].get("properties", {}).items():
                if not schema.get("description"):
                    missing.append(f"{method.upper()} {path}: {name}.{field}")
    assert missing == []


async def test_the_reports_document_declares_its_problem_documents() -> None:
    app = reports_app(EventLog(cast(asyncpg.Pool, None), schema="unused"), access=ReportsAccess())
    doc = app.openapi()
    for method, path, op in operations(doc):
        errors = {status: r for status, r in op["responses"].items() if status[0] in "45"}
        assert errors or path in NO_ERRORS, f"{method} {path}"
        for status, response in errors.items():
            names = resolve(doc, response["content"]["application/problem+json"]["schema"])
            assert names == ["Problem"], (path, status)
    statuses = {"200", "400", "401", "403", "404", "422", "429", "503"}
    assert set(doc["paths"]["/v1/reports/{name}"]["get"]["responses"]) == statuses
    assert "HTTPValidationError" not in doc["components"]["schemas"]
