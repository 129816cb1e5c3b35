"""The task routes of the reports app: the task list with its filters, a task's detail and its history.

All three read the event log (task_state and event_log) and never the live stores: what they answer is what
the log holds, a moment behind the router. Parameters are read strictly (query.py) and checked before any
query; an unknown task is a 404 naming its id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from workrouter.adapters.postgres.task_reads import TaskReads
from workrouter.domain.reporting.problems import ReportParameterError, shown, text_problem
from workrouter.domain.reporting.task_detail import FACT_EVENTS, TaskDetail, task_detail
from workrouter.domain.reporting.task_history import TaskHistory, history
from workrouter.domain.reporting.task_list import TaskList, task_list
from workrouter.domain.reporting.task_query import (
    HISTORY_PARAMETERS,
    MAX_FILTER,
    TASK_PARAMETERS,
    parse_history_query,
    parse_task_query,
)
from workrouter.services.openapi import json_success, ref
from workrouter.services.problems import problem
from workrouter.services.reporting.query import strict_query

Documented = Callable[..., dict[int | str, dict[str, object]]]
TASK_MODELS = (TaskList, TaskDetail, TaskHistory)  # the answers' schemas, for the OpenAPI document
NOT_FOUND = (
    "no task {id} in the event log; find the id with GET /v1/tasks (filters: queue, status, source, ...); "
    "a task captured just now may not be there yet (the log takes wr.tasks in batches, every 500 ms by default)"
)


def _parameters(names: tuple[str, ...], described: dict[str, str]) -> dict[str, object]:
    """OpenAPI entries for the query parameters a route reads from the raw query string itself."""
    return {
        "parameters": [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}, "description": described[n]}
            for n in names
        ]
    }


TASK_PARAMETER_TEXT = {
    "status": "Only tasks in this status (queued, offered, assigned, error_held, completed, ...).",
    "queue": "Only tasks in (or last in) this queue.",
    "agent": "Only tasks offered to, held by or completed by this agent.",
    "type": "Only tasks of this work type.",
    "source": "Only tasks from this source system.",
    "open": "true: only open tasks; false: only completed, cancelled or expired ones.",
    "escalated": "true: only tasks with at least one escalation step; false: only those without.",
    "error_held": "true: only tasks waiting for a person (status error_held); false: all others.",
    "order": "updated (default; last changed first), created (newest first) or due (soonest due first, "
    "tasks without a due time last).",
    "limit": "At most this many tasks, 1 to 1000 (default 100).",
}
HISTORY_PARAMETER_TEXT = {
    "after": "Only events after this seq (the `next_after` of the previous page); default 0, from the first.",
    "limit": "At most this many events, 1 to 1000 (default 500).",
}


def task_router(reads: TaskReads, documented: Documented) -> APIRouter:
    """The routes GET /v1/tasks, /v1/tasks/{task_id} and /v1/tasks/{task_id}/history over `reads`."""
    router = APIRouter()

    @router.get(
        "/v1/tasks",
        summary="Task list",
        openapi_extra=_parameters(TASK_PARAMETERS, TASK_PARAMETER_TEXT),
        responses=documented(400, 401, 403, s200=json_success("The tasks matching every filter.", ref(TaskList))),
        response_model=None,
    )
    async def tasks(request: Request) -> Response:
        """The tasks matching every filter given (status, queue, agent, type, source, open, escalated,
        error_held), in the order asked, at most `limit`."""
        query = parse_task_query(strict_query(request.scope["query_string"], TASK_PARAMETERS))
        return _json(task_list(await reads.tasks(query)))

    @router.get(
        "/v1/tasks/{task_id}",
        summary="A task's detail",
        responses=documented(400, 401, 403, 404, s200=json_success("The task's current facts.", ref(TaskDetail))),
        response_model=None,
    )
    async def task(task_id: str, request: Request) -> Response:
        """The task's current facts as the event log knows them: source, external id, work type, title, URL,
        description, attributes (with updates applied), status, queue, agent, base and effective priority, due,
        expiry and SLA, escalations, and why it is held when it waits for a person."""
        strict_query(request.scope["query_string"], ())
        _check_id(task_id)
        found = await reads.task(task_id, FACT_EVENTS)
        if found is None:
            return problem(404, NOT_FOUND.format(id=shown(task_id)))
        row, events = found
        return _json(task_detail(row, events, datetime.now(UTC)))

    @router.get(
        "/v1/tasks/{task_id}/history",
        summary="A task's history",
        openapi_extra=_parameters(HISTORY_PARAMETERS, HISTORY_PARAMETER_TEXT),
        responses=documented(400, 401, 403, 404, s200=json_success("Its events, oldest first.", ref(TaskHistory))),
        response_model=None,
    )
    async def task_history(task_id: str, request: Request) -> Response:
        """The task's events in log order, each with a short summary in words; pages of `limit` events (pass
        `next_after` as `after` for the next one)."""
        query = parse_history_query(strict_query(request.scope["query_string"], HISTORY_PARAMETERS))
        _check_id(task_id)
        events = await reads.history(task_id, query)
        if events is None:
            return problem(404, NOT_FOUND.format(id=shown(task_id)))
        return _json(history(task_id, events, query.limit))

    return router


def _check_id(task_id: str) -> None:
    """Refuse an id no task can have (control characters, too long) with a 400 naming task_id."""
    message = text_problem(task_id, ascii_only=False, max_length=MAX_FILTER)
    if message is not None:
        raise ReportParameterError.one("task_id", message)


def _json(model: TaskList | TaskDetail | TaskHistory) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")
