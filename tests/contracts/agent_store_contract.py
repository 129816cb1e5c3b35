"""One contract for the router's agent store port (services/router/effects.py `AgentStore`), run against the
in-memory store the unit tests use (tests/support/fake_router_store.py) and against Redis
(libs/workrouter/adapters/redis_agents.py): what the router's tests learn on the fake holds on Redis."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pytest

from workrouter.adapters.redis_agent_ops import Read, Write
from workrouter.adapters.redis_agent_records import IdleClock, ReserveResult
from workrouter.domain.routing.model import AgentProfile, Presence
from workrouter.services.router.effects import AgentStore

OK, TAKEN, NOT_READY, NO_CAPACITY, UNKNOWN = (
    ReserveResult.OK,
    ReserveResult.TAKEN,
    ReserveResult.NOT_READY,
    ReserveResult.NO_CAPACITY,
    ReserveResult.UNKNOWN_AGENT,
)
ALICE = AgentProfile("alice", {"fr": 80}, frozenset({"q"}), {"workitem": 2, "voice": 1}, frozenset({"voice"}))
BOB = AgentProfile("bob", {}, frozenset({"q"}), {"workitem": 1})


def reserve(agent_id: str, task_id: str, channel: str = "workitem", kind: str = "offer", now: float = 10.0) -> Read:
    """A held reservation that requires the agent ready."""
    return Read("reserve", (agent_id, task_id, channel, kind, now, True))


def entry(task_id: str, classified_id: str = "") -> dict[str, Any]:
    """A queue entry as the router stores it (only what the store must keep: it is opaque JSON)."""
    return {"task_id": task_id, "queue": "q", "classified_id": classified_id, "seq": 1}


@runtime_checkable
class LiveWriter(Protocol):
    """What the api writes of the live agent directory (the router only reads it)."""

    async def put_live_agent(self, agent_id: str, entry: str) -> int: ...
    async def live_version(self) -> int: ...
    async def live_views(self, domains: list[str]) -> dict[str, str | None]: ...


class AgentStoreContract:
    """Subclasses provide the `store` fixture: an empty store implementing the router's port."""

    @pytest.fixture
    def store(self) -> AgentStore:  # pragma: no cover - overridden
        raise NotImplementedError

    async def ready(self, store: AgentStore, *profiles: AgentProfile) -> None:
        await store.put_profile(ALICE)
        for profile in profiles or (ALICE,):
            await store.put_profile(profile)
            await store.apply([Write("set_presence", (profile.agent_id, Presence.READY, None, 1.0))])

    async def test_reservations_are_refused_in_the_documented_order(self, store: AgentStore) -> None:
        assert await store.apply([reserve("nobody", "t1")]) == [UNKNOWN]
        await store.put_profile(BOB)
        assert await store.apply([reserve("bob", "t1")]) == [NOT_READY]
        await self.ready(store, ALICE, BOB)
        assert await store.apply([reserve("alice", "t1"), reserve("bob", "t1"), reserve("alice", "t1")]) == [
            OK,
            TAKEN,
            TAKEN,
        ]
        assert await store.apply([reserve("bob", "t2"), reserve("bob", "t3")]) == [OK, NO_CAPACITY]
        # voice is exclusive: alice, busy on workitem, cannot take a call
        assert await store.apply([reserve("alice", "c1", channel="voice")]) == [NO_CAPACITY]
        holders = await store.holders(["t1", "t2", "t3"])
        assert {t: (h.agent_id, h.channel, h.kind, h.since) for t, h in holders.items()} == {
            "t1": ("alice", "workitem", "offer", 10.0),
            "t2": ("bob", "workitem", "offer", 10.0),
        }

    async def test_reads_in_one_apply_see_the_writes_before_them(self, store: AgentStore) -> None:
        await self.ready(store)
        answers = await store.apply(
            [
                reserve("alice", "t1"),
                Read("holder", ("t1",)),
                Write("convert", ("t1", "alice", "assign")),
                Read("holder", ("t1",)),
                Write("release", ("t1", "alice")),
                Read("holder", ("t1",)),
                Read("held", ("alice",)),
            ]
        )
        assert answers[0] is OK
        assert (answers[1].kind, answers[2].kind, answers[2].since) == ("offer", "assign", 10.0)
        assert (answers[3], answers[4]) == (None, set())

    async def test_only_the_holder_releases_and_capacity_comes_back(self, store: AgentStore) -> None:
        await self.ready(store, ALICE, BOB)
        await store.apply([reserve("bob", "t1")])
        await store.apply([Write("release", ("t1", "alice")), Write("convert", ("t1", "alice", "assign"))])
        assert (await store.holders(["t1"]))["t1"][:3] == ("bob", "workitem", "offer")
        await store.apply([Write("release", ("t1", "bob")), Write("release", ("t1", "bob"))])  # twice: no-op
        assert await store.holders(["t1"]) == {}
        assert await store.apply([reserve("bob", "t2")]) == [OK], "bob's one slot is free again, not negative"
        assert await store.apply([reserve("bob", "t3")]) == [NO_CAPACITY]

    async def test_queue_entries_round_trip_per_domain(self, store: AgentStore) -> None:
        await store.apply([Write("save_task", (d, t, entry(t))) for d, t in (("d1", "t1"), ("d2", "t2"))])
        await store.apply([Write("save_task", ("d1", "t1", {**entry("t1"), "seq": 2}))])  # replaced
        assert await store.load_tasks("d1") == {"t1": {**entry("t1"), "seq": 2}}
        await store.apply([Write("drop_task", ("d2", "t2")), Write("drop_task", ("d2", "nothing"))])
        assert (await store.load_tasks("d2"), await store.load_tasks("unknown")) == ({}, {})

    async def test_retirements_are_per_domain_and_expire_after_their_keep(self, store: AgentStore) -> None:
        await store.apply([Write("retire", ("d1", "c1", 100.0, 60.0)), Write("retire", ("d1", "c2", 150.0, 60.0))])
        assert await store.retired_among("d1", ["c1", "c2", "c3"]) == {"c1", "c2"}
        assert await store.retired_among("d2", ["c1"]) == set()
        assert await store.apply([Read("retired", ("d1", "c2")), Read("retired", ("d1", "c3"))]) == [True, False]
        await store.apply([Write("retire", ("d1", "c3", 161.0, 60.0))])  # forgets those retired before 101
        assert await store.retired_among("d1", ["c1", "c2", "c3"]) == {"c2", "c3"}

    async def test_let_go_retires_releases_and_drops_together(self, store: AgentStore) -> None:
        await self.ready(store)
        await store.apply([Write("save_task", ("d", "t1", entry("t1", "c1"))), reserve("alice", "t1")])
        await store.apply([Write("let_go", ("d", "t1", "alice", ("c1", 20.0, 3600.0)))])
        assert await store.load_tasks("d") == {}
        assert await store.holders(["t1"]) == {}
        assert await store.retired_among("d", ["c1"]) == {"c1"}

    async def test_presence_versions_and_heartbeats_find_the_silent(self, store: AgentStore) -> None:
        await store.put_profile(ALICE)
        await store.put_profile(BOB)
        await store.apply([Write("set_presence", ("alice", Presence.READY, None, 5.0))])
        await store.apply([Write("set_presence", ("alice", Presence.READY, None, 6.0))])  # no change: same version
        await store.apply([Write("set_presence", ("bob", Presence.NOT_READY, "lunch", 7.0))])
        alice, bob = await store.apply([Read("get_presence", ("alice",)), Read("get_presence", ("bob",))])
        assert (alice.presence, alice.since, alice.version) == (Presence.READY, 5.0, 1)
        assert (bob.presence, bob.reason) == (Presence.NOT_READY, "lunch")
        assert await store.stale_agents(20.0, 10.0) == ["alice", "bob"]  # online and silent since they came
        await store.apply([Write("set_presence", ("bob", Presence.OFFLINE, None, 8.0))])
        assert await store.stale_agents(20.0, 10.0) == ["alice"]  # offline agents are not looked for

    async def test_load_agents_gives_profiles_presence_load_and_holds(self, store: AgentStore) -> None:
        await self.ready(store, ALICE, BOB)
        await store.apply([reserve("alice", "t1"), reserve("alice", "t2", kind="assign")])
        snapshots = {profile.agent_id: (p.presence, load, held) for profile, p, load, held in await store.load_agents()}
        assert snapshots == {
            "alice": (Presence.READY, {"workitem": 2}, {"t1", "t2"}),
            "bob": (Presence.READY, {}, set()),
        }

    async def test_takeovers_are_counted_per_domain(self, store: AgentStore) -> None:
        assert await store.takeovers("d1") == 0
        assert (await store.take_over("d1"), await store.take_over("d1"), await store.take_over("d2")) == (1, 2, 1)
        assert (await store.takeovers("d1"), await store.takeovers("d2")) == (2, 1)

    async def test_the_live_directory_keeps_each_agents_last_entry_and_counts_changes(self, store: AgentStore) -> None:
        assert isinstance(store, LiveWriter)  # the api's side of the directory, on the same store
        assert (await store.live_agents(), await store.live_agent("a"), await store.live_version()) == ({}, None, 0)
        assert await store.put_live_agent("a", '{"queues": ["q"]}') == 1
        assert await store.put_live_agent("b", "null") == 2
        assert await store.put_live_agent("a", '{"queues": ["r"]}') == 3
        assert await store.live_agents() == {"a": '{"queues": ["r"]}', "b": "null"}
        assert (await store.live_agent("b"), await store.live_version()) == ("null", 3)

    async def test_each_domains_live_view_is_kept_until_replaced(self, store: AgentStore) -> None:
        assert isinstance(store, LiveWriter)
        assert await store.live_views(["d1", "d2"]) == {"d1": None, "d2": None}
        await store.put_live_view("d1", '{"at": 1}', 60.0)
        await store.put_live_view("d1", '{"at": 2}', 60.0)
        assert await store.live_views(["d1", "d2"]) == {"d1": '{"at": 2}', "d2": None}
        assert await store.live_views([]) == {}

    async def test_idle_clocks_note_gives_and_ends_not_give_backs(self, store: AgentStore) -> None:
        await self.ready(store, ALICE, BOB)
        assert await store.idle_clocks(["alice", "nobody"]) == {
            "alice": IdleClock(None, None),
            "nobody": IdleClock(None, None),
        }
        await store.apply([reserve("alice", "t1", now=10.0), reserve("bob", "t2", now=11.0)])
        await store.apply([reserve("alice", "t2", now=12.0)])  # refused (bob holds it): not a give
        await store.apply([Write("release", ("t1", "alice", None))])  # given back: the clock stays
        await store.apply([Write("save_task", ("d", "t2", entry("t2")))])
        await store.apply([Write("let_go", ("d", "t2", "bob", None, 15.0))])  # bob's task ended at 15
        await store.apply([reserve("alice", "t3", now=16.0), Write("release", ("t3", "alice", 17.0))])
        clocks = await store.idle_clocks(["alice", "bob"])
        assert clocks == {"alice": IdleClock(16.0, 17.0), "bob": IdleClock(11.0, 15.0)}
