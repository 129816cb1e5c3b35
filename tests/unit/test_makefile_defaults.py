"""The Makefile's defaults reach the command whole.

GNU make's `$(or a,b,c)` takes every comma as an argument separator, so `$(or $(SIZES),1,2)` expanded to
`1` and `make bench-scale` stopped at its first step ("two or more distinct instance counts"). A default
holding a comma is written with `$(comma)`.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OR_DEFAULT = re.compile(r"\$\(or \$\((?P<var>[A-Z_]+)\),(?P<default>[^()]*(?:\([^()]*\)[^()]*)*)\)")


def test_no_default_of_or_is_split_at_a_comma() -> None:
    text = (ROOT / "Makefile").read_text()
    defaults = {m["var"]: m["default"] for m in OR_DEFAULT.finditer(text)}
    assert defaults, "the Makefile has $(or $(VAR),default) defaults to check"
    split = {var: default for var, default in defaults.items() if "," in default}
    assert split == {}, f"defaults cut at their first comma by $(or ...): {split}"


def test_bench_scale_passes_both_instance_counts() -> None:
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", "bench-scale"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--compare-instances 1,2 " in out
