"""Where one service's CPU goes: its cProfile dump summed by package (own time), for the benchmark's report."""

from __future__ import annotations

import pstats
import re
from collections import defaultdict
from pathlib import Path

_SITE = re.compile(r"(?:site|dist)-packages/([A-Za-z0-9_]+)")
_OURS = re.compile(r"/workrouter/((?:services/)?[a-z_]+)")
_STDLIB = re.compile(r"/lib/python3\.\d+/([A-Za-z0-9_]+)")


def package_of(filename: str, function: str) -> str:
    """A short name for where a profiled function lives: a third-party package, a workrouter package, a
    standard-library module, or the built-in's name (socket and selector calls are where I/O waits show)."""
    if match := _SITE.search(filename):
        return match.group(1)
    if match := _OURS.search(filename):
        return "workrouter." + match.group(1).replace("/", ".")
    if match := _STDLIB.search(filename):
        return match.group(1)
    if filename == "~":
        return "builtin " + re.sub(r"^<(built-in method|method) ", "", function).split(" of ")[0].strip("<>'")
    return filename


def by_package(dump: Path, top: int = 12) -> tuple[float, list[tuple[str, float]]]:
    """(total seconds, the `top` packages by own time in seconds) of a cProfile dump."""
    stats = pstats.Stats(str(dump))
    own: dict[str, float] = defaultdict(float)
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        own[package_of(filename, function)] += float(row[2])
    return sum(own.values()), sorted(own.items(), key=lambda kv: -kv[1])[:top]


def print_profile(service: str, dump: Path) -> None:
    """Print the summary, or say why there is none."""
    if not dump.exists():
        print(f"no profile of {service}: {dump} was not written (did the process stop cleanly?)")
        return
    total, rows = by_package(dump)
    print(f"profile of {service} (cProfile, own CPU time by package; {total:.1f}s profiled, profiling slows it):")
    for name, seconds in rows:
        print(f"  {name:<44} {seconds:7.2f}s {100 * seconds / total:5.1f} %")
    print(f"  top functions of {service} by own CPU time:")
    stats = pstats.Stats(str(dump))
    rows_f = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:10]  # type: ignore[attr-defined]
    for (filename, _, function), row in rows_f:
        where = f"{package_of(filename, function)}:{function}" if filename != "~" else function
        print(f"  {where[:60]:<60} {row[2]:7.2f}s {100 * row[2] / total:5.1f} %  {row[1]:>8} calls")
