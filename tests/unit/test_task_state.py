"""The one transition table: reachability, terminal states, and random walks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.task_lifecycle import InvalidTransitionError, next_state
from workrouter.contracts.registry import REGISTRY
from workrouter.contracts.task_events import TaskEvent
from workrouter.domain.task_state import (
    AFTERMATH_EVENTS,
    OPEN,
    STATELESS_EVENTS,
    TERMINAL,
    TRANSITIONS,
    TaskState,
    state_after,
)

EVENTS = sorted([*TRANSITIONS, *STATELESS_EVENTS])


def reachable_from(start: TaskState | None) -> set[TaskState]:
    seen: set[TaskState] = set()
    frontier: list[TaskState | None] = [start]
    while frontier:
        state = frontier.pop()
        for event in EVENTS:
            try:
                after = next_state(state, event)
            except InvalidTransitionError:
                continue
            if after is not None and after not in seen:
                seen.add(after)
                frontier.append(after)
    return seen


def test_every_state_is_reachable_from_capture() -> None:
    assert reachable_from(None) == set(TaskState)


@pytest.mark.parametrize("state", sorted(OPEN))
def test_every_open_state_can_still_end(state: TaskState) -> None:
    assert reachable_from(state) & TERMINAL, f"a task in {state} could never finish"


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_nothing_happens_after_the_end(state: TaskState) -> None:
    for event in EVENTS:
        with pytest.raises(InvalidTransitionError):
            next_state(state, event)


def test_every_task_event_type_is_in_the_table() -> None:
    task_event_types = {m.event_type for m in REGISTRY.models() if issubclass(m, TaskEvent)}
    assert task_event_types == set(TRANSITIONS) | STATELESS_EVENTS | AFTERMATH_EVENTS


def test_the_happy_path() -> None:
    state = None
    for event in ("captured", "classified", "queued", "offered", "accepted", "wrap_up_started", "completed"):
        state = next_state(state, f"workrouter.task.{event}")
    assert state is TaskState.COMPLETED


def test_refusal_says_what_is_allowed() -> None:
    with pytest.raises(
        InvalidTransitionError, match=r"offered cannot happen to a task that is assigned \(only queued\)"
    ):
        next_state(TaskState.ASSIGNED, "workrouter.task.offered")


@given(st.lists(st.sampled_from(EVENTS), max_size=40))
def test_random_walks_stay_in_the_table_and_never_leave_an_end(events: list[str]) -> None:
    state: TaskState | None = None
    for event in events:
        try:
            after = next_state(state, event)
        except InvalidTransitionError:
            continue
        assert state not in TERMINAL
        if event in STATELESS_EVENTS:
            assert after == state
        else:
            assert after == TRANSITIONS[event][1]
        state = after


def test_an_unassignment_leaves_the_state_even_after_the_end() -> None:
    assert next_state(TaskState.CANCELLED, "workrouter.task.unassigned") is TaskState.CANCELLED
    assert next_state(TaskState.PAUSED, "workrouter.task.unassigned") is TaskState.PAUSED
    with pytest.raises(InvalidTransitionError, match="unknown"):
        next_state(None, "workrouter.task.unassigned")


def test_state_after_is_the_tables_target_whatever_the_state_before() -> None:
    for event_type, (_, target) in TRANSITIONS.items():
        assert state_after(event_type) is target
    assert {state_after(e) for e in (*STATELESS_EVENTS, *AFTERMATH_EVENTS, "workrouter.task.nothing")} == {None}
