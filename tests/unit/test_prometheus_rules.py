"""The alert rules in deploy/prometheus are valid and fire as their unit tests say (promtool)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
promtool = shutil.which("promtool")


@pytest.mark.skipif(promtool is None, reason="promtool is not installed (Debian package prometheus)")
def test_the_alert_rules_check_and_pass_their_tests() -> None:
    assert promtool is not None
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        done = subprocess.run([promtool, *args], check=False, cwd=RULES, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
