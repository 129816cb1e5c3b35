"""Every top-level package of workrouter sits in exactly one layer of the import contract (pyproject.toml), so a
new package cannot slip past `make lint` unchecked."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path

import workrouter

ROOT = Path(__file__).resolve().parents[2]


def layered() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [name.strip() for layer in layers["layers"] for name in re.split(r"[|:]", layer)]


def test_every_package_is_in_exactly_one_layer() -> None:
    names = layered()
    top = {f"workrouter.{m.name}" for m in pkgutil.iter_modules(workrouter.__path__)}
    assert sorted(n for n in names if names.count(n) > 1) == []
    assert sorted(top - set(names)) == [], "add these to a layer in pyproject.toml [tool.importlinter]"
    assert sorted(set(names) - top) == [], "these layers name nothing that exists"


def test_every_service_is_in_the_independence_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (independent,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "independence"]
    services = ROOT / "services" / "workrouter" / "services"
    found = {f"workrouter.services.{p.parent.name}" for p in services.glob("*/service.py")}
    assert set(independent["modules"]) == found


def test_no_module_is_over_350_lines() -> None:
    """Small modules (issue 19): a module over 350 lines is split by concept before it lands."""
    long = {
        str(path.relative_to(ROOT)): n
        for folder in ("libs", "services")
        for path in (ROOT / folder).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 350
    }
    assert long == {}
