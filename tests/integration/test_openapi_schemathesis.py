"""Both apps against their own OpenAPI documents (schemathesis), on real PostgreSQL and Redis.

The apps are assembled as `workrouter up` assembles them (see test_pipe_property.py). Schemathesis draws
requests from each document, bodies included, with valid credentials; every answer must be no 5xx, a
documented status, of a documented content type, and conform to the documented schema. The event
stream (`GET /v1/agent/events`) is left out: it answers until the client disconnects.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.openapi import from_dict

from tests.support.credentials import seed_with_secret_files
from tests.support.infra import Infra
from workrouter.embedded.process import Addresses, assemble_all, build_memory_bus
from workrouter.runtime import Wiring

pytestmark = pytest.mark.timeout(300)
EXAMPLES = int(os.environ.get("WR_OPENAPI_EXAMPLES", "15"))  # per operation
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CRM = {"X-API-Key": "crm-demo-key"}
ALICE = {"Authorization": "Bearer alice-demo-token"}
SAM = {"Authorization": "Bearer sam-demo-token"}
LEFT_OUT = {("GET", "/v1/agent/events")}


def credentials(app: str, path: str) -> dict[str, str]:
    """Valid credentials for a route: the source's key, the agent's token, or the supervisor's."""
    if app == "reports":
        return SAM  # the reports need a supervisor (or a reports key)
    if path.startswith("/v1/supervisor") or path.endswith("/explain"):
        return SAM
    return ALICE if path.startswith("/v1/agent") else CRM


def cases(schema: schemathesis.BaseSchema, count: int) -> list[Case[Any]]:
    """`count` cases of every operation (deterministic), bodies included."""
    drawn: list[Case[Any]] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if (operation.method.upper(), operation.path) in LEFT_OUT:
            continue

        @settings(
            max_examples=count,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            deadline=None,
        )
        @given(case=operation.as_strategy())
        def collect(case: Case[Any]) -> None:
            drawn.append(case)

        collect()
    return drawn


def as_httpx(case: Case[Any], headers: dict[str, str]) -> dict[str, Any]:
    """The case as arguments of httpx's `request`, with `headers` over the generated ones."""
    kwargs = case.as_transport_kwargs(base_url="http://app", headers=headers)
    kwargs.pop("cookies", None)
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    return kwargs


@pytest.fixture
async def apps(
    infra: Infra, fresh_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[dict[str, Any]]:
    monkeypatch.setenv("WR_REDIS_PREFIX", f"oas{uuid.uuid4().hex[:8]}")
    bus = build_memory_bus()
    at = Addresses(config_dir=seed_with_secret_files(tmp_path / "config"), log_level="ERROR")
    wiring: Wiring = await assemble_all(bus, at, fresh_database, infra.redis_url)
    await bus.start()
    try:
        yield {endpoint.name: endpoint.app for endpoint in wiring.http}
    finally:
        for step in wiring.stopping:
            await step()
        await bus.stop()
        for step in wiring.cleanup:
            await step()


async def test_both_apps_answer_as_their_openapi_documents_say(apps: dict[str, Any]) -> None:
    started = time.monotonic()
    failures: list[str] = []
    statuses: Counter[tuple[str, int]] = Counter()
    total = 0
    for name in ("api", "reports"):
        app = apps[name]
        schema = from_dict(app.openapi())
        drawn = cases(schema, EXAMPLES)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            for case in drawn:
                headers = credentials(name, case.operation.path)
                kwargs = as_httpx(case, headers)
                response = await client.request(**kwargs)
                total += 1
                statuses[(f"{case.method} {case.operation.path}", response.status_code)] += 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except (AssertionError, BaseExceptionGroup) as exc:  # a FailureGroup: collected, reported together
                    failures.append(f"{name} {case.method} {kwargs['url']} -> {response.status_code}: {exc}"[:1500])
    print(f"schemathesis: {total} requests in {time.monotonic() - started:.1f} s")
    print("schemathesis statuses:", dict(sorted(statuses.items())))
    assert not failures, "\n\n".join(failures[:20]) + f"\n\n({len(failures)} failures)"
    assert total > 20 * EXAMPLES
