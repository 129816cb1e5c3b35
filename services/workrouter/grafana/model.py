"""Small builders for Grafana 10/11 dashboard JSON (schemaVersion 39): datasources, targets, panels, layout.

Each builder returns the plain dict Grafana stores, so a dashboard module reads as a list of panels:

    grid = Grid()
    grid.add(stat("Waiting", prom('sum(workrouter_tasks_waiting{queue=~"$queue"})'), unit="short"), w=6, h=4)
    grid.add(table("Queues now", [prom("...", ref="A", table=True), sql("SELECT ...", ref="B")]), w=24, h=8)
    dashboard("workrouter-x", "workrouter — X", grid.panels, variables=[prom_variable("queue", "...")])  # board.py

A panel's datasource is taken from its first target, so PromQL and SQL panels are built the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Json = dict[str, Any]
SCHEMA_VERSION = 39
PROMETHEUS: Json = {"type": "prometheus", "uid": "workrouter-prometheus"}
POSTGRES: Json = {"type": "grafana-postgresql-datasource", "uid": "workrouter-postgres"}
GREEN_RED = ({"color": "green", "value": None}, {"color": "red", "value": 80})


def prom(expr: str, *, legend: str = "", ref: str = "A", table: bool = False, instant: bool = False) -> Json:
    """A PromQL target; `table=True` asks for an instant query formatted as a table (for table panels)."""
    target: Json = {"refId": ref, "datasource": PROMETHEUS, "editorMode": "code", "expr": expr}
    target["legendFormat"] = legend or "__auto"
    if table:
        target.update(format="table", instant=True, range=False)
    else:
        target.update(instant=instant, range=not instant)
    return target


def sql(raw_sql: str, *, ref: str = "A", fmt: str = "table") -> Json:
    """A PostgreSQL target (rawSql); fmt is 'table' or 'time_series' (then the query returns a `time` column)."""
    return {
        "refId": ref,
        "datasource": POSTGRES,
        "editorMode": "code",
        "rawQuery": True,
        "rawSql": raw_sql,
        "format": fmt,
    }


def _panel(kind: str, title: str, targets: Sequence[Json], *, description: str, defaults: Json, options: Json) -> Json:
    if not targets:
        raise ValueError(f"panel {title!r} has no target")
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": targets[0]["datasource"],
        "targets": list(targets),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
    }


def _defaults(unit: str, thresholds: Sequence[Json], decimals: int | None, extra: Json | None = None) -> Json:
    defaults: Json = {
        "unit": unit,
        "color": {"mode": "thresholds" if extra is None else "palette-classic"},
        "thresholds": {"mode": "absolute", "steps": [dict(step) for step in thresholds]},
        "mappings": [],
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    if extra:
        defaults["custom"] = extra
    return defaults


REDUCE_LAST: Json = {"calcs": ["lastNotNull"], "fields": "", "values": False}


def timeseries(
    title: str,
    targets: Sequence[Json],
    *,
    unit: str = "short",
    description: str = "",
    stacked: bool = False,
    decimals: int | None = None,
) -> Json:
    """A time series graph; `stacked` stacks the series (areas)."""
    custom = {
        "drawStyle": "line",
        "lineWidth": 1,
        "fillOpacity": 25 if stacked else 5,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
    }
    options = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return _panel(
        "timeseries",
        title,
        targets,
        description=description,
        defaults=_defaults(unit, GREEN_RED, decimals, custom),
        options=options,
    )


def stat(
    title: str,
    targets: Sequence[Json],
    *,
    unit: str = "short",
    description: str = "",
    thresholds: Sequence[Json] = GREEN_RED,
    decimals: int | None = None,
) -> Json:
    """A big number (the last value), coloured by `thresholds`."""
    options = {
        "reduceOptions": REDUCE_LAST,
        "colorMode": "value",
        "graphMode": "area",
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": "auto",
    }
    return _panel(
        "stat", title, targets, description=description, defaults=_defaults(unit, thresholds, decimals), options=options
    )


def bargauge(
    title: str,
    targets: Sequence[Json],
    *,
    unit: str = "short",
    description: str = "",
    thresholds: Sequence[Json] = GREEN_RED,
    decimals: int | None = None,
    minimum: float | None = 0,
    maximum: float | None = None,
) -> Json:
    """Horizontal bars, one per series (e.g. per queue), coloured by `thresholds`."""
    defaults = _defaults(unit, thresholds, decimals)
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    options = {
        "reduceOptions": REDUCE_LAST,
        "orientation": "horizontal",
        "displayMode": "gradient",
        "valueMode": "color",
        "namePlacement": "auto",
        "showUnfilled": True,
        "sizing": "auto",
        "minVizWidth": 8,
        "minVizHeight": 16,
    }
    return _panel("bargauge", title, targets, description=description, defaults=defaults, options=options)


def table(
    title: str,
    targets: Sequence[Json],
    *,
    description: str = "",
    rename: dict[str, str] | None = None,
    hide: Sequence[str] = ("Time",),
    units: dict[str, str] | None = None,
) -> Json:
    """A table; several targets are merged on their common columns; columns renamed, hidden and given units."""
    panel = _panel(
        "table",
        title,
        targets,
        description=description,
        defaults=_defaults("short", GREEN_RED, None),
        options={"showHeader": True},
    )
    transformations: list[Json] = []
    if len(targets) > 1:
        transformations.append({"id": "merge", "options": {}})
    transformations.append(
        {
            "id": "organize",
            "options": {"excludeByName": dict.fromkeys(hide, True), "renameByName": dict(rename or {})},
        }
    )
    panel["transformations"] = transformations
    panel["fieldConfig"]["overrides"] = [
        {"matcher": {"id": "byName", "options": column}, "properties": [{"id": "unit", "value": unit}]}
        for column, unit in (units or {}).items()
    ]
    return panel


def row(title: str) -> Json:
    """A section header across the dashboard."""
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


class Grid:
    """Places panels left to right on Grafana's 24-column grid, wrapping to a new line when full."""

    WIDTH = 24

    def __init__(self) -> None:
        self.panels: list[Json] = []
        self._x = self._y = self._line_height = 0

    def add(self, panel: Json, *, w: int = 12, h: int = 8) -> Json:
        """Place a panel `w` columns wide and `h` rows high (rows always take a full line)."""
        if panel["type"] == "row":
            w, h = self.WIDTH, 1
        if self._x + w > self.WIDTH or panel["type"] == "row":
            self._newline()
        panel = {"id": len(self.panels) + 1, **panel, "gridPos": {"h": h, "w": w, "x": self._x, "y": self._y}}
        self.panels.append(panel)
        self._x += w
        self._line_height = max(self._line_height, h)
        if panel["type"] == "row":
            self._newline()
        return panel

    def _newline(self) -> None:
        if self._x:
            self._y += self._line_height
        self._x = self._line_height = 0
