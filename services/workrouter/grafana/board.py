"""Dashboards and their variables, made with Grafana's own builders (grafana-foundation-sdk, Grafana 11.6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard as dm

from workrouter.grafana.panels import POSTGRES, PROMETHEUS

ALL = dm.VariableOption(selected=True, text=["All"], value=["$__all"])


def prom_variable(name: str, query: str, *, label: str = "") -> db.QueryVariable:
    """A multi-value variable filled by a Prometheus query, e.g. `label_values(workrouter_tasks_waiting, queue)`.

    All is the regex `.*`, for `=~` matchers (a custom all value is used as it is, never quoted).
    """
    body = {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"}
    return _variable(name, label, PROMETHEUS, body).all_value(".*")


def sql_variable(name: str, query: str, *, label: str = "") -> db.QueryVariable:
    """A multi-value variable filled by a SQL query returning one column (`SELECT DISTINCT queue FROM ...`).

    No custom all value: Grafana uses one as it is, unquoted, so All would send `IN (.*)`; without one,
    All sends every value quoted (`IN ('claims','finance')`), as a selection of several does.
    """
    return _variable(name, label, POSTGRES, query)


def _variable(name: str, label: str, datasource: dm.DataSourceRef, query: Any) -> db.QueryVariable:
    return (
        db.QueryVariable(name)
        .label(label or name)
        .datasource(datasource)
        .query(query)
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(ALL)
        .options([])
        .hide(dm.VariableHide.DONT_HIDE)
    )


def dashboard(
    uid: str,
    title: str,
    *,
    description: str = "",
    variables: Sequence[db.QueryVariable] = (),
    refresh: str = "10s",
    time_from: str = "now-1h",
    tags: Sequence[str] = ("workrouter",),
) -> db.Dashboard:
    """A dashboard to add rows and panels to (provisioned: no numeric id, version 1); then `numbered(it.build())`."""
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(list(tags))
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .timezone("browser")
        .version(1)
        .refresh(refresh)
        .time(time_from, "now")
        .timepicker(db.TimePicker())
        .fiscal_year_start_month(0)
        .live_now(False)
        .week_start("")
        .links([])
        .annotations([])
        .variables(list(variables))
    )


def numbered(board: dm.Dashboard) -> dm.Dashboard:
    """The dashboard with its panels (rows included) numbered 1, 2, ... in order: Grafana's panel ids."""
    for number, panel in enumerate(board.panels or (), start=1):
        panel.id_val = number
    return board
