"""The live view of a domain's queues that the router writes for supervisors' consoles (issue 20)."""

from __future__ import annotations

import json

from tests.support.fake_router_store import memory_router
from tests.support.routing import DOMAIN, T0, classified
from tests.support.wait import wait_until
from workrouter.domain.routing.model import Presence
from workrouter.services.router.live_view import live_view


async def test_the_view_counts_waiting_held_and_agents_per_queue() -> None:
    async with memory_router() as r:
        await r.presence("a", Presence.READY)  # capacity 2
        await r.presence("c", Presence.NOT_READY, "lunch")
        for n in range(4):
            await r.send(classified(f"t{n}", level=60, at=T0 - 30 * n))  # only a and b qualify
        r.clock.now = T0 + 10
        view = live_view(r.router.domains[DOMAIN], r.clock.now)
        q = view["queues"]["q"]
        assert (view["domain"], q["waiting"], q["held"].get("offered")) == (DOMAIN, 2, 2)
        assert q["oldest_wait_seconds"] == 100.0  # a took t0 and t1 as they came; t3 has waited since T0 - 90
        assert q["agents"] == {"ready": 0, "busy": 1, "not_ready": 1, "free": 0}
        assert [s["threshold_seconds"] for s in q["service_level"]] == list(
            r.router.domains[DOMAIN].queues["q"].service_levels
        )
        assert view["queues"]["pull"]["waiting"] == 0


async def test_each_domains_timer_loop_writes_its_view_to_the_store() -> None:
    async with memory_router() as r:
        await r.presence("a", Presence.READY)
        await r.send(classified("t1", level=60))
        await wait_until(lambda: _has(r.store.views, "q"), timeout=5.0, what="the domain's live view")
        view = json.loads(r.store.views[DOMAIN])
        assert view["queues"]["q"]["held"] == {"assigned": 0, "claimed": 0, "offered": 1, "parked": 0}


def _has(views: dict[str, str], queue: str) -> bool:
    view = views.get(DOMAIN)
    return view is not None and json.loads(view)["queues"][queue]["held"].get("offered") == 1
