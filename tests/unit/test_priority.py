"""The priority function: monotone, time-invariant in the urgent band, clamped for display, aware-only."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workrouter.domain.priority import (
    PriorityPolicy,
    display_priority,
    epoch_hours,
    priority_at,
    static_score,
    urgent_from,
    urgent_score,
)

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=ZONES)
OFFSETS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))
BASES = st.integers(0, 1000)
VALUES = st.floats(min_value=-10, max_value=1e9, allow_nan=False)
POLICIES = st.builds(
    PriorityPolicy,
    value_weight=st.floats(0, 200),
    urgency_per_hour=st.floats(0, 100),
    horizon_hours=st.floats(0, 24 * 30),
)
DUES = st.one_of(st.none(), TIMES)


def test_worked_example_from_the_docs() -> None:
    policy = PriorityPolicy()
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    a_due, b_due = now + timedelta(days=7), now + timedelta(hours=48)
    assert static_score(750, 0, policy) == 750
    assert math.isclose(static_score(250, 100, policy), 250 + 50 * math.log(101))
    assert priority_at(750, 0, a_due, now) == 750
    assert math.isclose(priority_at(250, 100, b_due, now), 250 + 50 * math.log(101) + 10 * 24)
    assert urgent_from(b_due) == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    later = now + timedelta(hours=3)
    assert priority_at(250, 100, b_due, later) > priority_at(750, 0, a_due, later), "B overtakes A within 3 hours"
    assert display_priority(250, 100, b_due, now) == 721
    assert display_priority(250, 100, b_due, b_due + timedelta(days=3)) == 1000


def test_no_due_time_means_no_urgency() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert priority_at(500, 0, None, now) == 500
    assert priority_at(500, 0, None, now + timedelta(days=365)) == 500


@given(base=BASES, value=VALUES, due=DUES, now=TIMES, step=OFFSETS, policy=POLICIES)
def test_priority_never_decreases_as_time_passes(
    *, base: int, value: float, due: datetime | None, now: datetime, step: timedelta, policy: PriorityPolicy
) -> None:
    before = priority_at(base, value, due, now, policy)
    after = priority_at(base, value, due, now + step, policy)
    assert after >= before - 1e-9 * max(1.0, abs(before))


@given(base=BASES, value=VALUES, more=st.floats(0, 1e9), extra=st.integers(0, 1000), due=DUES, now=TIMES)
def test_priority_never_decreases_with_value_or_base(
    *, base: int, value: float, more: float, extra: int, due: datetime | None, now: datetime
) -> None:
    start = priority_at(base, value, due, now)
    assert priority_at(base, value + more, due, now) >= start
    assert priority_at(base + extra, value, due, now) >= start


@given(base=BASES, value=VALUES, due=TIMES, before=OFFSETS, policy=POLICIES)
def test_before_the_horizon_the_priority_is_the_static_score(
    base: int, value: float, due: datetime, before: timedelta, policy: PriorityPolicy
) -> None:
    now = urgent_from(due, policy) - before
    assert math.isclose(priority_at(base, value, due, now, policy), static_score(base, value, policy), abs_tol=1e-6)


@pytest.mark.slow
@settings(max_examples=300)
@given(base=BASES, value=VALUES, due=TIMES, inside=OFFSETS, policy=POLICIES)
def test_in_the_urgent_band_priority_is_urgent_score_plus_rate_times_epoch_hours(
    base: int, value: float, due: datetime, inside: timedelta, policy: PriorityPolicy
) -> None:
    now = urgent_from(due, policy) + inside
    expected = urgent_score(base, value, due, policy) + policy.urgency_per_hour * epoch_hours(now)
    assert math.isclose(priority_at(base, value, due, now, policy), expected, rel_tol=1e-6, abs_tol=1e-6)


@pytest.mark.slow
@settings(max_examples=300)
@given(
    a=st.tuples(BASES, VALUES, TIMES),
    b=st.tuples(BASES, VALUES, TIMES),
    inside=OFFSETS,
    later=OFFSETS,
    policy=POLICIES,
)
def test_urgent_order_is_the_order_of_urgent_scores_now_and_later(
    a: tuple[int, float, datetime],
    b: tuple[int, float, datetime],
    inside: timedelta,
    later: timedelta,
    policy: PriorityPolicy,
) -> None:
    start = max(urgent_from(a[2], policy), urgent_from(b[2], policy)) + inside
    by_score = urgent_score(*a, policy) - urgent_score(*b, policy)
    for now in (start, start + later):
        by_priority = priority_at(*a, now, policy) - priority_at(*b, now, policy)
        assert math.isclose(by_priority, by_score, abs_tol=1e-6), "the gap between urgent tasks never changes"
        if abs(by_score) > 1e-6:
            assert (by_priority > 0) == (by_score > 0)


@given(base=BASES, value=st.floats(-1e9, 1e300, allow_nan=False), due=DUES, now=TIMES, policy=POLICIES)
def test_display_priority_is_rounded_and_clamped(
    base: int, value: float, due: datetime | None, now: datetime, policy: PriorityPolicy
) -> None:
    shown = display_priority(base, value, due, now, policy)
    exact = priority_at(base, value, due, now, policy)
    assert 0 <= shown <= 1000
    assert shown == min(1000, max(0, round(exact)))


def test_display_priority_clamps_far_overdue_tasks() -> None:
    due = datetime(2026, 1, 1, tzinfo=UTC)
    assert display_priority(900, 1e6, due, due + timedelta(days=100)) == 1000
    assert priority_at(900, 1e6, due, due + timedelta(days=100)) > 1000


def test_epoch_hours() -> None:
    assert epoch_hours(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert epoch_hours(datetime(1970, 1, 2, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))) == 24


@pytest.mark.parametrize(
    "call",
    [
        lambda naive, aware: priority_at(500, 0, None, naive),
        lambda naive, aware: priority_at(500, 0, naive, aware),
        lambda naive, aware: display_priority(500, 0, aware, naive),
        lambda naive, aware: urgent_from(naive, PriorityPolicy()),
        lambda naive, aware: urgent_score(500, 0, naive, PriorityPolicy()),
        lambda naive, aware: epoch_hours(naive),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[datetime, datetime], object]) -> None:
    naive, aware = datetime(2026, 11, 23, 9, 0), datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        call(naive, aware)


@pytest.mark.parametrize(
    "kwargs",
    [{"value_weight": -1.0}, {"urgency_per_hour": math.inf}, {"horizon_hours": math.nan}, {"horizon_hours": -0.5}],
)
def test_policy_weights_are_finite_and_non_negative(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="PriorityPolicy"):
        PriorityPolicy(**kwargs)
