"""Dashboard documents and their variables (Grafana 10/11, schemaVersion 39)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workrouter.grafana.model import POSTGRES, PROMETHEUS, SCHEMA_VERSION, Json


def prom_variable(name: str, query: str, *, label: str = "", multi: bool = True) -> Json:
    """A dashboard variable filled by a Prometheus query, e.g. `label_values(workrouter_tasks_waiting, queue)`."""
    body = {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"}
    return _variable(name, label, PROMETHEUS, body, definition=query, multi=multi)


def sql_variable(name: str, query: str, *, label: str = "", multi: bool = True) -> Json:
    """A dashboard variable filled by a SQL query returning one column (`SELECT DISTINCT queue FROM ...`)."""
    return _variable(name, label, POSTGRES, query, definition=query, multi=multi)


def _variable(name: str, label: str, datasource: Json, query: Any, *, definition: str, multi: bool) -> Json:
    return {
        "type": "query",
        "name": name,
        "label": label or name,
        "datasource": datasource,
        "query": query,
        "definition": definition,
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


def dashboard(
    uid: str,
    title: str,
    panels: Sequence[Json],
    *,
    description: str = "",
    variables: Sequence[Json] = (),
    refresh: str = "10s",
    time_from: str = "now-1h",
    tags: Sequence[str] = ("workrouter",),
) -> Json:
    """The dashboard document as Grafana stores it (provisioned: no numeric id, version 1)."""
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": list(tags),
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": list(variables)},
        "panels": list(panels),
    }
