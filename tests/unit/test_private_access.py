"""No production code reaches into an object's private attributes by name.

ruff's SLF001 (pyproject.toml) refuses `obj._name` outside the object's own class; it does not see the
same access spelled `getattr(obj, "_name")` (or hasattr/setattr/delattr), which is how a private
attribute of a third-party object is usually reached "defensively". This test refuses those.
"""

from __future__ import annotations

import ast

from tests.support.infra import ROOT

BY_NAME = frozenset({"getattr", "hasattr", "setattr", "delattr"})


def private(name: str) -> bool:
    """One leading underscore, not a dunder."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_by_name(source: str) -> list[tuple[int, str]]:
    """(line, call) of each getattr-like call naming a private attribute with a literal."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in BY_NAME
            and len(node.args) >= 2
            and isinstance(name := node.args[1], ast.Constant)
            and isinstance(name.value, str)
            and private(name.value)
        ):
            found.append((node.lineno, f"{node.func.id}(..., {name.value!r})"))
    return found


def test_the_check_sees_what_the_kafka_lag_reader_once_did() -> None:
    assert private_by_name('broker = getattr(bus, "_broker", None)') == [(1, "getattr(..., '_broker')")]
    assert private_by_name('getattr(bus, "__class__"); getattr(bus, "consumers", None)') == []


def test_no_getattr_of_a_private_attribute_in_libs_or_services() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for folder in ("libs", "services")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, call in private_by_name(path.read_text())
    ]
    assert offences == [], "private attributes reached by name (use a public API):\n" + "\n".join(offences)
