"""The memory run (`--soak MINUTES`): each process's resident memory sampled through one long window at one rate,
so that growth (a leak, an unbounded cache, a backlog held in memory) shows as a trend, not a single figure.

Samples are RSS from /proc (VmRSS) of each workrouter process, every `interval` seconds from the start of the
step (its warm-up) to the end of its measured window. The table gives the start, the end, the change, and the
change over the second half only: a process that warms its caches in the first minutes and is then flat shows
~0 there, a leak does not.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

MIB = 1024 * 1024


def rss_bytes(pid: int) -> int | None:
    """The process's resident set size now, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class RssSamples:
    """(seconds since the first sample, bytes) per process name."""

    series: dict[str, list[tuple[float, int]]] = field(default_factory=dict)

    def add(self, at: float, name: str, value: int | None) -> None:
        if value is not None:
            self.series.setdefault(name, []).append((at, value))

    def table(self) -> list[str]:
        """One line per process: start, end, change, change over the second half (MiB)."""
        lines = [f"{'process':<14} {'start':>9} {'end':>9} {'change':>9} {'2nd half':>9}  (MiB, {self.span():.0f} s)"]
        for name, points in sorted(self.series.items()):
            start, end = points[0][1], points[-1][1]
            middle = _at_or_after(points, points[-1][0] / 2)
            lines.append(
                f"{name:<14} {start / MIB:>9.1f} {end / MIB:>9.1f} {(end - start) / MIB:>+9.1f} "
                f"{(end - middle) / MIB:>+9.1f}"
            )
        return lines

    def span(self) -> float:
        return max((points[-1][0] for points in self.series.values() if points), default=0.0)

    def summary(self) -> str:
        """`bench memory:` with each process's change over the second half, in MiB."""
        parts = []
        for name, points in sorted(self.series.items()):
            middle = _at_or_after(points, points[-1][0] / 2)
            parts.append(f"{name}={(points[-1][1] - middle) / MIB:+.1f}")
        return f"bench memory: seconds={self.span():.0f} second_half_mib " + " ".join(parts)


def _at_or_after(points: list[tuple[float, int]], at: float) -> int:
    return next((value for t, value in points if t >= at), points[-1][1])


class RssSampler:
    """Samples the processes' RSS every `interval` seconds until stopped (one sample at start and at stop)."""

    def __init__(self, pids: dict[str, int], interval: float = 60.0) -> None:
        self.pids = pids
        self.interval = interval
        self.samples = RssSamples()
        self._task: asyncio.Task[None] | None = None
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._take()
        self._task = asyncio.create_task(self._run(), name="rss-sampler")

    async def stop(self) -> RssSamples:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._take()
        return self.samples

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self._take()
            print(f"  memory at {time.monotonic() - self._started:.0f}s: {self._now()}", flush=True)

    def _take(self) -> None:
        at = time.monotonic() - self._started
        for name, pid in self.pids.items():
            self.samples.add(at, name, rss_bytes(pid))

    def _now(self) -> str:
        return ", ".join(f"{n} {p[-1][1] / MIB:.0f}" for n, p in sorted(self.samples.series.items()) if p)
