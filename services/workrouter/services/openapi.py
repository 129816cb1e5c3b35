"""OpenAPI documents that tell the truth: bodies the routes read by hand, and every status they answer.

The routes parse their bodies themselves (to answer 400, 413 and 422 exactly as documented), so FastAPI
cannot see them. `request_body` declares such a body in the document without changing how it is read,
`responses` documents each status a route can answer, and `add_schemas` puts the models they name in
`components/schemas` (and drops the validation error FastAPI documents but the apps never send).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF_TEMPLATE = "#/components/schemas/{model}"

REASONS = {
    400: "The body is not JSON, or a parameter is refused (named in `errors`).",
    401: "No credential, or an unknown one.",
    403: "The credential is valid but may not do this.",
    404: "Unknown task, queue, report or action.",
    409: "The task or agent is in the wrong state for this; `detail` says what to do.",
    413: "The body is over the size limit.",
    422: "The request is well formed but invalid; `errors` names each field.",
    429: "Too many requests at once; ask again after `Retry-After` seconds.",
    503: "A store this route needs is not available.",
}


def ref(model: type[BaseModel]) -> dict[str, str]:
    """A `$ref` to the model's schema in components/schemas."""
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def request_body(schema: Mapping[str, Any], *, required: bool = True, description: str = "") -> dict[str, Any]:
    """`openapi_extra` declaring a JSON request body that the route reads (and validates) itself."""
    body: dict[str, Any] = {"required": required, "content": {"application/json": {"schema": dict(schema)}}}
    if description:
        body["description"] = description
    return {"requestBody": body}


def responses(
    problem: type[BaseModel], media_type: str, statuses: Iterable[int], **success: dict[str, Any]
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each error status as a `problem` document of `media_type`, and `success`
    entries given as `s200=…`, `s207=…` (a description and, optionally, content)."""
    documented: dict[int | str, dict[str, Any]] = {int(key.removeprefix("s")): value for key, value in success.items()}
    for status in statuses:
        documented[status] = {"description": REASONS[status], "content": {media_type: {"schema": ref(problem)}}}
    return documented


def json_success(description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """A success response with a JSON body of `schema`."""
    return {"description": description, "content": {"application/json": {"schema": dict(schema)}}}


def add_schemas(app: FastAPI, models: Iterable[type[BaseModel]]) -> None:
    """Register the models' JSON schemas (and what they refer to) in the app's components/schemas."""
    chosen = list(models)
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        _, defs = models_json_schema([(m, "validation") for m in chosen], ref_template=REF_TEMPLATE)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(defs.get("$defs", {}))
        _drop_fastapi_validation_errors(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_fastapi_validation_errors(document: dict[str, Any]) -> None:
    """Remove the 422 FastAPI adds to every route with parameters: its shape (HTTPValidationError) is never
    sent, as the apps answer invalid parameters with their own problem documents, documented per route."""
    fastapi_422 = {"$ref": REF_TEMPLATE.format(model="HTTPValidationError")}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            answer = operation.get("responses", {}).get("422", {})
            if answer.get("content", {}).get("application/json", {}).get("schema") == fastapi_422:
                del operation["responses"]["422"]
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
