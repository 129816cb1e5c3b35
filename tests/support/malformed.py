"""Generators of malformed capture input (for fuzz tests), and of valid tasks to interleave with it."""

from __future__ import annotations

import json
import random
from typing import Any

from workrouter.contracts.commands import CaptureTask
from workrouter.contracts.envelope import make_event

VALID_ATTRIBUTES = {"department": "Claims", "segment": "Gold", "amount": 100, "language": "en"}


def valid_body(n: int, source: str = "crm") -> dict[str, Any]:
    """A valid REST body / capture command for external id VALID-n."""
    return {
        "source": source,
        "external_id": f"VALID-{n}",
        "type": "claim",
        "title": f"Claim {n}",
        "attributes": VALID_ATTRIBUTES,
    }


def _junk(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 1e308, -0.5, 3])
    if kind == 3:
        return "".join(rng.choice('ab\u00e9\u4e2d\x00\n"\\{}') for _ in range(rng.randrange(0, 12)))
    if kind == 4:
        return "x" * rng.choice([0, 1, 501, 2049, 10_001])
    if kind == 5:
        return rng.choice(["2026-13-45T99:00:00Z", "tomorrow", "2026-11-23T09:00:00", ""])
    if kind == 6:
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(["a", "type", "source", "title", ""]): _junk(rng, depth + 1) for _ in range(rng.randrange(0, 4))}


def _bad_field(rng: random.Random, body: dict[str, Any]) -> dict[str, Any]:  # noqa: C901 - one branch per way to break a field
    """Break a valid body in one of many ways so that validation must refuse it."""
    body = json.loads(json.dumps(body))
    way = rng.randrange(12)
    if way == 0:
        del body[rng.choice(["external_id", "type", "title"])]
    elif way == 1:
        body[rng.choice(["external_id", "type", "title"])] = rng.choice([None, 5, [], {}, ""])
    elif way == 2:
        body["type"] = rng.choice(["pizza", "CLAIM", "claim ", "x" * 65])
    elif way == 3:
        body["attributes"] = {"segment": rng.choice(["Platinum", 3, None, ""])}
    elif way == 4:
        body["attributes"] = {"amount": rng.choice([-1, "lots", None])}
    elif way == 5:
        body["attributes"] = {"language": rng.choice(["english", "EN", 7])}
    elif way == 6:
        body["attributes"] = {"blob": "x" * 20_000}
    elif way == 7:
        body["priority"] = rng.choice([-1, 1001, "high", 10**12])
    elif way == 8:
        body[rng.choice(["due_at", "expires_at"])] = rng.choice(
            ["2026-13-01T00:00:00Z", "soon", 12, "2026-11-23T09:00:00"]
        )
    elif way == 9:
        body["sla_seconds"] = rng.choice([0, -5, "1h"])
    elif way == 10:
        body[rng.choice(["surprise", "Type", "extra"])] = _junk(rng)
    else:
        body["attributes"] = rng.choice([[], "text", 5, None])
    return body


def bad_rest_body(rng: random.Random, n: int) -> bytes:
    """A request body for POST /v1/tasks that must get a 4xx."""
    way = rng.randrange(5)
    if way == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    if way == 1:
        return json.dumps(valid_body(n))[: rng.randrange(1, 40)].encode()
    if way == 2:
        return json.dumps(rng.choice([[], [1, 2], "task", 42, None])).encode()
    return json.dumps(_bad_field(rng, valid_body(n))).encode()


def bad_capture_message(rng: random.Random, n: int) -> bytes:
    """A message value for wr.capture that must be dead-lettered."""
    way = rng.randrange(7)
    if way == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
    if way == 1:
        return json.dumps(_junk(rng)).encode()
    good = json.loads(make_event(CaptureTask.model_validate(valid_body(n)), source="/fuzz", key="k").model_dump_json())
    if way == 2:
        del good[rng.choice(["id", "type", "source", "time", "data", "specversion", "partitionkey"])]
    elif way == 3:
        broken = {"type": ["", 5, "Workrouter.Bad"], "specversion": ["2.0", 1, ""], "time": ["2.0", "nope", 5, ""]}
        broken |= {"id": ["", 5, None], "dataversion": ["1", 0, 99, True]}
        attribute = rng.choice(sorted(broken))
        good[attribute] = rng.choice(broken[attribute])
    elif way == 4:
        good["type"] = rng.choice(["workrouter.task.exploded", "com.example.other", "workrouter.task.captured"])
    elif way == 5:
        good["data"] = _bad_field(rng, good["data"])
    else:
        return json.dumps(good).encode()[: rng.randrange(1, 200)]
    return json.dumps(good).encode()
