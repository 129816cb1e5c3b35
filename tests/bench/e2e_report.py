"""Printing the end-to-end benchmark's figures: one block per offered load, then the final block."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from tests.bench.e2e_cpu import OTHERS
from tests.bench.e2e_instances import SERVICES, by_service
from tests.bench.e2e_integrity import Ledger, checks_line, shown
from tests.bench.e2e_raw import RawFigures
from tests.bench.e2e_step import StepFigures

APART = (OTHERS, "bench")  # not the pipeline's cost: other processes, and the bench's simulated sources and agents


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _ours(f: StepFigures) -> dict[str, float]:
    return {name: cores for name, cores in f.cpu.items() if name != OTHERS}


def _cpu(f: StepFigures) -> str:
    ranked = sorted(_ours(f).items(), key=lambda kv: -kv[1])
    listed = " ".join(f"{name} {cores:.2f}" for name, cores in ranked)
    return f"{listed} | total {sum(_ours(f).values()):.2f}, other processes {f.cpu.get(OTHERS, 0.0):.2f}"


def _per_task(f: StepFigures) -> str:
    ranked = sorted(((n, ms) for n, ms in f.cpu_ms_per_task.items() if n != OTHERS), key=lambda kv: -kv[1])
    return f"{sum(ms for _, ms in ranked):.0f} ms: " + " ".join(f"{n} {ms:.1f}" for n, ms in ranked)


def _instances(cores: Mapping[str, float]) -> str:
    """`router-1 0.12 router-2 0.10 ...` (empty when every service runs once)."""
    return " ".join(f"{name} {value:.2f}" for name, value in sorted(cores.items()))


def print_idle(idle: dict[str, float], stall: float, seconds: float) -> None:
    """The idle baseline, per service (and per instance when a service runs more than once)."""
    ours = {n: c for n, c in by_service(idle).items() if n != OTHERS}
    ranked = " ".join(f"{n} {c:.3f}" for n, c in sorted(ours.items(), key=lambda kv: -kv[1]))
    print(
        f"idle for {seconds:g}s, cores: {ranked} | total {sum(ours.values()):.2f}, other processes "
        f"{idle.get(OTHERS, 0.0):.2f}; CPU stall {100 * stall:.0f} %"
    )
    instances = {n: c for n, c in idle.items() if n not in ours and n != OTHERS}
    if instances:
        print(f"idle cores per instance: {_instances(instances)}")


def print_step(f: StepFigures) -> None:
    """The figures of one offered load."""
    p50, p99, worst = f.source_to_offer
    count, mean, h50, h99 = f.router_histogram
    kinds = ", ".join(f"{k} {v:.2f}" for k, v in f.kinds_per_task.items())
    topics = ", ".join(f"{k} {v:.2f}" for k, v in f.messages_per_task.items())
    handled = " ".join(f"{name} {v:.0f}" for name, v in f.handled_per_s.items())
    lags = " ".join(f"{name} {int(v)}" for name, v in f.window.max_lag.items())
    print(
        f"  => {f.rate:g}/s offered for {f.seconds:.0f}s: {f.sent} tasks; first offers {f.offered_per_s:.1f}/s, "
        f"completed {f.completed_per_s:.1f}/s, not offered after the drain {f.not_offered}\n"
        f"     sent→first offer p50 {_ms(p50)} p99 {_ms(p99)} max {_ms(worst)}; TaskCaptured→first offer "
        f"p50 {_ms(f.captured_to_offer[0])} p99 {_ms(f.captured_to_offer[1])}; "
        f"observer read it {_ms(f.observer_delay_p50)} later (p50)\n"
        f"     router workrouter_capture_to_offer_seconds: {count:.0f} observations, mean {_ms(mean)}, "
        f"p50 ~{_ms(h50)}, p99 ~{_ms(h99)} (bucket interpolation)\n"
        f"     wr.tasks events per task {f.events_per_task:.2f} ({kinds})\n"
        f"     Kafka messages per task {sum(f.messages_per_task.values()):.2f} ({topics}), "
        f"{f.message_bytes:.0f} bytes avg; callbacks {f.callbacks_per_s:.1f}/s\n"
        f"     handled/s: {handled}\n"
        f"     max consumer lag in the window: {lags}; router: tasks waiting max {f.window.max_waiting:.0f}, "
        f"fewest agents available in a queue {f.window.min_available:.0f}\n"
        f"     CPU (cores of {os.cpu_count()}): {_cpu(f)}; CPU stall (PSI some) "
        f"{100 * f.cpu_stall:.0f} % of the window; load average {' '.join(f'{v:.2f}' for v in f.load)}\n"
        f"     CPU per task above idle: {_per_task(f)}"
        + (f"\n     CPU per instance (cores): {_instances(f.cpu_instances)}" if f.cpu_instances else ""),
        flush=True,
    )


def print_final(
    steps: list[StepFigures],
    raw: RawFigures,
    agents: int,
    args: argparse.Namespace,
    elapsed: float,
    *,
    instances: int = 1,
) -> None:
    """The figures block: a line per rate, raw Kafka, the ratios and where the CPU went."""
    many = f", {instances} of each consumer sharing its group" if instances > 1 else ""
    print(f"\n== end to end: 7 services as processes{many}, real Kafka/Redis/PostgreSQL ({elapsed:.0f}s in all) ==")
    print(
        f"{agents} agents x capacity {args.capacity}, accept at once, work {args.work:g}s ±50 %; "
        f"{args.warmup:g}s warm-up + {args.seconds:g}s measured per rate; sustained = first offers >= 95 % of "
        f"the offered rate and p99 sent→offer <= {args.slo:g}s; {os.cpu_count()} cores"
    )
    print(f"{'offered/s':>9} {'offers/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'hist p50':>9} "
          f"{'hist p99':>9} {'late':>5} {'ev/task':>8} {'msg/task':>8} {'load1':>6} {'stall':>6} {'others':>6}  "
          "sustained")  # fmt: skip
    for f in steps:
        _, _, h50, h99 = f.router_histogram
        p50, p99, worst = f.source_to_offer
        print(
            f"{f.rate:>9g} {f.offered_per_s:>9.1f} {p50 * 1000:>8.0f} {p99 * 1000:>8.0f} {worst * 1000:>8.0f} "
            f"{h50 * 1000:>9.0f} {h99 * 1000:>9.0f} {f.not_offered:>5} {f.events_per_task:>8.2f} "
            f"{sum(f.messages_per_task.values()):>8.2f} {f.load[0]:>6.2f} {100 * f.cpu_stall:>5.0f}% "
            f"{f.cpu.get(OTHERS, 0.0):>6.2f}  {'yes' if f.sustained else 'NO'}"
        )
    best = max((f for f in steps if f.sustained), key=lambda f: f.offered_per_s, default=steps[-1])
    per_task = sum(best.messages_per_task.values())
    print(
        f"raw aiokafka, same broker, {raw.size}-byte messages: {raw.produce_consume_per_s:,.0f} msg/s produce→consume "
        f"(pipelined, {raw.messages} messages); {raw.one_ack_at_a_time_per_s:,.0f} msg/s waiting for each ack"
    )
    tasks_s = best.offered_per_s
    print(
        f"ratio at {best.rate:g}/s ({'sustained' if best.sustained else 'highest tried, not sustained'}): "
        f"pipeline {tasks_s:.1f} tasks/s : raw {raw.produce_consume_per_s:,.0f} msg/s = "
        f"1 : {raw.produce_consume_per_s / tasks_s:,.0f}; per Kafka message ({per_task:.1f} per task, "
        f"{best.events_per_task:.1f} of them events on wr.tasks): {tasks_s * per_task:,.0f} msg/s : "
        f"{raw.produce_consume_per_s:,.0f} = {100 * tasks_s * per_task / raw.produce_consume_per_s:.1f} %"
    )
    last = steps[-1]
    print(f"CPU at {last.rate:g}/s (cores): {_cpu(last)}")
    print(f"CPU per task at {best.rate:g}/s, above idle: {_per_task(best)}")
    lagging = max(last.window.max_lag.items(), key=lambda kv: kv[1], default=("none", 0))
    busiest = max(((n, c) for n, c in last.cpu.items() if n in SERVICES), key=lambda kv: kv[1])
    lag_text = f"{lagging[0]} ({lagging[1]} messages)" if lagging[1] else "none"
    print(
        f"largest consumer lag at {last.rate:g}/s: {lag_text}; busiest service: {busiest[0]} ({busiest[1]:.2f} cores)"
    )
    print(summary_line(steps, raw))


def _best(steps: list[StepFigures]) -> StepFigures | None:
    """The sustained step with the most first offers per second, if any."""
    return max((f for f in steps if f.sustained), key=lambda f: f.offered_per_s, default=None)


def ceiling(steps: list[StepFigures]) -> float:
    """The highest rate sustained, in first offers per second (0 when none was)."""
    best = _best(steps)
    return 0.0 if best is None else best.offered_per_s


def print_checks(found: Mapping[str, list[str]], ledger: Ledger, sent: int) -> None:
    """Each check with ok or its first problems, then the `bench checks:` line."""
    for name, problems in found.items():
        print(f"  {'ok ' if not problems else 'FAILED'} {name}" + (f": {len(problems)}" if problems else ""))
        for problem in shown(problems):
            print(f"       {problem}")
    print(checks_line(found, ledger, sent), flush=True)


def summary_line(steps: list[StepFigures], raw: RawFigures) -> str:
    """The last line: the ceiling, the CPU per task there (every workrouter process, Kafka, Redis and PostgreSQL;
    the bench's own sources and agents apart), p99 sent→offer at 150/s (`na` if that rate was not run) and raw
    Kafka's rate on the same broker."""
    best = _best(steps)
    at_150 = next((f for f in steps if abs(f.rate - 150) < 1e-9), None)
    cpu = "na" if best is None else f"{sum(ms for n, ms in best.cpu_ms_per_task.items() if n not in APART):.1f}"
    p99 = "na" if at_150 is None else f"{at_150.source_to_offer[1] * 1000:.0f}"
    return (
        f"bench summary: sustained={0 if best is None else best.offered_per_s:.1f} cpu_ms_per_task={cpu} "
        f"p99_ms_at_150={p99} raw_msgs_per_s={raw.produce_consume_per_s:.0f}"
    )
