"""Simulated source systems: a CRM, a BPM suite and a ticketing system create work over the REST
capture API (with the fresh API keys the demo issued into its copy of the configuration), now and then cancel one, and
receive workrouter's signed callbacks on their registered callback URLs."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI, Request

from workrouter.demo.stats import DemoStats

log = logging.getLogger(__name__)
SEGMENTS = ("Gold", "Silver", "Silver", "Bronze", "Bronze", "Bronze")
LANGUAGES = (None,) * 8 + ("fr", "de", "nl")
PRODUCTS = ("Billing portal", "Mobile app", "VPN", "E-mail", "Payroll")


@dataclass(frozen=True)
class Source:
    """A simulated source system."""

    name: str
    weight: float
    callback_port: int | None


SOURCES = (
    Source("crm", 0.45, 18081),
    Source("bpm", 0.35, 18082),
    Source("ticketing", 0.20, None),
)


def _common(rng: random.Random) -> dict[str, Any]:
    attributes: dict[str, Any] = {"segment": rng.choice(SEGMENTS)}
    language = rng.choice(LANGUAGES)
    if language:
        attributes["language"] = language
    if rng.random() < 0.05:
        attributes["vip"] = True
    return attributes


def work_item(source: Source, rng: random.Random, n: int) -> dict[str, Any]:
    """A realistic work item of one of the source's work types (deploy/config/worktypes.yaml)."""
    attributes = _common(rng)
    if source.name == "crm" and rng.random() < 0.6:
        amount = round(rng.lognormvariate(7.5, 1.1), 2)
        attributes.update(department="Claims", amount=amount, customer_id=f"C{rng.randint(10000, 99999)}")
        kind, title = "claim", f"Claim CLM-{n:05d}: {rng.choice(('water damage', 'theft', 'windscreen', 'fire'))}"
    elif source.name == "crm":
        attributes.update(department="Sales", value=round(rng.uniform(500, 50000), -2))
        kind, title = "lead", f"Lead L-{n:05d}: call back about {rng.choice(('a quote', 'renewal', 'an upgrade'))}"
    elif source.name == "bpm" and rng.random() < 0.55:
        department = rng.choice(("Finance", "Finance", "Credit"))
        attributes.update(department=department, amount=round(rng.uniform(40, 9000), 2), invoice=f"INV-{n:06d}")
        kind, title = "invoice_dispute", f"Invoice INV-{n:06d} disputed"
    elif source.name == "bpm":
        attributes.update(department="Credit", amount=round(rng.uniform(1000, 60000), -2))
        kind, title = "credit_application", f"Credit application CA-{n:05d}"
    else:
        severity = rng.choice(("low", "medium", "medium", "high", "critical"))
        attributes.update(department="Technical", severity=severity, product=rng.choice(PRODUCTS))
        kind, title = "tech_ticket", f"Ticket T-{n:05d} ({severity}): {attributes['product']}"
    body: dict[str, Any] = {
        "external_id": f"{source.name}-{uuid.uuid4().hex[:12]}",
        "type": kind,
        "title": title,
        "url": f"https://{source.name}.example.com/items/{n}",
        "attributes": attributes,
    }
    if rng.random() < 0.12:  # a tight SLA: these escalate within the demo unless answered quickly
        body["sla_seconds"] = rng.randint(45, 120)
    return body


class Sources:
    """Creates work at `rate` items per second (Poisson arrivals) until cancelled."""

    def __init__(self, api_url: str, stats: DemoStats, rate: float, rng: random.Random, keys: dict[str, str]) -> None:
        self.api_url, self.stats, self.rate, self.rng, self.keys = api_url, stats, rate, rng, keys
        self.open: list[tuple[Source, str]] = []

    async def run(self) -> None:
        """Create work until cancelled; cancel about one item in fifty a little later."""
        async with httpx.AsyncClient(base_url=self.api_url, timeout=10) as http:
            n = 0
            while True:
                await asyncio.sleep(self.rng.expovariate(self.rate))
                n += 1
                source = self.rng.choices(SOURCES, weights=[s.weight for s in SOURCES])[0]
                await self._create(http, source, work_item(source, self.rng, n))
                if self.open and self.rng.random() < 0.02:
                    await self._cancel(http, *self.open.pop(self.rng.randrange(len(self.open))))

    async def _create(self, http: httpx.AsyncClient, source: Source, body: dict[str, Any]) -> None:
        try:
            answer = await http.post("/v1/tasks", json=body, headers={"X-API-Key": self.keys[source.name]})
        except httpx.HTTPError as exc:
            self.stats.error(f"capture: {type(exc).__name__}")
            return
        if answer.status_code == 202:
            self.stats.created[body["type"]] += 1
            self.open = [*self.open[-200:], (source, body["external_id"])]
        else:
            self.stats.refused += 1
            log.warning("capture refused %s: %s %s", body["external_id"], answer.status_code, answer.text[:300])

    async def _cancel(self, http: httpx.AsyncClient, source: Source, external_id: str) -> None:
        try:
            answer = await http.post(
                f"/v1/tasks/{external_id}/cancel",
                json={"reason": "customer withdrew"},
                headers={"X-API-Key": self.keys[source.name]},
            )
        except httpx.HTTPError as exc:
            self.stats.error(f"cancel: {type(exc).__name__}")
            return
        if answer.status_code == 202:
            self.stats.cancelled += 1


def callback_app(source: str, stats: DemoStats) -> FastAPI:
    """The source system's callback receiver: counts what workrouter tells it, answers 200."""
    app = FastAPI(title=f"{source} (simulated)", openapi_url=None)

    @app.post("/workrouter/callbacks")
    async def received(request: Request) -> dict[str, bool]:
        body = await request.json()
        stats.callbacks[f"{source}: {body.get('event', '?')}"] += 1
        return {"ok": True}

    return app
