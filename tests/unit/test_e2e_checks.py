"""The end-to-end invariant checks find what they look for: each passes a good log and fails a bad one."""

from __future__ import annotations

from tests.support.e2e_checks import (
    capacity_breaches,
    dangling_holds,
    overlapping_holds,
    terminal_problems,
    tier_violations,
)
from tests.support.e2e_log import (
    accepted,
    cancelled,
    captured,
    classified,
    completed,
    offered,
    queued,
    revoked,
    transferred,
    worked,
    wrap_up,
)

TIERS = {"q": [(50, 0.0), (0, 60.0)]}
SKILLS = {"a": {"s": 90}, "b": {"s": 20}}


def test_terminal_states_as_intended() -> None:
    log = [*worked("t1", "a", 0), captured("t2", 0), cancelled("t2", 5)]
    assert terminal_problems(log, {"t1": "completed", "t2": "cancelled"}) == []


def test_terminal_states_find_open_wrong_twice_unsent_and_never_captured_tasks() -> None:
    log = [captured("open", 0), queued("open", 1)]
    log += [captured("wrong", 0), cancelled("wrong", 5)]
    log += [*worked("twice", "a", 0), completed("twice", None, 20)]
    log += worked("unsent", "a", 0)
    problems = terminal_problems(
        log, {"open": "completed", "wrong": "completed", "twice": "completed", "lost": "expired"}
    )
    assert [p.split(":")[0] for p in problems] == ["lost", "open", "twice", "wrong", "unsent"]
    assert "never captured" in problems[0]
    assert "not ended" in problems[1]
    assert "once" in problems[2]


def test_no_overlap_when_a_task_passes_from_agent_to_agent() -> None:
    log = [offered("t1", "a", 1), revoked("t1", "a", 5), offered("t1", "b", 6), accepted("t1", "b", 7)]
    log += [transferred("t1", 8), queued("t1", 9), offered("t1", "a", 10), accepted("t1", "a", 11)]
    assert overlapping_holds(log) == []


def test_an_offer_to_a_second_agent_while_the_first_holds_the_task_is_found() -> None:
    log = [offered("t1", "a", 1), accepted("t1", "a", 2), offered("t1", "b", 3)]
    (problem,) = overlapping_holds(log)
    assert problem.startswith("t1: offered to b")
    assert "while a held it" in problem


def test_capacity_holds_when_tasks_follow_each_other() -> None:
    log = worked("t1", "a", 0) + worked("t2", "a", 10)  # t2 offered at 11, t1 completed at 10
    assert capacity_breaches(log, {"a": 1}) == []


def test_two_tasks_held_at_once_by_an_agent_of_capacity_one_is_a_breach() -> None:
    log = worked("t1", "a", 0) + worked("t2", "a", 5)
    problem, story = capacity_breaches(log, {"a": 1})
    assert problem.startswith("a held 2 > 1")
    assert story.startswith("a: the longest held, t1: ")  # its history, to see why it was still held
    assert "accepted(a" in story
    assert capacity_breaches(log, {"a": 2}) == []


def test_an_offer_revoked_within_the_slack_is_not_held_for_ever() -> None:
    # found by the end-to-end test: a release counted `slack` early sorted before its own start
    log = [offered("t1", "a", 0.0), revoked("t1", "a", 0.03), *worked("t2", "a", 1), *worked("t3", "a", 20)]
    assert capacity_breaches(log, {"a": 1}) == []


def test_after_work_time_still_counts_against_capacity() -> None:
    t1 = [*worked("t1", "a", 0)[:-1], wrap_up("t1", "a", 10, after=5.0), completed("t1", "a", 10)]
    assert capacity_breaches(t1 + worked("t2", "a", 11), {"a": 1}) != []  # offered at 12, after-work until 15
    assert capacity_breaches(t1 + worked("t2", "a", 15), {"a": 1}) == []  # offered at 16


def test_offers_within_the_tier_pass() -> None:
    log = [classified("t1", 0, level=10), offered("t1", "a", 1, tier=0), revoked("t1", "a", 2)]
    log += [offered("t1", "b", 61, tier=1)]  # the junior once tier 1 opened, 60 s after classification
    assert tier_violations(log, TIERS, SKILLS) == []


def test_an_offer_from_a_tier_not_reached_or_to_an_agent_below_it_is_found() -> None:
    early = [classified("t1", 0), offered("t1", "b", 30, tier=1)]
    (problem,) = tier_violations(early, TIERS, SKILLS)
    assert "from tier 1 of q after 30.000 s (it opens at 60.0 s)" in problem
    low = [classified("t2", 0), offered("t2", "b", 1, tier=0)]
    (problem,) = tier_violations(low, TIERS, SKILLS)
    assert "to b from tier 0 of q without {'s': 10} (tier level 50)" in problem
    skilled = [classified("t3", 0, level=95), offered("t3", "a", 70, tier=1)]  # the task's own minimum holds
    assert len(tier_violations(skilled, TIERS, SKILLS)) == 1


def test_a_transfer_starts_the_wait_clock_again() -> None:
    log = [classified("t1", 0), offered("t1", "a", 1), accepted("t1", "a", 2), transferred("t1", 100)]
    log += [classified("t1", 101), offered("t1", "b", 130, tier=1)]  # 29 s after the new classification
    assert len(tier_violations(log, TIERS, SKILLS)) == 1


def test_every_hold_ended_by_an_event_passes() -> None:
    log = [*worked("t1", "a", 0), captured("t2", 0), offered("t2", "b", 1), revoked("t2", "b", 2), cancelled("t2", 3)]
    assert dangling_holds(log) == []


def test_a_hold_no_event_ended_is_found_with_the_task_history() -> None:
    log = [captured("t1", 0), cancelled("t1", 1), offered("t1", "b", 2)]  # offered after the task ended
    (problem,) = dangling_holds(log)
    assert problem.startswith("t1: held by b since ")
    assert "cancelled" in problem
    assert "offered(b" in problem
