"""Whether the benchmark's run lost or doubled anything, from the event log on the topics (pure).

The observer feeds every event of `wr.tasks` and `wr.agents` to a Ledger as it reads them; one task's events
share a partition, so they come in the order they were published. At the end the checks compare the ledger
with what was sent, what the callback sink acknowledged and what the reporting service's event log holds:

- nothing lost: every task sent captured once and completed once (the benchmark's agents finish every task);
- none given to two agents: no task offered or accepted by a second agent while a first still held it
  (the holds and releases of tests/support/e2e_checks.py, on the raw JSON the observer reads);
- every callback the log calls for acknowledged by the sink, and each only once;
- every event of the topics in the event log (PostgreSQL), and no dead letter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.e2e_checks import HOLDS, RELEASES, TERMINAL
from tests.support.e2e_outcomes import CALLBACK_EVENTS

SHOWN = 10  # problems printed per check


@dataclass
class Ledger:
    """Per task: captures, completions, who holds it, the callbacks it calls for; every event id."""

    subscriptions: Mapping[str, Collection[str]]  # source -> the events it is called back for
    ids: set[str] = field(default_factory=set)
    repeated: int = 0  # messages carrying an id seen before (a publication sent again): counted, not re-applied
    captured: Counter[str] = field(default_factory=Counter)
    completed: Counter[str] = field(default_factory=Counter)
    source: dict[str, str] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    holder: dict[str, str] = field(default_factory=dict)
    double_holds: list[str] = field(default_factory=list)
    callbacks: dict[str, str] = field(default_factory=dict)  # idempotency key (event id) -> "<event> of <task>"

    def see(self, event_id: str, kind: str, data: Mapping[str, Any], time: str = "") -> None:
        """One event as read (kind: the type's last part, `offered`); a repeated id is only counted."""
        if event_id in self.ids:
            self.repeated += 1
            return
        self.ids.add(event_id)
        task_id = data.get("task_id")
        if not isinstance(task_id, str):
            return  # an agent event: its id is all the checks need
        if kind == "captured":
            self.captured[task_id] += 1
            self.source[task_id] = str(data.get("source"))
        elif kind == "completed":
            self.completed[task_id] += 1
        self._hold(task_id, kind, data, time)
        wanted = self.subscriptions.get(self.source.get(task_id, ""), ())
        if kind in CALLBACK_EVENTS and kind in wanted and task_id not in self.ended:
            self.callbacks[event_id] = f"{kind} of {task_id}"
        if kind in TERMINAL:
            self.ended.add(task_id)

    def _hold(self, task_id: str, kind: str, data: Mapping[str, Any], time: str) -> None:
        if kind in HOLDS:
            agent = str(data.get("agent_id"))
            current = self.holder.get(task_id)
            if current is not None and current != agent:
                self.double_holds.append(f"{task_id}: {kind} to {agent} at {time} while {current} held it")
            self.holder[task_id] = agent
        elif kind in RELEASES:
            self.holder.pop(task_id, None)


def task_problems(ledger: Ledger, sent: Collection[str]) -> list[str]:
    """Tasks sent but not captured once and completed once."""
    problems = []
    for task_id in sent:
        captured, completed = ledger.captured[task_id], ledger.completed[task_id]
        if captured != 1 or completed != 1:
            problems.append(f"{task_id}: captured {captured}x, completed {completed}x")
    return problems


def callback_problems(ledger: Ledger, received: Mapping[str, int]) -> list[str]:
    """Callbacks the log calls for that the sink never got, got more than once, or got without a cause."""
    problems = [f"missing: {what} (key {key})" for key, what in ledger.callbacks.items() if not received.get(key)]
    problems += [f"{n}x: {ledger.callbacks.get(key, 'unexpected')} (key {key})" for key, n in received.items() if n > 1]
    problems += [f"unexpected: key {key}" for key in received if key not in ledger.callbacks]
    return problems


# check -> its short name in the `bench checks:` line
CHECKS = {
    "every task captured once and completed once": "lost_or_doubled",
    "no task held by two agents at once": "double_holds",
    "every callback delivered, each once": "callback_problems",
    "every event of the topics in the event log": "not_in_log",
    "no dead letters": "dead_letters",
}


def checks(
    ledger: Ledger, sent: Collection[str], received: Mapping[str, int], logged: Collection[str], dead_letters: int
) -> dict[str, list[str]]:
    """Each check's problems, [] when it holds (in the order of CHECKS)."""
    names = list(CHECKS)
    return {
        names[0]: task_problems(ledger, sent),
        names[1]: list(ledger.double_holds),
        names[2]: callback_problems(ledger, received),
        names[3]: [f"{event_id} not in the event log" for event_id in sorted(ledger.ids - set(logged))],
        names[4]: [f"dead letter {n + 1} of {dead_letters}" for n in range(dead_letters)],
    }


def shown(items: list[str]) -> list[str]:
    """The first SHOWN problems of a check, and how many more there are."""
    return items[:SHOWN] + ([f"... and {len(items) - SHOWN} more"] if len(items) > SHOWN else [])


def checks_line(found: Mapping[str, list[str]], ledger: Ledger, sent: int) -> str:
    """The line scripts read: tasks sent, events read, problems per check (0 each when all is well), and ids
    the topics carried twice (a publication sent again; not a problem by itself)."""
    counts = " ".join(f"{CHECKS[name]}={len(items)}" for name, items in found.items())
    return f"bench checks: tasks={sent} events={len(ledger.ids)} {counts} repeated_ids={ledger.repeated}"
