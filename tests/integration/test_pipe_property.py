"""The whole pipe in one process, probed as a careless or hostile source and client would.

Every service is assembled as `workrouter up` assembles it (the in-process bus, real PostgreSQL and
Redis). Hypothesis sends at least 10,000 generated requests — valid work items with one to three
fields swapped for extremes, updates and lifecycle commands on them, and any body or path to any
route of the api and the reports app. Then: no request got a 5xx; every work item answered with 202
reached a visible state (a row in the task list, or a TaskRejected in the event log); nothing was
dead-lettered by any consumer.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.credentials import seed_with_secret_files
from tests.support.infra import Infra
from tests.support.wait import wait_until_async
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.bus.port import Delivery
from workrouter.contracts.envelope import Envelope
from workrouter.domain.capture import task_id_for
from workrouter.embedded.process import Addresses, assemble_all, build_memory_bus
from workrouter.runtime import Wiring

pytestmark = pytest.mark.timeout(900)
EXAMPLES = int(os.environ.get("WR_PIPE_EXAMPLES", "10000"))  # fewer for a quick local look
CRM = {"X-API-Key": "crm-demo-key"}
ALICE = {"Authorization": "Bearer alice-demo-token"}
SAM = {"Authorization": "Bearer sam-demo-token"}

NASTY_TEXT = [
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\u202e", "é", "🙂", "\t", "\n", "\r\n", "\x7f",
    "=cmd|' /C calc'!A0", "<script>alert(1)</script>", "'; DROP TABLE task_state;--",
    "%00", "\\u0000", "../../etc/passwd", "NaN", "null", "true", "0", "-1", "1e999",
]  # fmt: skip
NASTY_NUMBERS = [0, -1, 1, 1000, 1001, 2**31, 2**63, 2**64, 10**12, 10**30, -(2**63) - 1, 0.5, -0.0, 1e308]
NASTY_TIMES = [
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z", "2999-12-31T23:59:59Z",
    "3000-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-23T09:00:00",
    "2026-11-23", "now", "", "2026-11-23T09:00:00+24:00", "2026-11-23T09:00:00.1234567Z",
]  # fmt: skip
URLS = [
    "https://crm.example.com/cases/1", "http://127.0.0.1/x", "javascript:alert(1)", "JAVASCRIPT:alert(1)",
    "data:text/html,x", "file:///etc/passwd", "//evil.example.com", "https://", "http://[::1", "ftp://x/y",
    "https://a b", "https://x.example.com:99999/", "https://x.example.com/\x00",
]  # fmt: skip

texts = st.one_of(
    st.text(max_size=30), st.sampled_from(NASTY_TEXT), st.sampled_from([65, 257, 501, 10_001]).map("x".__mul__)
)
numbers = st.one_of(st.integers(-5, 1200), st.sampled_from(NASTY_NUMBERS), st.booleans())
offsets = st.sampled_from([timezone(timedelta(hours=h, minutes=m)) for h, m in ((-14, 0), (0, 0), (5, 30), (14, 0))])
times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets).map(
        lambda t: t.isoformat()
    ),
    st.sampled_from(NASTY_TIMES),
)
json_leaves = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    json_leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=8
)
anything = st.one_of(json_values, times, st.sampled_from(URLS))


def nested(levels: int) -> dict[str, Any]:
    """An object `levels` deep."""
    doc: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        doc = {"a": doc}
    return doc


FIELD_EXTREMES: dict[str, st.SearchStrategy[Any]] = {
    "external_id": texts,
    "type": st.one_of(texts, st.sampled_from(["claim", "lead", "tech_ticket", "pizza"])),
    "title": texts,
    "description": texts,
    "url": st.one_of(st.sampled_from(URLS), texts),
    "channel": st.one_of(st.sampled_from(["workitem", "voice", "email", "carrier-pigeon"]), texts),
    "attributes": st.one_of(
        st.dictionaries(texts, json_values, max_size=4), st.integers(0, 40).map(nested), json_values
    ),
    "priority": numbers,
    "due_at": times,
    "expires_at": times,
    "sla_seconds": numbers,
    "requested_agent": st.one_of(st.sampled_from(["alice", "bob", "nobody"]), texts),
    "surprise": anything,
}


def valid_task(n: int | str) -> dict[str, Any]:
    """A work item every service takes."""
    return {
        "external_id": f"P-{n}",
        "type": "claim",
        "title": f"Claim {n}",
        "attributes": {"department": "Claims", "segment": "Silver", "amount": len(str(n)) * 100},
    }


@st.composite
def capture_bodies(draw: st.DrawFn, n: int | str) -> dict[str, Any]:
    """A valid work item with zero to three fields replaced by an extreme (or an unknown field added)."""
    body = valid_task(n)
    for name in draw(st.lists(st.sampled_from(sorted(FIELD_EXTREMES)), max_size=3, unique=True)):
        body[name] = draw(FIELD_EXTREMES[name])
    return body


def raw(doc: Any) -> bytes:
    """JSON as a careless client writes it: NaN and lone surrogates pass, escaped."""
    return json.dumps(doc, ensure_ascii=True, allow_nan=True).encode()


@dataclass(frozen=True)
class Request:
    """One generated request to one of the two apps."""

    app: str
    name: str
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def seg(text: str) -> str:
    """A path segment percent-encoded as a client would (a lone surrogate becomes invalid UTF-8 bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def known_ext(n: int) -> st.SearchStrategy[str]:
    """An external id some earlier request may have created, or anything."""
    return st.one_of(st.integers(0, EXAMPLES).map(lambda k: f"P-{k}"), texts).map(seg)


def known_task(n: int) -> st.SearchStrategy[str]:
    """A task id some earlier request may have created, or anything."""
    ours = st.integers(0, EXAMPLES).map(lambda k: task_id_for("crm", f"P-{k}"))
    return st.one_of(ours, texts.map(seg))


def other_request(data: st.DataObject, n: int) -> Request:  # noqa: C901 - one branch per kind of request drawn
    """Any route of the api or the reports app, with any body."""
    who = data.draw(st.sampled_from([CRM, ALICE, SAM, {}, {"Authorization": "Bearer x"}]))
    body = data.draw(json_values)
    route = data.draw(st.sampled_from(ROUTES))
    if route == "update":
        return Request("api", route, "PATCH", f"/v1/tasks/{data.draw(known_ext(n))}", body, CRM)
    if route == "lifecycle":
        action = data.draw(st.sampled_from(["cancel", "complete", "reschedule", "pause", "resume", "explode"]))
        body = data.draw(st.one_of(json_values, st.fixed_dictionaries({"wake_at": times, "reason": texts})))
        return Request("api", route, "POST", f"/v1/tasks/{data.draw(known_ext(n))}/{action}", body, CRM)
    if route == "presence":
        body = data.draw(st.one_of(json_values, st.fixed_dictionaries({"status": texts, "reason": texts})))
        return Request("api", route, "POST", "/v1/agent/presence", body, who)
    task = data.draw(known_task(n))
    if route == "offer":
        answer = data.draw(st.sampled_from(["accept", "reject", "x"]))
        body = data.draw(st.one_of(json_values, st.fixed_dictionaries({"offer_id": texts})))
        return Request("api", route, "POST", f"/v1/agent/offers/{task}/{answer}", body, who)
    if route == "agent-task":
        action = data.draw(st.sampled_from(["start", "complete", "transfer", "reschedule", "reclassify"]))
        return Request("api", route, "POST", f"/v1/agent/tasks/{task}/{action}", body, who)
    if route == "supervisor":
        action = data.draw(st.sampled_from(["assign", "park", "x"]))
        return Request("api", route, "POST", f"/v1/supervisor/tasks/{task}/{action}", body, who)
    if route == "workbin":
        return Request("api", route, "GET", f"/v1/agent/workbins/{seg(data.draw(texts))}", None, who)
    if route == "claim":
        return Request("api", route, "POST", f"/v1/agent/claim/{task}", body, who)
    if route == "next":
        return Request("api", route, "POST", "/v1/agent/next", body, who)
    if route == "explain":
        return Request("api", route, "GET", f"/v1/tasks/{task}/explain", None, who)
    if route == "task":  # a task's detail or history (reports)
        path = f"/v1/tasks/{task}" + data.draw(st.sampled_from(["", "/history"]))
        return Request("reports", route, "GET", path, None, SAM, data.draw(st.one_of(st.just({}), odd_params)))
    if route == "task-list":
        return Request("reports", route, "GET", "/v1/tasks", None, SAM, data.draw(report_params))
    name = data.draw(st.sampled_from(["queue-summary", "service-level", "tasks", "wrap-up", "fairness", "nope"]))
    return Request("reports", route, "GET", f"/v1/reports/{name}", None, SAM, data.draw(report_params))


ROUTES = [
    "update", "lifecycle", "presence", "offer", "agent-task", "supervisor", "workbin", "claim", "next", "explain",
    "task-list", "task", "report",
]  # fmt: skip
REPORT_NAMES = ["from", "to", "interval", "group", "tz", "thresholds", "format", "queue", "status", "limit", "x"]
odd_params = st.dictionaries(
    st.sampled_from([*REPORT_NAMES, "type", "escalated", "error_held", "order", "after"]),
    st.one_of(times, texts, numbers.map(str)),
    max_size=4,
)
sane_params = st.fixed_dictionaries(
    {"from": st.just("2026-11-01T00:00:00Z"), "to": st.just("2026-12-31T00:00:00Z")},
    optional={
        "interval": st.sampled_from(["15m", "hour", "day", "total", "week"]),
        "tz": st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Kiritimati", "Mars/Base"]),
        "thresholds": st.sampled_from(["20,60", "0", "99999999999", "10,5"]),
        "format": st.sampled_from(["json", "csv"]),
    },
)
report_params = st.one_of(sane_params, odd_params, st.tuples(sane_params, odd_params).map(lambda p: {**p[0], **p[1]}))


def generate(count: int) -> list[Request]:
    """`count` requests drawn by hypothesis (deterministic), half of them work items."""
    drawn: list[Request] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def collect(data: st.DataObject) -> None:
        n = len(drawn)
        kind = data.draw(st.sampled_from(["capture"] * 4 + ["bulk", "other", "other", "other"]))
        if kind == "capture":
            drawn.append(Request("api", "capture", "POST", "/v1/tasks", data.draw(capture_bodies(n)), CRM))
        elif kind == "bulk":
            items = [data.draw(capture_bodies(f"{n}-{i}")) for i in range(data.draw(st.integers(1, 4)))]
            drawn.append(Request("api", "bulk", "POST", "/v1/tasks", items, CRM))
        else:
            drawn.append(other_request(data, n))

    collect()
    return drawn


@dataclass
class Probe:
    """The running pipe."""

    bus: MemoryBus
    clients: dict[str, httpx.AsyncClient]
    database_url: str
    dead: list[Envelope]


@pytest.fixture
async def probe(
    infra: Infra, fresh_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[Probe]:
    monkeypatch.setenv("WR_REDIS_PREFIX", f"pipe{uuid.uuid4().hex[:8]}")
    bus = build_memory_bus()
    at = Addresses(config_dir=seed_with_secret_files(tmp_path / "config"), log_level="ERROR")
    wiring: Wiring = await assemble_all(bus, at, fresh_database, infra.redis_url)
    dead: list[Envelope] = []

    async def dead_letter(envelope: Envelope, _: Delivery) -> None:
        dead.append(envelope)

    bus.subscribe("wr.deadletter", "probe", dead_letter)
    await bus.start()
    apps = {endpoint.name: endpoint.app for endpoint in wiring.http}
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps["api"]), base_url="http://api", timeout=30) as api,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=apps["reports"]), base_url="http://reports", timeout=30
        ) as reports,
    ):
        try:
            yield Probe(bus, {"api": api, "reports": reports}, fresh_database, dead)
        finally:
            for step in wiring.stopping:
                await step()
            await bus.stop()
            for step in wiring.cleanup:
                await step()


async def test_every_accepted_item_reaches_a_visible_state_and_nothing_gets_a_5xx(probe: Probe) -> None:
    requests = generate(EXAMPLES)
    assert len(requests) >= EXAMPLES * 0.95, len(requests)
    statuses: Counter[tuple[str, int]] = Counter()
    accepted: dict[str, str] = {}
    for number, request in enumerate(requests):
        content = None if request.body is None else raw(request.body)
        query = "&".join(f"{seg(k)}={seg(v)}" for k, v in request.params.items())
        url = f"{request.path}?{query}" if query else request.path
        response = await probe.clients[request.app].request(
            request.method, url, content=content, headers=request.headers
        )
        statuses[(request.name, response.status_code)] += 1
        where = f"request {number}: {request.method} {request.path} {repr(request.body)[:300]} {request.params}"
        assert response.status_code < 500, f"{where} -> {response.status_code} {response.text[:300]}"
        if response.status_code >= 400:
            assert response.json()["detail"], f"{where} -> {response.text[:300]}"
        if request.name == "capture" and response.status_code == 202:
            accepted[request.body["external_id"]] = response.json()["task_id"]
        if request.name == "bulk" and response.status_code in (202, 207):
            for result in response.json()["results"]:
                if result["status"] == "accepted":
                    accepted[request.body[result["index"]]["external_id"]] = result["task_id"]
        if number % 1000 == 999:
            print(f"pipe probe: {number + 1} requests, {len(accepted)} items accepted", flush=True)

    left = await probe.bus.drain(180)
    assert left == 0, f"{left} events not handled by every service"
    assert probe.dead == [], [d.data for d in probe.dead[:3]]
    conn = await asyncpg.connect(probe.database_url)
    try:

        async def all_visible() -> bool:
            listed = await conn.fetch("SELECT external_id FROM task_state WHERE source = 'crm'")
            refused = await conn.fetch(
                "SELECT data->>'external_id' AS e FROM event_log WHERE type = 'workrouter.task.rejected'"
            )
            return set(accepted) <= {r["external_id"] for r in listed} | {r["e"] for r in refused}

        await wait_until_async(all_visible, timeout=120, what="every accepted item in the task list, or rejected")
        states = Counter(r["status"] for r in await conn.fetch("SELECT status FROM task_state"))
        sample = await conn.fetch("SELECT task_id, external_id FROM task_state WHERE source = 'crm' LIMIT 50")
    finally:
        await conn.close()
    print(f"pipe probe: {len(requests)} requests, {len(accepted)} items accepted; task states {dict(states)}")
    print("pipe probe statuses:", dict(sorted(statuses.items())))
    assert len(accepted) > EXAMPLES // 10, statuses
    assert probe.dead == []
    for task_id, external_id in sample:  # the detail and history of work the pipe made
        detail = await probe.clients["reports"].get(f"/v1/tasks/{task_id}", headers=SAM)
        assert (detail.status_code, detail.json()["external_id"]) == (200, external_id), detail.text
        first = (await probe.clients["reports"].get(f"/v1/tasks/{task_id}/history", headers=SAM)).json()["events"][0]
        assert first["type"] == "task.captured", first
