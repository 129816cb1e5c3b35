"""The alert rules in deploy/prometheus are valid and fire as their unit tests say (promtool, never skipped)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
promtool = shutil.which("promtool")


def test_the_alert_rules_check_and_pass_their_tests() -> None:
    if promtool is None:
        pytest.fail("promtool is not installed: run `make infra-install` (Debian package prometheus)", pytrace=False)
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        done = subprocess.run([promtool, *args], check=False, cwd=RULES, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
