"""RedisAgentStore on a real Redis: refusals, blending, atomicity under races, liveness and rebuild data."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import redis.asyncio as redis
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.contracts.agent_store_contract import AgentStoreContract
from tests.support.infra import Infra
from tests.support.wait import wait_until_async
from workrouter.adapters.redis_agent_ops import Read, Write
from workrouter.adapters.redis_agent_records import NO_PRESENCE, Holder, HoldKind, PresenceState, ReserveResult
from workrouter.adapters.redis_agents import MAX_RETIRED, RedisAgentStore
from workrouter.domain.routing.model import AgentProfile, Presence, channel_free

OK, TAKEN, NOT_READY, NO_CAPACITY, UNKNOWN = (
    ReserveResult.OK,
    ReserveResult.TAKEN,
    ReserveResult.NOT_READY,
    ReserveResult.NO_CAPACITY,
    ReserveResult.UNKNOWN_AGENT,
)


@asynccontextmanager
async def fresh_stores(
    url: str, count: int = 1, *, decode: bool = False, max_retired: int = MAX_RETIRED
) -> AsyncIterator[list[RedisAgentStore]]:
    """`count` stores on separate clients sharing one random prefix; every key under it is deleted after."""
    prefix = f"test-wr-{uuid.uuid4().hex}"
    clients = [redis.from_url(url, decode_responses=decode) for _ in range(count)]
    try:
        yield [RedisAgentStore(client, prefix, max_retired=max_retired) for client in clients]
    finally:
        keys = [key async for key in clients[0].scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await clients[0].unlink(*keys)
        for client in clients:
            await client.aclose()


@pytest.fixture(params=[False, True], ids=["bytes", "decoded"])
async def store(infra: Infra, request: pytest.FixtureRequest) -> AsyncIterator[RedisAgentStore]:
    """One store on a fresh prefix, with a client that does or does not decode responses."""
    async with fresh_stores(infra.redis_url, decode=request.param) as stores:
        yield stores[0]


async def ready_agent(store: RedisAgentStore, profile: AgentProfile, now: float = 1.0) -> None:
    """Store the profile and make the agent READY."""
    await store.put_profile(profile)
    await store.set_presence(profile.agent_id, Presence.READY, None, now)


async def test_each_refusal_reason_and_its_precedence(store: RedisAgentStore) -> None:
    a = AgentProfile("a", capacity={"workitem": 2})
    await store.put_profile(a)
    await ready_agent(store, AgentProfile("b", capacity={"workitem": 5}))

    assert await store.reserve("ghost", "t1", "workitem", "claim", 1.0) is UNKNOWN
    assert await store.holder("t1") is None
    await store.set_presence("only-presence", Presence.READY, None, 1.0)
    assert await store.reserve("only-presence", "t1", "workitem", "claim", 1.0) is UNKNOWN

    assert await store.reserve("a", "t1", "workitem", "offer", 2.0) is NOT_READY  # presence never set
    await store.set_presence("a", Presence.READY, None, 2.0)
    assert await store.reserve("a", "t1", "workitem", "offer", 3.0) is OK
    assert await store.reserve("a", "t1", "workitem", "offer", 4.0) is TAKEN  # by the same agent
    assert await store.reserve("b", "t1", "workitem", "claim", 4.0) is TAKEN  # by another agent
    assert await store.reserve("ghost", "t1", "workitem", "claim", 4.0) is UNKNOWN  # checked before taken
    assert await store.holder("t1") == Holder("a", "workitem", "offer", 3.0)

    await store.set_presence("a", Presence.NOT_READY, "lunch", 5.0)
    assert await store.reserve("a", "t1", "workitem", "claim", 6.0) is TAKEN  # taken before not_ready
    assert await store.reserve("a", "t2", "workitem", "claim", 6.0) is NOT_READY
    assert await store.reserve("a", "t2", "workitem", "assign", 6.0, require_ready=False) is OK
    assert await store.reserve("a", "t3", "workitem", "claim", 7.0) is NOT_READY  # not_ready before no_capacity
    assert await store.reserve("a", "t3", "workitem", "claim", 7.0, require_ready=False) is NO_CAPACITY
    await store.set_presence("a", Presence.READY, None, 8.0)
    assert await store.reserve("a", "t3", "workitem", "claim", 8.0) is NO_CAPACITY
    assert await store.reserve("a", "t3", "chat", "claim", 8.0) is NO_CAPACITY  # no capacity on the channel

    assert await store.load("a") == {"workitem": 2}
    assert await store.held("a") == {"t1", "t2"}
    assert await store.load("b") == {}
    assert await store.held("b") == set()
    assert await store.holder("t3") is None
    with pytest.raises(ValueError, match="hold kind"):
        await store.reserve("a", "t4", "workitem", "steal", 9.0)  # type: ignore[arg-type]


async def test_blending_voice_exclusive_against_workitem_three(store: RedisAgentStore) -> None:
    profile = AgentProfile(
        "a", capacity={"voice": 1, "workitem": 3, "chat": 2}, exclusive_channels=frozenset({"voice"})
    )
    await ready_agent(store, profile)
    load: Counter[str] = Counter()
    steps: list[tuple[str, str, str, bool]] = [  # (op, task, channel, expected ok)
        ("reserve", "v1", "voice", True),
        ("reserve", "w1", "workitem", False),  # voice held: nothing else
        ("reserve", "c1", "chat", False),
        ("reserve", "v2", "voice", False),  # voice capacity 1
        ("release", "v1", "voice", True),
        ("reserve", "w1", "workitem", True),
        ("reserve", "w2", "workitem", True),
        ("reserve", "w3", "workitem", True),
        ("reserve", "w4", "workitem", False),  # workitem capacity 3
        ("reserve", "v2", "voice", False),  # voice only alone
        ("reserve", "c1", "chat", True),  # chat and workitem blend
        ("release", "w1", "workitem", True),
        ("release", "w2", "workitem", True),
        ("release", "w3", "workitem", True),
        ("reserve", "v2", "voice", False),  # chat still held
        ("release", "c1", "chat", True),
        ("reserve", "v2", "voice", True),
        ("reserve", "s1", "sms", False),  # no capacity on an unlisted channel
    ]
    for op, task, channel, expected in steps:
        if op == "release":
            assert await store.release(task, "a") is expected
            load[channel] -= 1
            continue
        free = channel_free(profile, load, channel)
        result = await store.reserve("a", task, channel, "offer", 1.0)
        assert (result, free) == ((OK, True) if expected else (NO_CAPACITY, False)), (task, channel)
        if result.ok:
            load[channel] += 1
        assert await store.load("a") == {ch: n for ch, n in load.items() if n}


async def test_two_exclusive_channels_block_each_other(store: RedisAgentStore) -> None:
    profile = AgentProfile("a", capacity={"voice": 1, "video": 1}, exclusive_channels=frozenset({"voice", "video"}))
    await ready_agent(store, profile)
    assert await store.reserve("a", "v1", "voice", "offer", 1.0) is OK
    assert await store.reserve("a", "x1", "video", "offer", 1.0) is NO_CAPACITY
    assert channel_free(profile, {"voice": 1}, "video") is False


AGENT_IDS = ["a0", "a1", "ghost"]  # ghost never gets a profile
TASK_IDS = [f"t{i}" for i in range(6)]
CHANNELS = ["voice", "workitem", "chat"]  # in every profile; "sms" is in none
KINDS: list[HoldKind] = ["offer", "claim", "assign"]


@dataclass(frozen=True)
class Reserve:
    agent: str
    task: str
    channel: str
    kind: HoldKind
    require_ready: bool


@dataclass(frozen=True)
class Release:
    agent: str
    task: str


@dataclass(frozen=True)
class Convert:
    agent: str
    task: str
    kind: HoldKind


@dataclass(frozen=True)
class SetPresence:
    agent: str
    presence: Presence


Op = Reserve | Release | Convert | SetPresence


@dataclass
class Model:
    """What Redis should hold, computed in Python with `channel_free`."""

    profiles: dict[str, AgentProfile]
    presence: dict[str, Presence]
    loads: dict[str, Counter[str]] = field(default_factory=lambda: {a: Counter() for a in AGENT_IDS})
    holders: dict[str, Holder] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGENT_IDS, 1))

    def reserve(self, op: Reserve, now: float) -> ReserveResult:
        if op.agent not in self.profiles:
            return UNKNOWN
        if op.task in self.holders:
            return TAKEN
        if op.require_ready and self.presence[op.agent] is not Presence.READY:
            return NOT_READY
        profile, load = self.profiles[op.agent], self.loads[op.agent]
        if not channel_free(profile, load, op.channel):
            if load[op.channel] < profile.capacity.get(op.channel, 0):
                event("refused by blending")
            return NO_CAPACITY
        self.holders[op.task] = Holder(op.agent, op.channel, op.kind, now)
        self.loads[op.agent][op.channel] += 1
        return OK

    def release(self, op: Release) -> bool:
        if op.task not in self.holders or self.holders[op.task].agent_id != op.agent:
            return False
        self.loads[op.agent][self.holders.pop(op.task).channel] -= 1
        return True

    def convert(self, op: Convert) -> bool:
        if op.task not in self.holders or self.holders[op.task].agent_id != op.agent:
            return False
        self.holders[op.task] = self.holders[op.task]._replace(kind=op.kind)
        return True

    def set_presence(self, op: SetPresence) -> int:
        if op.presence is not self.presence[op.agent]:
            self.presence[op.agent] = op.presence
            self.versions[op.agent] += 1
        return self.versions[op.agent]

    def load(self, agent_id: str) -> dict[str, int]:
        return {ch: n for ch, n in self.loads[agent_id].items() if n}

    def held(self, agent_id: str) -> set[str]:
        return {t for t, h in self.holders.items() if h.agent_id == agent_id}


async def apply(store: RedisAgentStore, model: Model, op: Op, now: float) -> None:
    """Run one op on Redis and on the model; their answers must agree."""
    match op:
        case Reserve():
            expected: object = model.reserve(op, now)
            got: object = await store.reserve(
                op.agent, op.task, op.channel, op.kind, now, require_ready=op.require_ready
            )
            event(f"reserve {got}")
        case Release():
            expected, got = model.release(op), await store.release(op.task, op.agent)
        case Convert():
            expected, got = model.convert(op), await store.convert(op.task, op.agent, op.kind)
        case SetPresence():
            expected, got = model.set_presence(op), await store.set_presence(op.agent, op.presence, None, now)
    assert got == expected, op


agent_st = st.sampled_from(["a0", "a1"] * 3 + ["ghost"])
task_st = st.sampled_from(TASK_IDS)
kind_st = st.sampled_from(KINDS)
reserve_st = st.builds(Reserve, agent_st, task_st, st.sampled_from([*CHANNELS, "sms"]), kind_st, st.booleans())
op_st: st.SearchStrategy[Op] = st.one_of(
    reserve_st,
    reserve_st,
    reserve_st,  # three times as likely as each of the others
    st.builds(Release, agent_st, task_st),
    st.builds(Convert, agent_st, task_st, kind_st),
    st.builds(SetPresence, agent_st, st.sampled_from(list(Presence))),
)
profiles_st = st.tuples(
    *(
        st.builds(
            AgentProfile,
            st.just(agent_id),
            capacity=st.fixed_dictionaries({ch: st.integers(0, 3) for ch in CHANNELS}),
            exclusive_channels=st.frozensets(st.sampled_from(CHANNELS), min_size=1, max_size=2),
        )
        for agent_id in AGENT_IDS[:2]
    )
)


@settings(max_examples=50, deadline=None)
@given(
    profiles=profiles_st,
    presences=st.lists(st.sampled_from([*Presence, Presence.READY]), min_size=len(AGENT_IDS), max_size=len(AGENT_IDS)),
    ops=st.lists(op_st, min_size=10, max_size=50),
)
async def test_random_reserve_release_matches_python_model(
    infra: Infra, profiles: tuple[AgentProfile, ...], presences: list[Presence], ops: list[Op]
) -> None:
    model = Model({p.agent_id: p for p in profiles}, dict(zip(AGENT_IDS, presences, strict=True)))
    async with fresh_stores(infra.redis_url) as (store,):
        for profile in profiles:
            await store.put_profile(profile)
        for agent_id, presence in model.presence.items():
            assert await store.set_presence(agent_id, presence, None, 0.0) == 1
        for step, op in enumerate(ops, start=1):
            await apply(store, model, op, float(step))

        assert {t: await store.holder(t) for t in TASK_IDS} == {t: model.holders.get(t) for t in TASK_IDS}
        for a in AGENT_IDS:
            assert (await store.load(a), await store.held(a)) == (model.load(a), model.held(a)), a
        assert [(p, (s.presence, s.version), load, held) for p, s, load, held in await store.load_agents()] == [
            (model.profiles[a], (model.presence[a], model.versions[a]), model.load(a), model.held(a))
            for a in sorted(model.profiles)
        ]


async def test_concurrent_claims_and_offers_never_double_hold_or_overfill(infra: Infra) -> None:
    agents = [f"a{i}" for i in range(5)]
    capacity = 3
    async with fresh_stores(infra.redis_url, count=8) as stores:
        for agent_id in agents:
            await ready_agent(stores[0], AgentProfile(agent_id, capacity={"workitem": capacity}))
        for round_no in range(6):
            # 20 tasks: 3 private to each agent (15) and 5 shared that all 5 agents race for (25 attempts),
            # plus 10 repeats of shared attempts: 50 reservations. Each agent's 3 private tasks guarantee it
            # fills whatever the interleaving, so exactly min(20 tasks, 5 agents x 3) = 15 succeed.
            private = {a: [f"r{round_no}-{a}-p{j}" for j in range(3)] for a in agents}
            shared = [f"r{round_no}-s{j}" for j in range(5)]
            attempts = [(a, t) for a in agents for t in private[a]]
            attempts += [(a, t) for a in agents for t in shared]
            attempts += [(a, shared[(i + k) % 5]) for i, a in enumerate(agents) for k in (0, 1)]
            tasks = [t for a in agents for t in private[a]] + shared
            assert (len(attempts), len(set(tasks))) == (50, 20)
            random.Random(round_no).shuffle(attempts)
            kinds: list[HoldKind] = ["claim" if i % 2 else "offer" for i in range(len(attempts))]

            results = await asyncio.gather(
                *(
                    stores[i % len(stores)].reserve(a, t, "workitem", kinds[i], float(round_no))
                    for i, (a, t) in enumerate(attempts)
                )
            )

            won = [(a, t, kinds[i]) for i, ((a, t), r) in enumerate(zip(attempts, results, strict=True)) if r.ok]
            assert len(won) == min(len(tasks), len(agents) * capacity) == 15
            assert set(results) <= {OK, TAKEN, NO_CAPACITY}
            assert max(Counter(t for _, t, _ in won).values()) == 1  # no task reserved twice
            holders = await stores[1].holders(tasks)
            assert {t: (h.agent_id, h.kind) for t, h in holders.items()} == {t: (a, k) for a, t, k in won}
            loads = {a: await stores[2].load(a) for a in agents}
            held = {a: await stores[3].held(a) for a in agents}
            assert all(load.get("workitem", 0) <= capacity for load in loads.values()), loads
            assert sum(load.get("workitem", 0) for load in loads.values()) == sum(map(len, held.values())) == 15
            assert {a: set(held[a]) for a in agents} == {a: {t for b, t, _ in won if b == a} for a in agents}

            # release everything: twice by the holder and once by someone else, all racing
            releases = [(t, h.agent_id) for t, h in holders.items()] * 2
            releases += [(t, agents[(agents.index(h.agent_id) + 1) % 5]) for t, h in holders.items()]
            random.Random(round_no).shuffle(releases)
            released = await asyncio.gather(
                *(stores[i % len(stores)].release(t, a) for i, (t, a) in enumerate(releases))
            )
            freed = Counter(t for (t, _), ok in zip(releases, released, strict=True) if ok)
            assert freed == Counter(dict.fromkeys(holders, 1))
            assert [await stores[0].load(a) for a in agents] == [{}] * 5
            assert [await stores[0].held(a) for a in agents] == [set()] * 5
            assert await stores[0].holders(tasks) == {}


async def test_concurrent_voice_and_workitems_never_blend(infra: Infra) -> None:
    agents = [f"a{i}" for i in range(5)]
    profile = {"voice": 1, "workitem": 3}
    async with fresh_stores(infra.redis_url, count=8) as stores:
        for agent_id in agents:
            await ready_agent(
                stores[0], AgentProfile(agent_id, capacity=profile, exclusive_channels=frozenset({"voice"}))
            )
        for round_no in range(10):
            # per agent, racing: one voice call and three workitems. Whichever lands first decides:
            # the voice call alone, or the three workitems (the voice call is then refused).
            attempts = [(a, f"r{round_no}-{a}-v", "voice") for a in agents]
            attempts += [(a, f"r{round_no}-{a}-w{j}", "workitem") for a in agents for j in range(3)]
            random.Random(round_no).shuffle(attempts)
            results = await asyncio.gather(
                *(stores[i % 8].reserve(a, t, ch, "offer", 1.0) for i, (a, t, ch) in enumerate(attempts))
            )
            assert set(results) <= {OK, NO_CAPACITY}
            loads = [await stores[0].load(a) for a in agents]
            assert all(load in ({"voice": 1}, {"workitem": 3}) for load in loads), loads
            assert sum(r.ok for r in results) == sum(sum(load.values()) for load in loads)
            for agent_id in agents:
                for task_id in await stores[0].held(agent_id):
                    assert await stores[0].release(task_id, agent_id) is True
            assert [await stores[0].load(a) for a in agents] == [{}] * 5


async def test_release_is_idempotent_and_only_by_the_holder(store: RedisAgentStore) -> None:
    await ready_agent(store, AgentProfile("a", capacity={"workitem": 2}))
    await ready_agent(store, AgentProfile("b", capacity={"workitem": 2}))
    assert await store.reserve("a", "t1", "workitem", "claim", 1.0) is OK
    assert await store.reserve("a", "t2", "workitem", "claim", 1.0) is OK

    assert await store.release("t1", "b") is False
    assert await store.holder("t1") == Holder("a", "workitem", "claim", 1.0)
    assert await store.release("t1", "a") is True
    assert await store.release("t1", "a") is False
    assert (await store.holder("t1"), await store.load("a"), await store.held("a")) == (None, {"workitem": 1}, {"t2"})

    assert await store.reserve("b", "t1", "workitem", "offer", 2.0) is OK
    assert await store.release("t1", "a") is False  # a stale release by the former holder
    assert (await store.holder("t1"), await store.load("b")) == (Holder("b", "workitem", "offer", 2.0), {"workitem": 1})


async def test_release_never_takes_load_below_zero(infra: Infra) -> None:
    async with fresh_stores(infra.redis_url) as (store,):
        await ready_agent(store, AgentProfile("a", capacity={"workitem": 2}))
        assert await store.reserve("a", "t1", "workitem", "claim", 1.0) is OK
        raw = redis.from_url(infra.redis_url)
        prefix = store._prefix
        try:
            assert await raw.hdel(f"{prefix}:agent:{{a}}:load", "workitem") == 1  # simulate lost load
        finally:
            await raw.aclose()
        assert await store.release("t1", "a") is True
        assert await store.load("a") == {}
        assert await store.reserve("a", "t2", "workitem", "claim", 1.0) is OK
        assert await store.load("a") == {"workitem": 1}


async def test_convert_only_by_the_holder(store: RedisAgentStore) -> None:
    await ready_agent(store, AgentProfile("a", capacity={"workitem": 1}))
    await ready_agent(store, AgentProfile("b", capacity={"workitem": 1}))
    assert await store.reserve("a", "t1", "workitem", "offer", 5.0) is OK
    assert await store.convert("t1", "b", "assign") is False
    assert await store.holder("t1") == Holder("a", "workitem", "offer", 5.0)
    assert await store.convert("t1", "a", "assign") is True
    assert await store.holder("t1") == Holder("a", "workitem", "assign", 5.0)
    assert await store.convert("t9", "a", "assign") is False
    assert await store.holder("t9") is None
    with pytest.raises(ValueError, match="hold kind"):
        await store.convert("t1", "a", "grab")  # type: ignore[arg-type]


async def test_presence_versions_reasons_and_since(store: RedisAgentStore) -> None:
    assert await store.get_presence("a") == NO_PRESENCE == PresenceState(Presence.OFFLINE, None, 0.0, 0)
    assert await store.set_presence("a", Presence.READY, None, 10.0) == 1
    assert await store.set_presence("a", Presence.READY, None, 11.0) == 1  # no change
    assert await store.get_presence("a") == PresenceState(Presence.READY, None, 10.0, 1)
    assert await store.set_presence("a", Presence.NOT_READY, "lunch", 12.5) == 2
    assert await store.set_presence("a", Presence.NOT_READY, "break", 13.0) == 3  # a new reason is a change
    assert await store.get_presence("a") == PresenceState(Presence.NOT_READY, "break", 13.0, 3)
    assert await store.set_presence("a", Presence.OFFLINE, None, 14.0) == 4
    assert await store.get_presence("a") == PresenceState(Presence.OFFLINE, None, 14.0, 4)
    assert await store.get_presence("b") == NO_PRESENCE


async def test_stale_agents_by_last_heartbeat(store: RedisAgentStore) -> None:
    for agent_id in ("a", "b", "c", "d"):
        await store.set_presence(agent_id, Presence.READY, None, 100.0)
    await store.set_presence("c", Presence.OFFLINE, None, 101.0)
    await store.set_presence("d", Presence.NOT_READY, "meeting", 145.0)  # a change online keeps the heartbeat
    assert await store.heartbeat("a", 150.0) is True
    assert await store.heartbeat("a", 120.0) is True  # never moves back
    assert await store.heartbeat("b", 140.0) is True
    assert await store.heartbeat("c", 190.0) is False  # offline: not recorded
    assert await store.heartbeat("ghost", 190.0) is False

    assert await store.stale_agents(200.0, 60.0) == ["d"]  # b at 140 is exactly 60s old: not older
    assert await store.stale_agents(200.0, 59.0) == ["d", "b"]
    assert await store.stale_agents(211.0, 60.0) == ["d", "b", "a"]
    await store.set_presence("c", Presence.READY, None, 130.0)  # back online: counts as a heartbeat
    assert await store.stale_agents(200.0, 60.0) == ["d", "c"]
    await store.set_presence("d", Presence.OFFLINE, None, 200.0)
    assert await store.stale_agents(300.0, 60.0) == ["c", "b", "a"]


async def test_save_drop_and_load_tasks(store: RedisAgentStore) -> None:
    entries = {f"t{i}": {"queue": "claims", "priority": i, "skills": [["fr", 50]], "at": i / 3} for i in range(2500)}
    for task_id, entry in entries.items():
        await store.save_task("billing", task_id, entry)
    await store.save_task("billing", "t7", {"queue": "disputes", "priority": 99})
    await store.save_task("support", "t7", {"queue": "help"})
    assert await store.drop_task("billing", "t3") is True
    assert await store.drop_task("billing", "t3") is False
    expected = {**entries, "t7": {"queue": "disputes", "priority": 99}}
    del expected["t3"]
    assert await store.load_tasks("billing") == expected
    assert await store.load_tasks("support") == {"t7": {"queue": "help"}}
    assert await store.load_tasks("empty") == {}


async def test_retired_classifications_are_kept_per_domain_for_a_while(store: RedisAgentStore) -> None:
    await store.retire("billing", "c1", 100.0, 60.0)
    await store.retire("billing", "c2", 150.0, 60.0)
    assert await store.retired("billing", "c1")
    assert not await store.retired("support", "c1")
    assert not await store.retired("billing", "c3")
    await store.retire("billing", "c3", 161.0, 60.0)  # forgets what was retired before 101
    assert not await store.retired("billing", "c1")
    assert await store.retired("billing", "c2")
    assert await store.retired("billing", "c3")
    assert await store.retired_among("billing", ["c1", "c2", "c3", "c4"]) == {"c2", "c3"}
    assert await store.retired_among("billing", []) == set()
    many = [f"m{i}" for i in range(1200)]  # more than one ZMSCORE chunk
    for i, c in enumerate(many[::3]):
        await store.retire("support", c, 200.0 + i, 3600.0)
    assert await store.retired_among("support", many) == set(many[::3])


async def test_retired_classifications_are_bounded_per_domain_newest_kept(infra: Infra) -> None:
    """However fast classifications end, a domain remembers at most `max_retired` of them: the newest, checked
    after one apply that retires many and after single retirements; other domains are not touched."""
    async with fresh_stores(infra.redis_url, max_retired=5) as (store,):
        await store.apply([Write("retire", ("billing", f"c{i}", 100.0 + i, 3600.0)) for i in range(8)])
        assert await store.retired_among("billing", [f"c{i}" for i in range(8)]) == {f"c{i}" for i in range(3, 8)}
        await store.retire("support", "s0", 50.0, 3600.0)
        for i in range(8, 10):
            await store.retire("billing", f"c{i}", 100.0 + i, 3600.0)
        assert await store.retired_among("billing", [f"c{i}" for i in range(10)]) == {f"c{i}" for i in range(5, 10)}
        assert await store.retired("support", "s0")


async def test_profiles_and_load_agents_round_trip(store: RedisAgentStore) -> None:
    a = AgentProfile(
        "a",
        skills={"fr": 80, "claims": 40},
        queues=frozenset({"q1", "q2"}),
        capacity={"voice": 1, "workitem": 3},
        exclusive_channels=frozenset({"voice"}),
        auto_answer=True,
    )
    b = AgentProfile("b")
    assert await store.get_profile("a") is None
    await store.put_profile(a)
    await store.put_profile(b)
    assert (await store.get_profile("a"), await store.get_profile("b")) == (a, b)
    assert await store.set_presence("a", Presence.READY, None, 5.0) == 1
    assert await store.reserve("a", "t1", "workitem", "claim", 6.0) is OK
    assert await store.reserve("a", "t2", "workitem", "offer", 7.0) is OK
    await store.set_presence("nobody", Presence.READY, None, 5.0)  # presence without a profile: not an agent

    a2 = AgentProfile("a", skills={"fr": 90}, capacity={"workitem": 5})  # a profile change keeps the rest
    await store.put_profile(a2)
    assert await store.load_agents() == [
        (a2, PresenceState(Presence.READY, None, 5.0, 1), {"workitem": 2}, {"t1", "t2"}),
        (b, NO_PRESENCE, {}, set()),
    ]
    assert await store.holders(["t1", "t2", "t3"]) == {
        "t1": Holder("a", "workitem", "claim", 6.0),
        "t2": Holder("a", "workitem", "offer", 7.0),
    }


async def test_let_go_retires_releases_and_drops_in_one_transaction(store: RedisAgentStore) -> None:
    await ready_agent(store, AgentProfile("a", capacity={"workitem": 2}))
    assert await store.reserve("a", "t1", "workitem", "assign", 1.0) is OK
    assert await store.reserve("a", "t2", "workitem", "assign", 1.0) is OK
    await store.save_task("d", "t1", {"queue": "q"})
    await store.save_task("d", "t2", {"queue": "q"})

    await store.let_go("d", "t1", "a", ("c1", 10.0, 3600.0))
    assert (await store.holder("t1"), await store.load("a"), await store.held("a")) == (None, {"workitem": 1}, {"t2"})
    assert await store.get_task("d", "t1") is None
    assert await store.get_task("d", "t2") == {"queue": "q"}
    assert await store.retired("d", "c1") is True

    # again (a redelivery), or by an agent who does not hold it: no hold changes; nothing left to drop
    await store.let_go("d", "t1", "a", ("c1", 11.0, 3600.0))
    await store.let_go("d", "t2", "b", None)
    assert await store.holder("t2") == Holder("a", "workitem", "assign", 1.0)
    assert (await store.load("a"), await store.held("a")) == ({"workitem": 1}, {"t2"})
    # what is retired longer ago than it is kept is forgotten, as `retire` does
    await store.let_go("d", "t9", "a", ("c9", 5000.0, 3600.0))
    assert (await store.retired("d", "c1"), await store.retired("d", "c9")) == (False, True)


async def test_apply_carries_out_writes_and_reads_in_order_in_one_transaction(store: RedisAgentStore) -> None:
    """The router's held writes and the questions among them (a reservation on the capacity a release just
    freed) go in one pipeline, in order; each read answers as its single method does."""
    await ready_agent(store, AgentProfile("a", capacity={"workitem": 1}))
    assert await store.reserve("a", "t1", "workitem", "offer", 1.0) is OK
    ops: list[Write | Read] = [
        Read("reserve", ("a", "t0", "workitem", "offer", 2.0, True)),  # full: t1 is still held
        Write("convert", ("t1", "a", "assign")),
        Write("save_task", ("d", "t2", {"queue": "q"})),
        Write("notify", ("a", {"event": "x"})),
        Write("let_go", ("d", "t1", "a", ("c1", 2.0, 3600.0))),
        Read("reserve", ("a", "t2", "workitem", "offer", 3.0, True)),  # OK only because the release came first
        Read("holder", ("t2",)),
        Read("retired", ("d", "c1")),
    ]
    assert await store.apply(ops) == [NO_CAPACITY, OK, Holder("a", "workitem", "offer", 3.0), True]
    assert (await store.held("a"), await store.get_task("d", "t2")) == ({"t2"}, {"queue": "q"})
    assert await store.apply([Read("held", ("a",)), Read("retired", ("d", "c2"))]) == [{"t2"}, False]
    assert await store.apply([Read("get_presence", ("a",))]) == [await store.get_presence("a")]
    paused = [Write("set_presence", ("a", Presence.NOT_READY, "lunch", 4.0))]
    assert await store.apply([*paused, Read("reserve", ("a", "t3", "workitem", "offer", 4.0, True))]) == [NOT_READY]
    assert await store.apply([Write("notify", ("a", {}))]) == []
    assert await store.apply([]) == []
    with pytest.raises(ValueError, match="not a write"):
        await store.apply([Write("flushall", ())])


class TestRedisAgentStoreContract(AgentStoreContract):
    """The router's agent store contract on Redis, with and without decoded responses."""

    @pytest.fixture
    async def store(self, infra: Infra) -> AsyncIterator[RedisAgentStore]:
        async with fresh_stores(infra.redis_url) as stores:
            yield stores[0]

    async def test_a_live_view_vanishes_when_its_router_stops_writing_it(self, store: RedisAgentStore) -> None:
        await store.put_live_view("d1", '{"at": 1}', 0.2)
        assert await store.live_views(["d1"]) == {"d1": '{"at": 1}'}

        async def gone() -> bool:
            return await store.live_views(["d1"]) == {"d1": None}

        await wait_until_async(gone, timeout=5.0, what="the view to expire")  # a dead router's view does not linger
