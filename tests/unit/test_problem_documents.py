"""Every error either app answers is one RFC 9457 problem document, FastAPI's own 404 and 405 included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.agent_api import Harness, auth, harness
from workrouter import cli
from workrouter.config.catalog import Catalog
from workrouter.services.problems import MEDIA_TYPE, Problem, title


@pytest.fixture
async def h(catalog: Catalog) -> AsyncIterator[Harness]:
    async with harness(catalog) as built:
        yield built


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body: dict[str, Any] = response.json()
    Problem.model_validate(body)  # the documented schema, nothing more
    assert (body["type"], body["status"], body["title"]) == ("about:blank", status, title(status))
    assert body["detail"].strip()
    return body


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/no/such/route", 404),
        ("DELETE", "/v1/tasks", 405),
        ("GET", "/v1/agent/workbins/claims", 401),
        ("POST", "/v1/tasks", 401),
    ],
)
async def test_framework_and_credential_errors_are_problem_documents(
    h: Harness, method: str, path: str, status: int
) -> None:
    assert_problem(await h.client.request(method, path), status)


async def test_a_refused_field_is_named_in_a_problem_document(h: Harness) -> None:
    await h.ready("sam")
    response = await h.client.post("/v1/agent/presence", json={"presence": "dancing"}, headers=auth("sam"))
    body = assert_problem(response, 422)
    assert any("presence" in e["loc"] for e in body["errors"]), body


async def test_a_405_keeps_its_allow_header(h: Harness) -> None:
    response = await h.client.request("DELETE", "/v1/tasks")
    assert_problem(response, 405)
    assert "POST" in response.headers["allow"]


def test_titles_are_the_statuses_names() -> None:
    assert (title(400), title(422), title(429), title(503), title(599)) == (
        "bad request",
        "unprocessable content",
        "too many requests",
        "unavailable",
        "error",
    )


def test_the_cli_s_reclassification_says_who_asked() -> None:
    args = cli.parser().parse_args(["reclassify", "t1"])
    assert args.by.startswith("cli:")
    assert "@" in args.by
    named = cli.parser().parse_args(["reclassify", "t1", "--by", "lead-anna"])
    assert named.by == "lead-anna"


def test_the_cli_s_reclassification_refuses_to_publish_on_a_private_in_process_bus(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An in-process bus belongs to the process that runs it: published there, the command would reach nobody
    and the supervisor would believe it done. It says so and exits 2 instead."""
    monkeypatch.delenv("WR_BROKER_URL", raising=False)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["reclassify", "t1"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "nothing sent" in err
    assert "WR_BROKER_URL=kafka://" in err
