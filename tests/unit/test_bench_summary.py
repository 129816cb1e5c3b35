"""The end-to-end benchmark's ladder rises until a rate is not sustained, and its last line sums it up."""

from __future__ import annotations

import itertools

from tests.bench.e2e_args import MAX_RATE, RAMP, ramp
from tests.bench.e2e_cpu import OTHERS
from tests.bench.e2e_raw import RawFigures
from tests.bench.e2e_report import summary_line
from tests.bench.e2e_step import StepFigures, Window


def step(rate: float, offered: float, p99: float, cpu: dict[str, float]) -> StepFigures:
    return StepFigures(
        rate=rate, seconds=30, sent=int(rate * 30), offered_per_s=offered, completed_per_s=offered,
        source_to_offer=(p99 / 2, p99, p99 * 2), captured_to_offer=(0.0, 0.0), observer_delay_p50=0.0,
        not_offered=0, router_histogram=(0.0, 0.0, 0.0, 0.0), events_per_task=6.0, kinds_per_task={},
        messages_per_task={"tasks": 6.0}, message_bytes=700.0, callbacks_per_s=0.0, cpu={}, handled_per_s={},
        cpu_ms_per_task=cpu, cpu_stall=0.0, window=Window(), load=(0.0, 0.0, 0.0), slo_seconds=1.0,
    )  # fmt: skip


RAW = RawFigures(size=700, messages=50_000, produce_consume_per_s=25_935.4, one_ack_at_a_time_per_s=1_000.0)


def test_the_ladder_rises_past_its_listed_rates_and_passes_150() -> None:
    rates = list(itertools.islice(ramp(), 40))
    assert rates[: len(RAMP)] == list(RAMP)
    assert 150.0 in rates
    assert all(b > a for a, b in itertools.pairwise(rates))
    assert rates[-1] <= MAX_RATE
    assert rates[len(RAMP)] == RAMP[-1] * 1.5


def test_the_summary_names_the_ceiling_and_leaves_out_the_bench_s_own_cpu() -> None:
    cpu = {"router": 2.0, "kafka": 1.5, "postgres": 1.0, "bench": 9.0, OTHERS: 4.0}
    steps = [step(128, 128.0, 0.05, cpu), step(150, 149.0, 0.08, cpu), step(200, 160.0, 3.0, {"router": 9.0})]
    assert summary_line(steps, RAW) == (
        "bench summary: sustained=149.0 cpu_ms_per_task=4.5 p99_ms_at_150=80 raw_msgs_per_s=25935"
    )


def test_the_summary_says_na_for_what_was_not_reached() -> None:
    steps = [step(8, 5.0, 3.0, {"router": 40.0})]
    assert (
        summary_line(steps, RAW)
        == "bench summary: sustained=0.0 cpu_ms_per_task=na p99_ms_at_150=na raw_msgs_per_s=25935"
    )
