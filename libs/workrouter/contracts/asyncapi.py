"""Generate the AsyncAPI 3.0 document for every topic from the contracts in code."""

from __future__ import annotations

import inspect
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from workrouter.contracts.envelope import Envelope, Payload, envelope_fields
from workrouter.contracts.topics import ALL_TOPICS, CAPTURE, TopicSpec

REF = "#/components/schemas/{model}"
KAFKA_BINDING_VERSION = "0.5.0"


def _message_name(model: type[Payload]) -> str:
    return model.__name__


def _envelope_schema() -> dict[str, Any]:
    required = [name for name, field in Envelope.model_fields.items() if field.is_required() and name != "data"]
    return {
        "type": "object",
        "title": "CloudEvent envelope",
        "description": inspect.cleandoc(Envelope.__doc__ or ""),
        "properties": envelope_fields(),
        "required": sorted(required),
    }


def _message(model: type[Payload]) -> dict[str, Any]:
    doc = inspect.cleandoc(model.__doc__ or "")  # Python 3.13 dedents docstrings itself; 3.11 does not
    return {
        "name": model.event_type,
        "title": model.__name__,
        "summary": doc,
        "contentType": "application/cloudevents+json",
        "headers": {
            "type": "object",
            "properties": {
                "ce_type": {
                    "const": model.event_type,
                    "description": "The event's type, also in the body: consumers skip types they do not "
                    "take without parsing the body (decisions D3). Absent on records a source wrote raw.",
                },
            },
        },
        "payload": {
            "allOf": [
                {"$ref": REF.format(model="Envelope")},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": model.event_type},
                        "dataschema": {"const": model.dataschema()},
                        "dataversion": {"const": model.version},
                        "data": {"$ref": REF.format(model=model.__name__)},
                    },
                    "required": ["data"],
                },
            ]
        },
    }


def build(version: str, topics: tuple[TopicSpec, ...] = ALL_TOPICS) -> dict[str, Any]:
    """The AsyncAPI document as a plain dict (deterministic for a given code base)."""
    models = sorted({m for t in topics for m in t.payloads}, key=lambda m: m.__name__)
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas: dict[str, Any] = {"Envelope": _envelope_schema(), **dict(sorted(defs.get("$defs", {}).items()))}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in topics:
        channel_id = topic.name.replace(".", "_")
        channels[channel_id] = {
            "address": topic.name,
            "description": f"{topic.description} Key: {topic.key}.",
            "messages": {
                _message_name(m): {"$ref": f"#/components/messages/{_message_name(m)}"} for m in topic.payloads
            },
            "bindings": {
                "kafka": {"topic": topic.name, "partitions": topic.partitions, "bindingVersion": KAFKA_BINDING_VERSION}
            },
        }
        action = "receive" if topic is CAPTURE else "send"
        operations[f"{action}_{channel_id}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": (
                "Source systems send work items; workrouter receives them."
                if topic is CAPTURE
                else f"workrouter publishes to {topic.name}."
            ),
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{_message_name(m)}"} for m in topic.payloads],
        }
        for model in topic.payloads:
            messages.setdefault(_message_name(model), _message(model))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "workrouter events",
            "version": version,
            "description": (
                "Every topic workrouter reads or writes. Messages are CloudEvents 1.0 in structured JSON mode; "
                "the Kafka key is the event's `partitionkey`. Generated from the code by `make asyncapi`: do not edit."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "local": {"host": "127.0.0.1:19092", "protocol": "kafka", "description": "deploy/local single-node broker"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": dict(sorted(messages.items())), "schemas": schemas},
    }


def render(version: str) -> str:
    """The AsyncAPI document as YAML text."""
    return yaml.safe_dump(build(version), sort_keys=False, allow_unicode=True, width=110)
