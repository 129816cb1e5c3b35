"""The reporting API refuses hostile input with a 4xx problem document naming the parameter, never a 5xx
(a fake runner here, no database; tests/integration/test_reporting_limits.py does the same on PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import asyncpg
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workrouter.adapters.postgres.event_log import EventLog
from workrouter.adapters.postgres.reports.limits import ReportLimits, ReportRefusedError
from workrouter.adapters.postgres.reports.runner import Report, spec
from workrouter.cli import main
from workrouter.config.sources import hash_api_key
from workrouter.domain.reporting.request import ReportRequest
from workrouter.services.reporting.access import ReportsAccess
from workrouter.services.reporting.http import create_app
from workrouter.services.reporting.query import strict_query
from workrouter.services.reporting.service import ReportingSettings

PERIOD = "from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z"
ACCESS = ReportsAccess(key_sha256=hash_api_key("unit-reports-key"))
KEY_HEADER = {"Authorization": "Bearer unit-reports-key"}


async def fake_run(pool: object, name: str, request: ReportRequest, **_: Any) -> Report:
    """What run_report checks before any query, then one row of hostile text."""
    request = request.for_spec(spec(name))
    return Report(name, ("queue", "offered"), [{"queue": "=1+1", "offered": -3}], request)


def client(**kwargs: Any) -> httpx.AsyncClient:
    app = create_app(
        EventLog(cast(asyncpg.Pool, None), schema="unused"), **{"run": fake_run, "access": ACCESS, **kwargs}
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://reports", headers=KEY_HEADER)


async def get(url: str, **kwargs: Any) -> httpx.Response:
    async with client(**kwargs) as http:
        return await http.get(url)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        (f"{PERIOD}&thresholds=99999999999", "thresholds"),
        ("from=0001-01-01T00:00:00%2B14:00&to=2026-11-03T00:00:00Z", "from"),
        ("from=2026-11-02T00:00:00Z&to=9999-12-31T23:00:00-14:00", "to"),
        ("from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z", "to"),
        (f"{PERIOD}&tz=UTC%00", "tz"),
        (f"{PERIOD}&group=queue%00", "group"),
        (f"{PERIOD}&tz=%ED%A0%80", "tz"),  # a lone surrogate, UTF-8 encoded: not UTF-8
        (f"{PERIOD}&tz=%FF", "tz"),
        (f"{PERIOD}&tz=", "tz"),
        (f"{PERIOD}&format=csv&format=json", "format"),
        (f"{PERIOD}&format=xml", "format"),
        (f"{PERIOD}&intreval=hour", "intreval"),
        (f"{PERIOD}&group=agent", "group"),
        (f"{PERIOD}&interval=15m&interval=15m", "interval"),
        ("from=2026-11-02T00:00:00+01:00&to=2026-11-03T00:00:00Z", "from"),
        (f"{PERIOD}&" + "&".join(f"x{i}=1" for i in range(30)), "query"),
    ],
)
async def test_hostile_parameters_get_a_400_problem_naming_them(query: str, parameter: str) -> None:
    response = await get(f"/v1/reports/service-level?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["title"]) == (400, "bad request")
    assert parameter in [e["loc"] for e in body["errors"]]
    assert body["detail"]


async def test_an_unknown_report_is_a_404_that_does_not_echo_much() -> None:
    response = await get("/v1/reports/" + "%00" + "x" * 5000 + f"?{PERIOD}")
    assert response.status_code == 404
    assert len(response.json()["detail"]) < 300


async def test_a_report_over_a_limit_is_a_422_saying_how_to_narrow_it() -> None:
    async def too_big(*_: Any, **__: Any) -> Report:
        raise ReportRefusedError("cost", "the report is estimated to cost 9 ...; narrow the period")

    response = await get(f"/v1/reports/queue-summary?{PERIOD}", run=too_big)
    assert response.status_code == 422
    assert (response.json()["limit"], response.json()["title"]) == ("cost", "unprocessable content")


async def test_reports_past_the_concurrency_limit_get_a_429_with_retry_after() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(pool: object, name: str, request: ReportRequest, **_: Any) -> Report:
        started.set()
        await release.wait()
        return await fake_run(pool, name, request)

    async with client(run=slow, concurrent=1, wait_seconds=0.05) as http:
        first = asyncio.create_task(http.get(f"/v1/reports/queue-summary?{PERIOD}"))
        async with asyncio.timeout(10):
            await started.wait()
        second = await http.get(f"/v1/reports/queue-summary?{PERIOD}")
        release.set()
        assert (await first).status_code == 200
    assert second.status_code == 429
    assert second.headers["retry-after"] == "5"


async def test_csv_cells_are_neutralised_and_json_is_unchanged() -> None:
    csv_text = (await get(f"/v1/reports/queue-summary?{PERIOD}&format=csv")).text
    assert csv_text.splitlines()[1] == "'=1+1,-3"
    assert (await get(f"/v1/reports/queue-summary?{PERIOD}")).json()["rows"] == [{"queue": "=1+1", "offered": -3}]


@pytest.mark.parametrize(
    "query",
    [
        "status=%00",
        "queue=%ED%A0%80",
        "status=nonsense",
        "limit=99999999999999999999",
        "open=maybe",
        "x=1",
        "escalated=2",
        "error_held=%E2%9C%93",
        "order=priority",
        "type=" + "t" * 257,
        "source=crm%0A",
        "agent=a&agent=b",
    ],
)
async def test_the_task_list_refuses_hostile_filters_by_name(query: str) -> None:
    response = await get(f"/v1/tasks?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == query.partition("=")[0]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/tasks/%00", "task_id"),
        ("/v1/tasks/" + "x" * 257 + "/history", "task_id"),
        ("/v1/tasks/t1?format=csv", "format"),
        ("/v1/tasks/t1/history?after=1.5", "after"),
        ("/v1/tasks/t1/history?limit=0&limit=1", "limit"),
    ],
)
async def test_a_task_read_refuses_hostile_input_before_any_query(path: str, parameter: str) -> None:
    response = await get(path)  # the event log here has no database: a query would be a 500
    assert response.status_code == 400, response.text
    assert [e["loc"] for e in response.json()["errors"]] == [parameter]


def test_a_query_string_is_read_strictly() -> None:
    assert strict_query(b"from=a+b&to=%2B1&tz=", ("from", "to", "tz")) == {"from": "a b", "to": "+1", "tz": ""}
    assert strict_query(b"&&", ("from",)) == {}


QUERY_PARTS = st.one_of(
    st.sampled_from(
        [
            "from=2026-11-02T00:00:00Z",
            "to=2026-11-03T00:00:00Z",
            "to=2026-11-02T12:00:00%2B01:00",
            "interval=hour",
            "interval=15m",
            "group=queue,channel",
            "group=skill",
            "tz=Europe/Berlin",
            "thresholds=20,60",
            "format=csv",
            "from=0001-01-01T00:00:00%2B14:00",
            "to=9999-12-31T23:59:59-14:00",
            "tz=%00",
        ]
    ),
    st.builds(
        lambda k, v: f"{k}={v}",
        st.sampled_from(["from", "to", "interval", "group", "tz", "thresholds", "format", "other"]),
        st.text(max_size=30).map(lambda t: "".join(f"%{b:02X}" for b in t.encode("utf-8", "surrogatepass"))),
    ),
    st.binary(max_size=20).map(lambda b: "".join(f"%{x:02X}" for x in b)),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(["service-level", "queue-summary", "fairness", "tasks", "nope"]), parts=st.lists(QUERY_PARTS)
)
def test_any_query_string_gets_a_2xx_or_a_4xx_never_a_5xx(name: str, parts: list[str]) -> None:
    response = asyncio.run(get(f"/v1/reports/{name}?{'&'.join(parts)}"))
    assert response.status_code in (200, 400, 404), response.text


def test_the_cli_refuses_the_same_parameters_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "report",
                "service-level",
                "--from",
                "2026-11-02T00:00:00Z",
                "--to",
                "2026-11-03T00:00:00Z",
                "--thresholds",
                "99999999999",
                "--tz",
                "UTC\udcff",
            ]
        )
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--thresholds: service-level thresholds are whole seconds from 1 to 31,536,000" in err
    assert "--tz: has U+DCFF" in err


def test_the_limits_are_settings_of_the_reporting_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WR_REPORTS_STATEMENT_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("WR_REPORTS_MAX_COST", "0")
    assert ReportingSettings().report_limits() == ReportLimits(statement_timeout_seconds=2.5, max_cost=0)
