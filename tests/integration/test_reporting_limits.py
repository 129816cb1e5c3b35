"""The reports API on real PostgreSQL: hostile input is a 4xx, a report past a limit is a 422, and a long
report does not stall the other requests of its process (they share one event loop, as in `workrouter up`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.infra import Infra
from tests.support.report_load import fill_visits
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.adapters.postgres.reports.limits import ReportLimits
from workrouter.adapters.postgres.reports.runner import SPECS
from workrouter.config.sources import hash_api_key
from workrouter.services.reporting.access import ReportsAccess
from workrouter.services.reporting.http import create_app

T0 = datetime(2026, 3, 2, tzinfo=UTC)
VISITS = 40_000  # one a second from T0: queue-detail over them is ~40,000 rows, 13 MB of JSON
WHOLE = f"from={T0:%Y-%m-%dT%H:%M:%SZ}&to={T0 + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
PROBE_EVERY = 0.02
STALL = 1.0  # longest /healthz may take to answer while reports run (it took 3 s before rendering left the loop)

ACCESS = ReportsAccess(key_sha256=hash_api_key("it-reports-key"))
KEY_HEADER = {"Authorization": "Bearer it-reports-key"}


@pytest.fixture(scope="module")
def loaded(infra: Infra) -> Iterator[tuple[str, str]]:
    """(database URL, schema) of an event log holding VISITS queue visits."""
    name = f"wr_limits_{uuid.uuid4().hex[:8]}"

    async def run(drop: bool) -> None:
        pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=1)
        try:
            if drop:
                await pool.execute(f"DROP SCHEMA {name} CASCADE")
            else:
                await EventLog(pool, schema=name).migrate()
                await fill_visits(pool, name, VISITS, T0)
        finally:
            await pool.close()

    asyncio.run(run(drop=False))
    yield infra.database_url, name
    asyncio.run(run(drop=True))


@pytest.fixture
async def reports(loaded: tuple[str, str]) -> AsyncIterator[Any]:
    """A function making an HTTP client of the reports app (with the limits given) over the loaded log."""
    url, schema = loaded
    pool = await asyncpg.create_pool(url, min_size=1, max_size=10)

    def make(**kwargs: Any) -> httpx.AsyncClient:
        app = create_app(EventLog(pool, schema=schema), access=ACCESS, **kwargs)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://reports", timeout=120, headers=KEY_HEADER
        )

    try:
        yield make
    finally:
        await pool.close()


@pytest.mark.parametrize(
    "query",
    [
        f"{WHOLE}&thresholds=99999999999",
        "from=0001-01-01T00:00:00%2B14:00&to=2026-11-03T00:00:00Z",
        "from=2026-11-02T00:00:00Z&to=9999-12-31T23:00:00-14:00",
        "from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z",
        f"{WHOLE}&tz=UTC%00",
        f"{WHOLE}&group=queue%00",
        f"{WHOLE}&tz=%ED%A0%80",
        f"{WHOLE}&tz=localtime&interval=hour",
    ],
)
async def test_the_inputs_that_were_500s_are_400s_naming_the_parameter(reports: Any, query: str) -> None:
    async with reports() as http:
        response = await http.get(f"/v1/reports/service-level?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["loc"] in ("from", "to", "tz", "group", "thresholds")


@pytest.mark.parametrize(
    ("period", "tz"),
    [
        ("from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00Z", "Pacific/Kiritimati"),
        ("from=2999-12-31T00:00:00Z&to=3000-01-01T00:00:00Z", "Etc/GMT%2B12"),
        ("from=2999-12-31T00:00:00Z&to=3000-01-01T00:00:00Z", "Pacific/Kiritimati"),
        ("from=1970-01-01T00:00:00Z&to=1971-02-05T00:00:00Z", "America/St_Johns"),
    ],
)
async def test_every_report_runs_at_the_edges_of_the_bounds(reports: Any, period: str, tz: str) -> None:
    async with reports() as http:
        for name in SPECS:
            for interval in SPECS[name].intervals:
                response = await http.get(f"/v1/reports/{name}?{period}&tz={tz}&interval={interval}&format=csv")
                if "1971" in period and interval == "15m":
                    assert response.status_code == 400, response.text  # 35,000 intervals
                else:
                    assert response.status_code == 200, (name, interval, response.text)


@pytest.mark.parametrize(
    ("limits", "limit"),
    [
        (ReportLimits(statement_timeout_seconds=0.2), "time"),
        (ReportLimits(max_cost=100_000), "cost"),
        (ReportLimits(max_rows=1000), "rows"),
    ],
)
async def test_a_report_past_a_limit_is_a_422_that_says_how_to_narrow_it(
    reports: Any, limits: ReportLimits, limit: str
) -> None:
    async with reports(limits=limits) as http:
        response = await http.get(f"/v1/reports/queue-detail?{WHOLE}")
        assert response.status_code == 422, response.text
        assert response.json()["limit"] == limit
        assert "narrow the period" in response.json()["detail"]
        narrow = await http.get(f"/v1/reports/queue-detail?from={T0:%Y-%m-%dT%H:%M:%SZ}&to={T0:%Y-%m-%dT%H}:10:00Z")
        assert narrow.status_code == 200, narrow.text
        assert len(narrow.json()["rows"]) == 599


async def test_healthz_answers_promptly_while_long_reports_run_on_the_same_event_loop(reports: Any) -> None:
    async with reports() as http:
        long_ones = [
            asyncio.create_task(http.get(f"/v1/reports/queue-detail?{WHOLE}")),
            asyncio.create_task(http.get(f"/v1/reports/queue-detail?{WHOLE}&format=csv")),
        ]
        waits: list[float] = []
        due = time.monotonic()
        deadline = due + 120
        while True:
            finished = all(t.done() for t in long_ones)  # one more probe after: the last stall counts too
            assert (await http.get("/healthz")).status_code == 200
            waits.append(time.monotonic() - due)  # from when it was due: a stalled loop wakes the probe late
            if finished:
                break
            assert time.monotonic() < deadline, "the reports did not finish within 120 s"
            due = time.monotonic() + PROBE_EVERY
            await asyncio.sleep(PROBE_EVERY)  # pacing between probes, not a wait for an outcome
        answers = [await t for t in long_ones]
    assert [a.status_code for a in answers] == [200, 200]
    assert len(answers[0].json()["rows"]) == VISITS
    assert len(waits) >= 6, "the reports finished before /healthz was probed while they ran"
    assert max(waits) < STALL, f"/healthz took {max(waits):.2f} s while reports ran ({len(waits)} probes)"


VALID = st.sampled_from(
    [
        "interval=hour",
        "interval=15m",
        "interval=day",
        "tz=Europe/Berlin",
        "tz=Asia/Kathmandu",
        "thresholds=20,60",
        "thresholds=1,31536000",
        "format=csv",
    ]
)
HOSTILE = st.one_of(
    st.sampled_from(
        [
            "to=2026-03-02T06:00:00%2B01:00",
            "from=1970-01-01T00:00:00Z",
            "to=3000-01-01T00:00:00Z",
            "from=1969-12-31T23:59:59-00:01",
            "thresholds=2147483648",
            "tz=posixrules",
            "group=",
            "interval=%00",
            "group=queue,channel",
            "group=skill",
            "group=code",
        ]
    ),
    st.builds(
        "{}={}".format,
        st.sampled_from(["from", "to", "interval", "group", "tz", "thresholds", "format"]),
        st.text(max_size=12).map(lambda t: "".join(f"%{b:02X}" for b in t.encode("utf-8", "surrogatepass"))),
    ),
)
QUERY = st.lists(st.one_of(VALID, HOSTILE), max_size=4, unique_by=lambda p: p.split("=")[0])


PERIOD = ["from=2026-03-02T00:00:00Z", "to=2026-03-02T01:00:00Z"]
PERIODS = st.sampled_from([[], PERIOD, PERIOD, PERIOD])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(SPECS)), period=PERIODS, parts=QUERY)
def test_any_query_string_gets_a_2xx_or_a_4xx_from_real_postgresql(
    loaded: tuple[str, str], name: str, period: list[str], parts: list[str]
) -> None:
    url, schema = loaded

    async def ask() -> httpx.Response:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            app = create_app(
                EventLog(pool, schema=schema), access=ACCESS, limits=ReportLimits(statement_timeout_seconds=10)
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://r", headers=KEY_HEADER) as http:
                return await http.get(f"/v1/reports/{name}?{'&'.join(period + parts)}")
        finally:
            await pool.close()

    response = asyncio.run(ask())
    event(f"status {response.status_code}")
    assert response.status_code < 500, response.text
