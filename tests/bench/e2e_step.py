"""One step of the end-to-end benchmark: a fixed offered load (warm-up, measured window, drain) and its figures."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.bench import e2e_cpu
from tests.bench.e2e_config import capture_command
from tests.bench.e2e_instances import CONSUMERS, by_service, merged, per_service, service_of
from tests.bench.e2e_metrics import CAPTURE_TO_OFFER, Scrape, histogram_mean, histogram_quantile, lag, scrape
from tests.bench.e2e_observe import Observer, percentile
from tests.bench.e2e_sink import CallbackSink
from tests.bench.e2e_stack import Stack
from tests.bench.e2e_traffic import Publisher
from tests.support.wait import every, paced
from workrouter.contracts.topics import TopicNames, capture_key
from workrouter.domain.capture import task_id_for

PROGRESS_SECONDS = 5.0
HANDLED = "workrouter_messages_handled_total"
SCRAPE_TRIES = 3


@dataclass
class Run:
    """Everything a step drives and reads."""

    run_id: str
    stack: Stack
    topics: TopicNames
    publisher: Publisher
    observer: Observer
    sink: CallbackSink
    http: httpx.AsyncClient
    idle: dict[str, float] = field(default_factory=dict)  # cores each process (instance) uses with no load
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    sent: int = 0


@dataclass
class Window:
    """What the progress loop samples while the measured window runs."""

    measuring: bool = False
    max_lag: Counter[str] = field(default_factory=Counter)
    max_waiting: float = 0.0
    min_available: float = float("inf")


@dataclass
class StepFigures:
    """The printed figures of one offered load."""

    rate: float
    seconds: float
    sent: int
    offered_per_s: float
    completed_per_s: float
    source_to_offer: tuple[float, float, float]  # p50, p99, max: first offer event time - time the bench sent it
    captured_to_offer: tuple[float, float]  # p50, p99: first offer event time - TaskCaptured event time
    observer_delay_p50: float  # how late the benchmark read the first offers (its own lag)
    not_offered: int
    router_histogram: tuple[float, float, float, float]  # observations, mean, p50, p99
    events_per_task: float
    kinds_per_task: dict[str, float]
    messages_per_task: dict[str, float]  # per topic, over the window
    message_bytes: float  # average size of every pipeline message in the window
    callbacks_per_s: float
    cpu: dict[str, float]  # cores used in the window, per service (its instances summed) or server process
    handled_per_s: dict[str, float]  # messages each service's handlers finished per second (batches not counted)
    cpu_ms_per_task: dict[str, float]  # CPU above the idle baseline per task offered, per service or server
    cpu_stall: float  # share of the window during which some runnable task waited for a CPU (PSI "some")
    window: Window
    load: tuple[float, float, float]

    slo_seconds: float  # the p99 sent→first offer a sustained rate must stay under
    cpu_instances: dict[str, float] = field(default_factory=dict)  # cores per instance, when a service runs twice+

    @property
    def sustained(self) -> bool:
        """The pipeline kept up: first offers at (95 % of) the offered rate, everything offered by the end of the
        drain, and p99 sent→first offer within the SLO (a backlog that grows shows there first)."""
        within = self.source_to_offer[1] <= self.slo_seconds
        return self.offered_per_s >= 0.95 * self.rate and self.not_offered == 0 and within


def named(stack: Stack) -> dict[str, int]:
    """The processes the benchmark accounts CPU to by name: the services' instances and itself."""
    return {**stack.pids(), "bench": os.getpid()}


async def _ask(stack: Stack, http: httpx.AsyncClient, names: list[str]) -> dict[str, Scrape]:
    return dict(zip(names, await asyncio.gather(*(scrape(http, stack.metrics_url(n)) for n in names)), strict=True))


async def scrape_instances(stack: Stack, http: httpx.AsyncClient, services: tuple[str, ...]) -> dict[str, Scrape]:
    """One scrape of every instance of `services`, by instance name; one that did not answer is asked again
    (a counter summed over instances must not lose an instance to one slow answer), then printed as missing."""
    scrapes = await _ask(stack, http, [name for service in services for name in stack.of(service)])
    for _ in range(SCRAPE_TRIES - 1):
        if not (silent := [name for name, result in scrapes.items() if not result.answered]):
            break
        scrapes |= await _ask(stack, http, silent)
    if silent := sorted(name for name, result in scrapes.items() if not result.answered):
        print(f"  no answer from /metrics of {', '.join(silent)} ({SCRAPE_TRIES} tries): counted as 0", flush=True)
    return scrapes


async def scrape_all(run: Run) -> dict[str, Scrape]:
    """One scrape of every consuming service, its instances merged (lags, counters and histograms add up)."""
    return per_service(await scrape_instances(run.stack, run.http, CONSUMERS))


async def idle_cpu(stack: Stack, seconds: float) -> tuple[dict[str, float], float]:
    """Cores each process uses, and the CPU stall, over `seconds` with no load (a baseline, not a wait)."""
    before = e2e_cpu.sample(named(stack))
    await asyncio.sleep(seconds)
    return e2e_cpu.cores(before, e2e_cpu.sample(named(stack)))


async def offer_load(run: Run, rate: float, seconds: float, measured: list[str] | None) -> None:
    """Send capture commands on wr.capture at `rate` per second for `seconds`."""
    async for _ in paced(round(rate * seconds), rate):
        command = capture_command(run.run_id, run.sent, run.rng)
        run.sent += 1
        task_id = task_id_for(command.source, command.external_id)
        run.observer.expect(task_id, time.time())
        run.publisher.publish(run.topics.capture, command, capture_key(command.source, command.external_id))
        if measured is not None:
            measured.append(task_id)


async def progress(run: Run, rate: float, window: Window, stop: asyncio.Event) -> None:
    """Print a line every 5 s: counts, consumer lag per service, the router's waiting tasks, load average."""
    start = time.monotonic()
    async for _ in every(PROGRESS_SECONDS, stop):
        run.stack.check_alive()
        run.observer.check()
        scrapes = await scrape_all(run)
        lags = {name: lag(s) for name, s in scrapes.items()}
        router = scrapes["router"]
        waiting = router.total("workrouter_tasks_waiting")
        eligible = router.by("workrouter_queue_agents_eligible", "queue")
        served = {q: v for q, v in router.by("workrouter_queue_agents_available", "queue").items() if eligible.get(q)}
        available = min(served.values(), default=0.0)
        if window.measuring:
            for name, value in lags.items():
                window.max_lag[name] = max(window.max_lag[name], int(value))
            window.max_waiting = max(window.max_waiting, waiting)
            window.min_available = min(window.min_available, available)
        tasks = run.observer.tasks.values()
        offered = sum(1 for t in tasks if t.offered is not None)
        done = sum(1 for t in tasks if t.completed is not None)
        lag_text = " ".join(f"{n[:4]} {int(v)}" for n, v in lags.items())
        print(
            f"  [{rate:g}/s +{time.monotonic() - start:3.0f}s] sent {run.sent} offered {offered} completed {done} "
            f"| lag {lag_text} | waiting {int(waiting)} | load {os.getloadavg()[0]:.2f} {e2e_cpu.cpu_stall_now()}",
            flush=True,
        )


async def drain(observer: Observer, measured: list[str], timeout: float) -> None:
    """Until every measured task was offered and completed, or `timeout` s passed (the figures say what is missing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        times = [observer.tasks[t] for t in measured]
        if all(t.offered is not None and t.completed is not None for t in times):
            return
        await asyncio.sleep(0.2)


async def step(
    run: Run, rate: float, seconds: float, *, warmup: float, drain_seconds: float, slo: float
) -> StepFigures:
    """Warm up, measure `seconds` at `rate`, drain; return the figures."""
    window, stop, measured = Window(), asyncio.Event(), list[str]()
    printer = asyncio.create_task(progress(run, rate, window, stop))
    try:
        await offer_load(run, rate, warmup, None)
        before, cpu0, t0 = await scrape_all(run), e2e_cpu.sample(named(run.stack)), time.time()
        counts0, pub0, sink0 = run.observer.snapshot(), run.publisher.messages.copy(), run.sink.received
        bytes0 = run.publisher.bytes.copy()
        window.measuring = True
        await offer_load(run, rate, seconds, measured)
        window.measuring = False
        t1, cpu1, counts1 = time.time(), e2e_cpu.sample(named(run.stack)), run.observer.snapshot()
        handled = await scrape_all(run)
        pub1, bytes1, sink1 = run.publisher.messages.copy(), run.publisher.bytes.copy(), run.sink.received
        await drain(run.observer, measured, drain_seconds)
        after = merged((await scrape_instances(run.stack, run.http, ("router",))).values())
    finally:
        stop.set()
        await printer
    span = t1 - t0
    used, stall = e2e_cpu.cores(cpu0, cpu1)
    offers = sum(1 for t in run.observer.tasks.values() if t.offered is not None and t0 <= t.offered < t1) / span
    tasks = [run.observer.tasks[t] for t in measured]
    latency = [t.offered - t.sent for t in tasks if t.offered is not None]
    inner = [t.offered - t.captured for t in tasks if t.offered is not None and t.captured is not None]
    seen = [t.offered_seen - t.offered for t in tasks if t.offered_seen is not None and t.offered is not None]
    completions = [t.completed for t in run.observer.tasks.values() if t.completed is not None]
    n = max(1, len(tasks))
    kinds = {k: v / n for k, v in sorted((counts1[0] - counts0[0]).items())}
    messages = {"capture": (pub1 - pub0)[run.topics.capture] / n}
    messages |= {role: v / n for role, v in (counts1[1] - counts0[1]).items()}
    total_bytes = sum((counts1[2] - counts0[2]).values()) + (bytes1 - bytes0)[run.topics.capture]
    return StepFigures(
        rate=rate,
        seconds=span,
        sent=len(tasks),
        offered_per_s=offers,
        completed_per_s=sum(1 for at in completions if t0 <= at < t1) / span,
        source_to_offer=(percentile(latency, 50), percentile(latency, 99), max(latency, default=float("nan"))),
        captured_to_offer=(percentile(inner, 50), percentile(inner, 99)),
        observer_delay_p50=percentile(seen, 50),
        not_offered=sum(1 for t in tasks if t.offered is None),
        router_histogram=_router_histogram(before["router"], after),
        handled_per_s={s: (handled[s].total(HANDLED) - before[s].total(HANDLED)) / span for s in CONSUMERS},
        events_per_task=sum(t.events for t in tasks) / n,
        kinds_per_task=kinds,
        messages_per_task=messages,
        message_bytes=total_bytes / max(1.0, sum(messages.values()) * n),
        callbacks_per_s=(sink1 - sink0) / span,
        cpu=by_service(used),
        cpu_ms_per_task=by_service({p: 1000 * (c - run.idle.get(p, 0.0)) / max(offers, 1e-9) for p, c in used.items()}),
        cpu_stall=stall,
        window=window,
        load=os.getloadavg(),
        slo_seconds=slo,
        cpu_instances={p: c for p, c in used.items() if service_of(p) != p},
    )


def _router_histogram(before: Scrape, after: Scrape) -> tuple[float, float, float, float]:
    count, mean = histogram_mean(before, after, CAPTURE_TO_OFFER)
    b0, b1 = before.buckets(CAPTURE_TO_OFFER), after.buckets(CAPTURE_TO_OFFER)
    return count, mean, histogram_quantile(0.5, b0, b1), histogram_quantile(0.99, b0, b1)
