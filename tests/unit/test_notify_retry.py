"""The retry schedule: exponential backoff with full jitter, a cap, and a limit."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.notifier import T0
from workrouter.domain.notify.retry import RetryPolicy

POLICY = RetryPolicy(max_attempts=6, base_seconds=0.5, cap_seconds=5.0)


def test_the_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    assert [POLICY.ceiling(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert RetryPolicy(max_attempts=1000).ceiling(999) == 600.0  # no overflow for absurd attempt counts


@given(attempts=st.integers(1, 200), r=st.floats(0.0, 1.0, exclude_max=True))
def test_a_delay_is_never_negative_nor_above_the_ceiling(attempts: int, r: float) -> None:
    delay = POLICY.delay(attempts, lambda: r)
    assert 0.0 <= delay < POLICY.ceiling(attempts)


def test_full_jitter_spreads_delays_over_the_whole_range() -> None:
    rng = random.Random(1)
    delays = [POLICY.delay(4, rng.random) for _ in range(2000)]
    assert min(delays) < 0.2
    assert max(delays) > 3.8
    assert 1.8 < sum(delays) / len(delays) < 2.2  # uniform: mean is half the ceiling


def test_retry_at_is_now_plus_the_delay_until_the_limit_then_none() -> None:
    half = lambda: 0.5  # noqa: E731
    assert POLICY.retry_at(1, T0, half) == T0 + timedelta(seconds=0.25)
    assert POLICY.retry_at(3, T0, half) == T0 + timedelta(seconds=1.0)
    assert POLICY.retry_at(5, T0, half) == T0 + timedelta(seconds=2.5)
    assert POLICY.retry_at(6, T0, half) is None  # six attempts made: give up
    assert POLICY.retry_at(60, T0, half) is None


def test_retry_after_from_the_source_is_a_floor_within_the_cap() -> None:
    zero = lambda: 0.0  # noqa: E731
    assert POLICY.delay(1, zero, retry_after=3.0) == 3.0
    assert POLICY.delay(1, zero, retry_after=3600.0) == 5.0
    assert POLICY.delay(4, lambda: 0.99, retry_after=1.0) == pytest.approx(3.96)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"base_seconds": 0}, "0 < base_seconds <= cap_seconds"),
        ({"base_seconds": 10, "cap_seconds": 5}, "0 < base_seconds <= cap_seconds"),
    ],
)
def test_a_nonsensical_policy_is_refused(kwargs: dict[str, float], says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
