"""CPU time per process, read from /proc (no psutil), and the machine's CPU pressure (Linux PSI)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OTHERS = "others"  # every process on the machine that is neither a service, the benchmark nor a server


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (from /proc/<pid>/stat), or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 (state) is fields[0]
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_stall_seconds() -> float:
    """Seconds so far during which some runnable task waited for a CPU (PSI "some" of /proc/pressure/cpu); NaN
    where the kernel does not report it. Its rate over a window is the share of time the CPUs were contended."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return math.nan
    return int(some.rsplit("total=", 1)[1]) / 1e6


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy so far (all CPUs; /proc/stat: everything but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    guest = sum(fields[8:10])  # guest time is already counted in user and nice
    return (sum(fields) - idle - guest) / CLOCK_TICKS


def cpu_stall_now() -> str:
    """The CPU pressure of the last 10 s, for a progress line ("" where the kernel has none)."""
    try:
        avg10 = Path("/proc/pressure/cpu").read_text().split()[1].split("=")[1]
    except (OSError, IndexError):
        return ""
    return f"cpu stall {float(avg10):.0f}%"


def server_pids() -> dict[str, list[int]]:
    """Processes of the servers on this machine: kafka, redis, postgres (all their processes, whoever's client)."""
    found: dict[str, list[int]] = {"kafka": [], "redis": [], "postgres": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if b"kafka.Kafka" in cmdline:
            found["kafka"].append(int(entry.name))
        elif comm.startswith("redis-server"):
            found["redis"].append(int(entry.name))
        elif comm == "postgres":
            found["postgres"].append(int(entry.name))
    return found


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds per (name, pid), the machine's busy CPU seconds and the CPU stall so far, and when."""

    used: dict[tuple[str, int], float]
    busy: float
    stall: float
    at: float


def sample(named: dict[str, int]) -> CpuSample:
    """CPU seconds so far of the named processes (services, the benchmark), the servers, and the stall."""
    groups = {**{name: [pid] for name, pid in named.items()}, **server_pids()}
    used: dict[tuple[str, int], float] = {}
    for name, pids in groups.items():
        for pid in pids:
            seconds = cpu_seconds(pid)
            if seconds is not None:
                used[(name, pid)] = seconds
    return CpuSample(used, machine_busy_seconds(), cpu_stall_seconds(), os.times().elapsed)


def cores(before: CpuSample, after: CpuSample) -> tuple[dict[str, float], float]:
    """Cores used between two samples per name (processes present in both) and by "others" (every other process
    on the machine), and the share of the time some task waited for a CPU."""
    span = after.at - before.at
    out: dict[str, float] = {}
    for key, seconds in after.used.items():
        if key in before.used:
            out[key[0]] = out.get(key[0], 0.0) + (seconds - before.used[key]) / span
    out[OTHERS] = max(0.0, (after.busy - before.busy) / span - sum(out.values()))
    return out, (after.stall - before.stall) / span
