"""The memory run's pure parts: its table, its summary line and its command line."""

from __future__ import annotations

import pytest

from tests.bench.e2e_args import parse_args
from tests.bench.e2e_memory import MIB, RssSamples


def test_a_warming_cache_is_flat_in_the_second_half_and_a_leak_is_not() -> None:
    samples = RssSamples()
    for minute in range(11):
        at = minute * 60.0
        samples.add(at, "router", int((100 + min(minute, 3) * 10) * MIB))  # grows for 3 minutes, then flat
        samples.add(at, "notifier", int((80 + minute * 2) * MIB))  # 2 MiB a minute, all along
        samples.add(at, "gone", None)  # a process that exited gives no sample
    lines = samples.table()
    assert lines[0].endswith("(MiB, 600 s)")
    assert lines[1].split() == ["notifier", "80.0", "100.0", "+20.0", "+10.0"]
    assert lines[2].split() == ["router", "100.0", "130.0", "+30.0", "+0.0"]
    assert samples.summary() == "bench memory: seconds=600 second_half_mib notifier=+10.0 router=+0.0"


def test_soak_is_one_rate_for_minutes() -> None:
    args = parse_args(["--soak", "10"])
    assert (args.rates, args.seconds) == ([150.0], 600.0)
    assert parse_args(["--soak", "2", "--rate", "80"]).rates == [80.0]
    for wrong in (["--soak", "0"], ["--soak", "5", "--rates", "8,16"], ["--soak", "5", "--compare-instances", "1,2"]):
        with pytest.raises(SystemExit):
            parse_args(wrong)
