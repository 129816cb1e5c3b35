"""The checked-in AsyncAPI document is what the code generates, and it is self-consistent."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from workrouter.contracts import asyncapi
from workrouter.contracts.registry import REGISTRY
from workrouter.contracts.topics import ALL_TOPICS

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_checked_in_document_matches_the_code() -> None:
    assert DOC.exists(), "docs/asyncapi.yaml is missing: run `make asyncapi`"
    assert DOC.read_text() == asyncapi.render(version("workrouter")), (
        "docs/asyncapi.yaml is stale: run `make asyncapi` and commit it"
    )


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_reference_resolves() -> None:
    doc = yaml.safe_load(DOC.read_text())
    refs = _refs(doc)
    assert len(refs) > 50
    for ref in refs:
        assert ref.startswith("#/"), ref
        assert _resolve(doc, ref) is not None, ref


def test_every_topic_is_a_channel_and_every_event_a_message() -> None:
    doc = asyncapi.build("test")
    assert doc["asyncapi"] == "3.0.0"
    assert {c["address"] for c in doc["channels"].values()} == {t.name for t in ALL_TOPICS}
    published = {m.__name__ for t in ALL_TOPICS for m in t.payloads}
    assert published == {m.__name__ for m in REGISTRY.models()}, "every registered payload travels on some topic"
    assert set(doc["components"]["messages"]) == published
    for name in published:
        assert name in doc["components"]["schemas"]
