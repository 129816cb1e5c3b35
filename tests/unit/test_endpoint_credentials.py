"""The reports need a supervisor's token or the reports key; /metrics needs its token when one is set,
and refuses to listen beyond loopback without one (docs/security.md)."""

from __future__ import annotations

from typing import cast

import asyncpg
import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from tests.support.agent_api import seed_routing
from tests.support.fakes import RecordingBus
from workrouter.adapters.metrics_http import MetricsApp
from workrouter.adapters.postgres.event_log import EventLog
from workrouter.config.catalog import Catalog
from workrouter.config.sources import hash_api_key
from workrouter.services.api.app import create_app as api_app
from workrouter.services.reporting.access import ReportsAccess
from workrouter.services.reporting.http import create_app
from workrouter.settings import ProcessSettings

METRICS_TOKEN = "scrape-token-0123456789"
ACCESS = ReportsAccess(seed_routing(), hash_api_key("bi-tool-key"))
SCRAPE = MetricsApp(registry=CollectorRegistry(), token_sha256=hash_api_key(METRICS_TOKEN))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def status(path: str, headers: dict[str, str] | None = None) -> int:
    """The reports app as the process serves it: the process's /metrics in front (runtime.serve)."""
    app = SCRAPE.in_front_of(create_app(EventLog(cast(asyncpg.Pool, None), schema="unused"), access=ACCESS))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://reports") as http:
        return (await http.get(path, headers=headers or {})).status_code


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (None, 401),
        (bearer("nobody-knows-this"), 401),
        ({"Authorization": "Basic c2FtOnNhbQ=="}, 401),
        (bearer("alice-demo-token"), 403),  # an agent, not a supervisor
        (bearer("sam-demo-token"), 200),  # the seed's supervisor (a unit test may use the seed's example tokens)
        (bearer("bi-tool-key"), 200),  # WR_REPORTS_KEY_SHA256
    ],
)
async def test_the_reports_require_a_supervisor_or_the_reports_key(
    headers: dict[str, str] | None, expected: int
) -> None:
    assert await status("/v1/reports", headers) == expected
    if expected != 200:  # refused before any query (the event log here has no database)
        assert await status("/v1/tasks", headers) == expected


async def test_healthz_stays_open_and_metrics_follow_the_metrics_token() -> None:
    assert await status("/healthz") == 200
    assert await status("/metrics") == 401
    assert await status("/metrics", bearer("sam-demo-token")) == 401  # a supervisor's token is not the scrape token
    assert await status("/metrics", bearer(METRICS_TOKEN)) == 200
    assert await status("/v1/reports", bearer(METRICS_TOKEN)) == 401  # nor is the scrape token a reports credential


async def test_the_api_metrics_follow_the_metrics_token(catalog: Catalog) -> None:
    app = SCRAPE.in_front_of(api_app(catalog, RecordingBus()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        refused = await http.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert (await http.get("/metrics", headers=bearer(METRICS_TOKEN))).status_code == 200
        assert (await http.get("/healthz")).json() == {"status": "ok"}  # the api's own


async def test_the_metrics_endpoint_requires_its_token_when_set() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=SCRAPE), base_url="http://metrics") as http:
        refused = await http.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in refused.text
        assert (await http.get("/metrics", headers=bearer("wrong"))).status_code == 401
        assert (await http.get("/metrics", headers=bearer(METRICS_TOKEN))).status_code == 200
        assert (await http.get("/healthz")).status_code == 200


def test_metrics_beyond_loopback_need_a_token() -> None:
    with pytest.raises(ValidationError, match=r"WR_METRICS_HOST=0\.0\.0\.0 would open /metrics to the network"):
        ProcessSettings(metrics_host="0.0.0.0", metrics_port=9100)
    ProcessSettings(metrics_host="0.0.0.0", metrics_port=9100, metrics_token_sha256=hash_api_key(METRICS_TOKEN))
    ProcessSettings(metrics_host="0.0.0.0", metrics_port=0)
    for loopback in ("127.0.0.1", "::1", "localhost"):
        ProcessSettings(metrics_host=loopback, metrics_port=9100)
