"""The end-to-end benchmark's command line and its ladders of offered rates."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator

from tests.bench.e2e_instances import SERVICES

# The default ladder: rates rise until one is not sustained (then x1.5 past its end), so the figure is the
# ceiling, not the top of the ladder; 150/s is on it for the latency point.
RAMP = (8.0, 16.0, 32.0, 48.0, 64.0, 96.0, 128.0, 150.0, 200.0, 300.0, 400.0, 600.0, 800.0)
MAX_RATE = 10_000.0


def ramp() -> Iterator[float]:
    """The default offered rates, tasks/s: RAMP, then 1.5 times the last, up to MAX_RATE."""
    yield from RAMP
    rate = RAMP[-1]
    while rate * 1.5 <= MAX_RATE:
        rate *= 1.5
        yield rate


def fine_ramp() -> Iterator[float]:
    """The fine ladder: 16/s (everything works), then from 48/s up by 10 % a step (whole tasks/s) to MAX_RATE,
    so two ceilings are told apart by a step of 10 %, not the default ladder's 33-50 %."""
    yield 16.0
    rate = 48.0
    while rate <= MAX_RATE:
        yield rate
        rate = float(round(rate * 1.1))


def offered_rates(args: argparse.Namespace) -> Iterable[float]:
    """The rates to sweep: --rate or --rates as given, else the chosen ladder."""
    if args.rates:
        return list(args.rates)
    return fine_ramp() if args.ladder == "fine" else ramp()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_e2e",
        description="The whole pipeline end to end, every service its own process, over real Kafka, Redis and "
        "PostgreSQL: rates rise until one is not sustained.",
    )
    parser.add_argument("--rate", type=float, help="one offered load, tasks/s (instead of --rates)")
    parser.add_argument(
        "--rates", help="offered loads to sweep, tasks/s, up to the first one not sustained (default: "
        f"{', '.join(f'{r:g}' for r in RAMP)}, then x1.5 each, until one is not sustained)",
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, default=30, help="measured window per rate (default 30)")
    parser.add_argument("--warmup", type=float, default=10, help="warm-up per rate, seconds (default 10)")
    parser.add_argument("--idle", type=float, default=10, help="idle CPU baseline before the load, s (default 10)")
    parser.add_argument("--drain", type=float, default=30, help="longest wait for the window's tasks (default 30)")
    parser.add_argument("--slo", type=float, default=1.0, help="p99 sent→offer of a sustained rate, s (default 1)")
    parser.add_argument("--agents", type=int, default=60, help="simulated agents, all domains (default 60)")
    parser.add_argument("--capacity", type=int, default=10, help="work items each agent holds at once (default 10)")
    parser.add_argument("--work", type=float, default=0.5, help="seconds an agent works a task, ±50 %% (default 0.5)")
    parser.add_argument("--raw-messages", type=int, default=50_000, help="messages for raw Kafka (default 50000)")
    parser.add_argument(
        "--instances", type=positive, default=1, help="processes of each service that consumes Kafka, one consumer "
        "group per service (default 1; the api runs once)",
    )  # fmt: skip
    parser.add_argument(
        "--compare-instances", type=instance_counts, metavar="N,M", help="run the sweep once per count (e.g. 1,2), "
        "each on a fresh stack, and end with the ceilings and the change (`bench scale:`)",
    )  # fmt: skip
    parser.add_argument(
        "--ladder", choices=("default", "fine"), default="default", help="the rates when --rates is not given: "
        "default as listed, or fine: 16, then from 48 up by 10 %% a step (to tell ceilings apart by less than 15 %%)",
    )  # fmt: skip
    parser.add_argument(
        "--soak", type=float, metavar="MINUTES", help="the memory run: one rate (--rate, default 150) for a measured "
        "window of MINUTES, each process's RSS sampled every minute; ends with a `bench memory:` line",
    )  # fmt: skip
    parser.add_argument("--profile", choices=SERVICES, help="run this service under cProfile and summarise it")
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' logs and config")
    args = parser.parse_args(argv)
    if args.soak is not None:
        if args.soak <= 0 or args.rates or args.compare_instances:
            parser.error("--soak takes a positive number of minutes, one --rate, and no --rates/--compare-instances")
        args.rate = args.rate or 150.0
        args.seconds = args.soak * 60
    args.rates = [args.rate] if args.rate else [float(r) for r in args.rates.split(",")] if args.rates else None
    if args.compare_instances and args.instances != 1:
        parser.error("give --instances or --compare-instances, not both")
    if args.compare_instances and args.profile:
        parser.error("--profile profiles one stack: not with --compare-instances")
    return args


def positive(text: str) -> int:
    """An instance count: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, not {value}")
    return value


def instance_counts(text: str) -> list[int]:
    """`1,2` -> [1, 2]: at least two distinct counts, in the order given (the change is from the first to the
    last)."""
    counts = [positive(part.strip()) for part in text.split(",") if part.strip()]
    if len(counts) < 2 or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"two or more distinct instance counts, such as 1,2; not {text!r}")
    return counts
