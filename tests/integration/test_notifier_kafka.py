"""The notifier as its own process on real Kafka and PostgreSQL, calling real HTTP servers that fail, hang and
succeed by turns: every callback is acknowledged exactly once (by idempotency key), every signature verifies,
and a dead source's letters are listed and replayed with the CLI once it is back."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.callback_server import CallbackServer, free_port
from tests.support.infra import Infra
from tests.support.notifier_world import NotifierWorld, callback_of, history
from tests.support.wait import wait_until, wait_until_async
from workrouter.contracts import task_events as te
from workrouter.contracts.envelope import Envelope

pytestmark = pytest.mark.timeout(240)
TASKS = 300
# by turns, per idempotency key: what the server does with the 1st, 2nd, ... request of that key
PATTERNS = (("ok",), ("fail", "ok"), ("hang", "ok"), ("fail", "hang", "ok"), ("ack_hang", "ok"))


def by_turns(key: str, nth: int) -> str:
    """The key's pattern (chosen by its hash), one turn per request; "ok" once the pattern is used up."""
    pattern = PATTERNS[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(PATTERNS)]
    return pattern[nth - 1] if nth <= len(pattern) else "ok"


@pytest.fixture
async def world(infra: Infra, fresh_database: str, tmp_path: Path) -> AsyncIterator[NotifierWorld]:
    """crm and bpm answer by turns; ticketing's server is down until the test starts it."""
    servers = {
        "crm": CallbackServer("crm-secret-0123456789", by_turns),
        "bpm": CallbackServer("bpm-secret-0123456789", by_turns),
        "ticketing": CallbackServer("ticketing-secret-0123456789"),
    }
    events = {
        "crm": ["completed", "cancelled", "escalated"],
        "bpm": ["completed", "cancelled"],
        "ticketing": ["completed"],
    }
    w = NotifierWorld(infra, fresh_database, tmp_path, servers, events)
    servers["crm"].start()
    servers["bpm"].start()
    await w.open()
    print(f"\nnotifier log: {tmp_path / 'notifier.log'}")
    try:
        yield w
    finally:
        await w.close()


def workload(world: NotifierWorld) -> tuple[list[list[Envelope]], dict[str, set[str]]]:
    """Task histories over the three sources, and the callback keys each source must acknowledge."""
    histories: list[list[Envelope]] = []
    expected: dict[str, set[str]] = {name: set() for name in world.servers}
    for i in range(TASKS):
        source = ("crm", "crm", "bpm", "bpm", "ticketing")[i % 5]
        task_id = f"task-{i:04d}"
        middle: list[te.TaskEvent] = [te.TaskAccepted(task_id=task_id, agent_id="alice", how="pull")]
        if i % 4 == 0:
            middle.append(te.TaskEscalated(task_id=task_id, step="sla:std:80%", actions=["alert"]))
        ending: te.TaskEvent = (
            te.TaskCancelled(task_id=task_id, by="source", reason="duplicate")
            if i % 3 == 0
            else te.TaskCompleted(task_id=task_id, by="agent", agent_id="alice", wrap_up_code="processed")
        )
        events = history(task_id, source, ending, *middle)
        histories.append(events)
        subscribed = world.events[source]
        expected[source] |= {e.id for e in events if e.type.rsplit(".", 1)[-1] in subscribed}
    return histories, expected


async def scrape(port: int) -> dict[str, float]:
    """The notifier's /metrics as {series: value}."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and line[0] != "#"
    }


def check_exactly_once(server: CallbackServer, source: str, expected: set[str]) -> None:
    """Every expected key acknowledged once, nothing else; one body per key, naming the key and the source."""
    assert set(server.first_acks) == expected
    assert server.bad_signatures == []
    assert [k for k, bodies in server.bodies.items() if len(bodies) != 1] == []  # every retry sent the same bytes
    for key, body in server.first_acks.items():
        sent = callback_of(body)
        assert sent["id"] == key
        assert sent["task"]["source"] == source
    pairs = [(callback_of(b)["task"]["task_id"], callback_of(b)["event"]) for b in server.first_acks.values()]
    assert len(pairs) == len(set(pairs))  # one callback per (task, event)


async def test_callbacks_are_acknowledged_once_through_failures_and_a_dead_source_is_replayed(
    world: NotifierWorld,
) -> None:
    histories, expected = workload(world)
    crm, bpm, ticketing = world.servers["crm"], world.servers["bpm"], world.servers["ticketing"]
    metrics_port = free_port()
    world.start_notifier(WR_METRICS_PORT=str(metrics_port))
    started = time.monotonic()
    await world.publish(histories)
    await wait_until(lambda: crm.acked(expected["crm"]) and bpm.acked(expected["bpm"]), timeout=120, what="crm+bpm")
    delivered_in = time.monotonic() - started

    async def ticketing_dead() -> bool:
        return (await world.statuses()).get(("ticketing", "dead"), 0) == len(expected["ticketing"])

    await wait_until_async(ticketing_dead, timeout=60, what="ticketing's callbacks to be dead letters")
    code, table, _ = await world.cli("callbacks", "dead", "--source", "ticketing")
    assert code == 0
    assert table.splitlines()[0].split() == ["ID", "SOURCE", "TASK", "EVENT", "ATTEMPTS", "DEAD", "AT", "LAST", "ERROR"]
    assert f"{len(expected['ticketing'])} dead callbacks of source ticketing" in table
    code, raw, _ = await world.cli("callbacks", "dead", "--json")
    letters = json.loads(raw)
    assert {d["id"] for d in letters} == expected["ticketing"]
    assert {(d["source"], d["event"], d["attempts"]) for d in letters} == {("ticketing", "completed", 4)}
    assert all("ConnectError" in d["last_error"] for d in letters), letters[0]["last_error"]

    ticketing.start()  # the source is back
    code, out, _ = await world.cli("callbacks", "replay", "--source", "ticketing")
    assert code == 0
    assert f"{len(expected['ticketing'])} callbacks of source ticketing pending again" in out
    await wait_until(lambda: ticketing.acked(expected["ticketing"]), timeout=60, what="replayed callbacks")
    assert (await world.cli("callbacks", "dead"))[1].startswith("no dead callbacks")

    for name, server in world.servers.items():
        check_exactly_once(server, name, expected[name])
    scraped = await scrape(metrics_port)
    dead = len(expected["ticketing"])
    assert scraped['workrouter_callbacks_total{outcome="dead",source="ticketing"}'] == dead
    assert scraped['workrouter_callbacks_total{outcome="retry",source="ticketing"}'] == 3 * dead  # 4 attempts each
    assert scraped['workrouter_callbacks_total{outcome="delivered",source="ticketing"}'] == dead  # after the replay
    assert scraped['workrouter_callback_dead_letters{source="ticketing"}'] == 0  # refreshed at the scrape
    assert scraped['workrouter_callbacks_enqueued_total{event="escalated",source="crm"}'] == sum(
        1 for b in crm.first_acks.values() if callback_of(b)["event"] == "escalated"
    )
    assert scraped['workrouter_callback_duration_seconds_count{source="crm"}'] >= len(expected["crm"])
    duplicates = sum(s.duplicates.total() for s in world.servers.values())
    requests = sum(s.requests.total() for s in world.servers.values())
    delivered = len(expected["crm"]) + len(expected["bpm"])
    print(
        f"\n{delivered} crm+bpm callbacks acknowledged {delivered_in:.1f} s after the notifier process was started "
        f"(start-up included), through 500s and hangs; {requests} requests in all, {duplicates} repeats of an "
        f"acknowledged key (answers lost to a hang); {dead} ticketing callbacks dead, listed, replayed, acknowledged"
    )


async def test_a_redelivered_event_makes_one_callback(world: NotifierWorld) -> None:
    crm = world.servers["crm"]
    crm.behaviour = lambda _key, _nth: "ok"
    histories: list[list[Envelope]] = []
    keys: set[str] = set()
    sentinels: set[str] = set()
    for i in range(30):
        task_id = f"again-{i}"
        original = history(task_id, "crm", te.TaskCompleted(task_id=task_id, by="source"))
        keys.add(original[-1].id)
        # the same events again (same ids, as a redelivery has), then a sentinel task on the same partition
        sentinel = history(f"sentinel-{i}", "crm", te.TaskCompleted(task_id=f"sentinel-{i}", by="source"))
        sentinel = [e.model_copy(update={"partitionkey": task_id}) for e in sentinel]
        sentinels.add(sentinel[-1].id)
        histories.append([*original, *original, original[-1], *sentinel])
    world.start_notifier()
    await world.publish(histories)
    await wait_until(lambda: crm.acked(keys | sentinels), timeout=90, what="every completion and sentinel")
    assert set(crm.first_acks) == keys | sentinels
    assert crm.requests.total() == len(keys) + len(sentinels)  # one request per completion: no second callback
