"""The end-to-end benchmark's checks: nothing lost, none held by two agents, each callback once, every event
in the event log."""

from __future__ import annotations

from collections import Counter

from tests.bench.e2e_integrity import Ledger, checks, checks_line, shown

SUBSCRIPTIONS = {"crm": frozenset({"completed", "escalated"}), "bpm": frozenset({"completed"})}


def life(ledger: Ledger, task: str, source: str, *steps: tuple[str, str | None]) -> None:
    """Feed a task's events: captured, then (kind, agent) steps; ids are `<task>-<n>`."""
    ledger.see(f"{task}-0", "captured", {"task_id": task, "source": source})
    for n, (kind, agent) in enumerate(steps, start=1):
        data = {"task_id": task} | ({"agent_id": agent} if agent else {})
        ledger.see(f"{task}-{n}", kind, data, f"t{n}")


def done(ledger: Ledger, task: str, source: str, agent: str = "a1") -> None:
    life(ledger, task, source, ("classified", None), ("offered", agent), ("accepted", agent), ("completed", agent))


def test_a_clean_run_passes_every_check() -> None:
    ledger = Ledger(SUBSCRIPTIONS)
    done(ledger, "t1", "crm")
    done(ledger, "t2", "ticketing")  # no callbacks for ticketing
    ledger.see("agent-event-1", "presence_changed", {"agent_id": "a1", "presence": "ready"})
    found = checks(ledger, ["t1", "t2"], Counter({"t1-4": 1}), ledger.ids, 0)
    assert all(problems == [] for problems in found.values())
    assert ledger.callbacks == {"t1-4": "completed of t1"}
    assert checks_line(found, ledger, 2) == (
        "bench checks: tasks=2 events=11 lost_or_doubled=0 double_holds=0 callback_problems=0 not_in_log=0 "
        "dead_letters=0 repeated_ids=0"
    )


def test_a_task_offered_to_a_second_agent_while_the_first_holds_it_is_caught() -> None:
    ledger = Ledger(SUBSCRIPTIONS)
    life(ledger, "t1", "bpm", ("offered", "a1"), ("offered", "a2"), ("accepted", "a2"), ("completed", "a2"))
    assert ledger.double_holds == ["t1: offered to a2 at t2 while a1 held it"]
    found = checks(ledger, ["t1"], Counter({"t1-4": 1}), ledger.ids, 0)
    assert found["no task held by two agents at once"] == ledger.double_holds


def test_a_revoked_offer_lets_the_next_agent_have_it() -> None:
    ledger = Ledger(SUBSCRIPTIONS)
    life(ledger, "t1", "bpm", ("offered", "a1"), ("offer_revoked", "a1"), ("offered", "a2"), ("accepted", "a2"))
    life(ledger, "t2", "bpm", ("offered", "a1"), ("accepted", "a1"))  # the same agent offered then accepting
    assert ledger.double_holds == []


def test_a_repeated_event_id_is_counted_and_not_applied_again() -> None:
    ledger = Ledger(SUBSCRIPTIONS)
    done(ledger, "t1", "crm")
    ledger.see("t1-4", "completed", {"task_id": "t1", "agent_id": "a1"})
    assert ledger.repeated == 1
    assert ledger.completed["t1"] == 1


def test_lost_and_doubled_tasks_are_named() -> None:
    ledger = Ledger(SUBSCRIPTIONS)
    done(ledger, "t1", "ticketing")
    life(ledger, "t2", "ticketing", ("offered", "a1"), ("accepted", "a1"))  # never completed
    done(ledger, "t3", "ticketing")
    ledger.see("t3-again", "completed", {"task_id": "t3", "agent_id": "a1"})  # a second completion, another id
    found = checks(ledger, ["t1", "t2", "t3", "t4"], Counter(), ledger.ids, 0)
    assert found["every task captured once and completed once"] == [
        "t2: captured 1x, completed 0x",
        "t3: captured 1x, completed 2x",
        "t4: captured 0x, completed 0x",
    ]


def test_callbacks_missing_twice_or_without_a_cause_are_named() -> None:
    ledger = Ledger(SUBSCRIPTIONS)
    done(ledger, "t1", "crm")
    done(ledger, "t2", "bpm")
    life(ledger, "t3", "crm", ("escalated", None), ("completed", "a1"), ("escalated", None))
    assert ledger.callbacks == {
        "t1-4": "completed of t1",
        "t2-4": "completed of t2",
        "t3-1": "escalated of t3",
        "t3-2": "completed of t3",  # not the escalation after the end: none is called for
    }
    received = Counter({"t1-4": 2, "t3-1": 1, "t3-2": 1, "stray": 1})
    assert checks(ledger, [], received, ledger.ids, 0)["every callback delivered, each once"] == [
        "missing: completed of t2 (key t2-4)",
        "2x: completed of t1 (key t1-4)",
        "unexpected: key stray",
    ]


def test_events_missing_from_the_event_log_and_dead_letters_fail() -> None:
    ledger = Ledger(SUBSCRIPTIONS)
    done(ledger, "t1", "ticketing")
    found = checks(ledger, ["t1"], Counter(), ledger.ids - {"t1-2"}, 2)
    assert found["every event of the topics in the event log"] == ["t1-2 not in the event log"]
    assert found["no dead letters"] == ["dead letter 1 of 2", "dead letter 2 of 2"]
    assert "not_in_log=1 dead_letters=2" in checks_line(found, ledger, 1)


def test_only_the_first_problems_are_shown() -> None:
    assert shown([str(n) for n in range(3)]) == ["0", "1", "2"]
    assert shown([str(n) for n in range(25)])[-1] == "... and 15 more"
