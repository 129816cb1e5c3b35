"""Every field of every wire payload (and of the models inside them) says what it means, so the AsyncAPI
document explains itself; the API's request bodies are checked the same way in test_openapi.py."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from workrouter.contracts import asyncapi
from workrouter.contracts.registry import REGISTRY


def undescribed(schemas: dict[str, Any]) -> list[str]:
    """`Model.field` for each property of the named schemas that has no description."""
    return [
        f"{name}.{field}"
        for name, schema in sorted(schemas.items())
        for field, prop in schema.get("properties", {}).items()
        if not prop.get("description")
    ]


def test_every_payload_field_and_every_field_of_a_nested_model_is_described() -> None:
    _, schema = models_json_schema([(m, "validation") for m in REGISTRY.models()])
    schemas = schema["$defs"]
    assert {m.__name__ for m in REGISTRY.models()} <= set(schemas)
    assert {"SkillRequirement", "FieldError"} <= set(schemas), "nested models are walked too"
    assert undescribed(schemas) == [], "give these fields a Field(description=...)"


def test_every_property_in_the_asyncapi_document_is_described() -> None:
    schemas = asyncapi.build("test")["components"]["schemas"]
    assert "Envelope" in schemas
    assert undescribed(schemas) == []
