"""Fuzz: 10,000 malformed REST bodies each get a 4xx with a reason; valid ones in between are all captured."""

from __future__ import annotations

import random

import httpx

from tests.support.malformed import bad_rest_body, valid_body
from tests.support.wait import wait_until
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.adapters.memory_stores import MemoryCaptureStore
from workrouter.bus.port import Delivery
from workrouter.config.catalog import Catalog
from workrouter.contracts.envelope import Envelope, utcnow
from workrouter.contracts.topics import TopicNames
from workrouter.services.api.app import create_app
from workrouter.services.capture import service as capture_service
from workrouter.services.capture.handlers import CaptureDeps

MALFORMED = 10_000
VALID_EVERY = 20


async def test_malformed_rest_bodies_are_refused_with_reasons_and_valid_ones_get_through(catalog: Catalog) -> None:
    bus = MemoryBus(TopicNames().specs())
    store = MemoryCaptureStore()
    capture_service.subscribe(bus, CaptureDeps(store, catalog, bus, utcnow), "capture")
    captured: list[str] = []

    async def observe(envelope: Envelope, _: Delivery) -> None:
        if envelope.type == "workrouter.task.captured":
            captured.append(envelope.id)

    bus.subscribe("wr.tasks", "observer", observe)
    await bus.start()
    rng = random.Random(7)
    statuses: dict[int, int] = {}
    valid_sent = 0
    transport = httpx.ASGITransport(app=create_app(catalog, bus))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        for n in range(MALFORMED):
            body = bad_rest_body(rng, n)
            response = await http.post("/v1/tasks", content=body, headers={"X-API-Key": "crm-demo-key"})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert 400 <= response.status_code < 500, (body[:200], response.status_code, response.text[:300])
            problem = response.json()
            assert problem["detail"], body[:200]
            if response.status_code == 422:
                errors = problem.get("errors") or [e for r in problem["results"] for e in r.get("errors", [])]
                assert errors, problem
                assert all(e["loc"] and e["msg"] for e in errors), problem
            if n % VALID_EVERY == 0:
                ok = await http.post("/v1/tasks", json=valid_body(n), headers={"X-API-Key": "crm-demo-key"})
                assert ok.status_code == 202, ok.text
                valid_sent += 1
    await wait_until(lambda: len(captured) == valid_sent, timeout=30, what=f"{valid_sent} valid tasks captured")
    await bus.stop()
    assert len(store.records) == valid_sent
    assert statuses.keys() <= {400, 403, 413, 422}
    assert statuses[422] > MALFORMED // 2, statuses
