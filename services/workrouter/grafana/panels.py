"""Targets and panels in workrouter's style, made with Grafana's own builders (grafana-foundation-sdk, 11.6).

Each function returns the SDK's builder with the house settings (units, thresholds, legend, reduce to
the last value, 12 x 8 cells), so a dashboard module can set anything else the SDK offers and lay it out
with `.span(w)` and `.height(h)` before adding it to its dashboard (board.py):

    board.with_panel(stat("Waiting", [prom('sum(workrouter_tasks_waiting{queue=~"$queue"})')]).span(6).height(4))
    board.with_panel(table("Queues now", [prom("...", ref="A", table=True), sql("SELECT ...", ref="B")]).span(24))

A panel's datasource is its first target's, so PromQL and SQL panels are built the same way. The SDK
has no PostgreSQL query type, so `sql` passes its target as the SDK passes any query it has no schema for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import bargauge as bargauge_panel
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.builders import stat as stat_panel
from grafana_foundation_sdk.builders import table as table_panel
from grafana_foundation_sdk.builders import timeseries as timeseries_panel
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

Target = cogbuilder.Builder[cogvariants.Dataquery]
Steps = Sequence[tuple[str, float | None]]  # (colour, from value); the first step's value is None

PROMETHEUS = dm.DataSourceRef(type_val="prometheus", uid="workrouter-prometheus")
POSTGRES = dm.DataSourceRef(type_val="grafana-postgresql-datasource", uid="workrouter-postgres")
GREEN_RED: Steps = (("green", None), ("red", 80))
WIDTH, HEIGHT = 12, 8  # a panel's default size on Grafana's 24-column grid


class _Panel(Protocol):
    """What every panel builder of the SDK offers (they are generated alike, with no common base)."""

    def build(self) -> dm.Panel: ...
    def title(self, title: str) -> Self: ...
    def description(self, description: str) -> Self: ...
    def datasource(self, datasource: dm.DataSourceRef) -> Self: ...
    def targets(self, targets: list[Target]) -> Self: ...
    def span(self, w: int) -> Self: ...
    def height(self, h: int) -> Self: ...
    def unit(self, unit: str) -> Self: ...
    def decimals(self, decimals: float) -> Self: ...
    def mappings(self, mappings: list[dm.ValueMapping]) -> Self: ...
    def thresholds(self, thresholds: cogbuilder.Builder[dm.ThresholdsConfig]) -> Self: ...
    def color_scheme(self, color: cogbuilder.Builder[dm.FieldColor]) -> Self: ...


def prom(expr: str, *, legend: str = "", ref: str = "A", table: bool = False, instant: bool = False) -> Target:
    """A PromQL target; `table=True` asks for an instant query formatted as a table (for table panels)."""
    target = (
        prometheus.Dataquery()
        .ref_id(ref)
        .datasource(PROMETHEUS)
        .editor_mode(pm.QueryEditorMode.CODE)
        .expr(expr)
        .legend_format(legend or "__auto")
    )
    if table:
        return target.format(pm.PromQueryFormat.TABLE).instant()
    return target.instant() if instant else target.range()


class _Query(cogbuilder.Builder[cogvariants.Dataquery]):
    """A target of a datasource the SDK has no query type for, as the SDK itself keeps such queries."""

    def __init__(self, query: dict[str, Any]) -> None:
        self._query = UnknownDataquery(query)

    def build(self) -> cogvariants.Dataquery:
        """The query."""
        return self._query


def sql(raw_sql: str, *, ref: str = "A", fmt: str = "table") -> Target:
    """A PostgreSQL target (rawSql); fmt is 'table' or 'time_series' (then the query returns a `time` column)."""
    datasource = {"type": POSTGRES.type_val, "uid": POSTGRES.uid}
    query = {"refId": ref, "datasource": datasource, "editorMode": "code", "rawQuery": True, "rawSql": raw_sql}
    return _Query(query | {"format": fmt})


def thresholds(steps: Steps) -> cogbuilder.Builder[dm.ThresholdsConfig]:
    """Absolute thresholds: each (colour, value) step holds from its value up."""
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=colour) for colour, value in steps])
    )


P = TypeVar("P", bound=_Panel)


def datasource_of(target: Target) -> dm.DataSourceRef:
    """The datasource a target names."""
    query = target.build()
    if isinstance(query, UnknownDataquery):
        return dm.DataSourceRef.from_json(query.data["datasource"])
    if isinstance(query, pm.Dataquery) and isinstance(query.datasource, dm.DataSourceRef):
        return query.datasource
    raise ValueError(f"target {query!r} names no datasource")


def _panel(
    panel: P,
    title: str,
    targets: Sequence[Target],
    *,
    description: str,
    unit: str,
    steps: Steps,
    decimals: float | None,
    palette: bool = False,
) -> P:
    """The settings every panel shares: title, targets and their datasource, size, unit, colours."""
    if not targets:
        raise ValueError(f"panel {title!r} has no target")
    panel = (
        panel.title(title)
        .description(description)
        .datasource(datasource_of(targets[0]))
        .targets(list(targets))
        .span(WIDTH)
        .height(HEIGHT)
        .unit(unit)
        .thresholds(thresholds(steps))
        .mappings([])
        .color_scheme(
            db.FieldColor().mode(dm.FieldColorModeId.PALETTE_CLASSIC if palette else dm.FieldColorModeId.THRESHOLDS)
        )
    )
    return panel if decimals is None else panel.decimals(decimals)


def _last_value() -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def timeseries(
    title: str,
    targets: Sequence[Target],
    *,
    unit: str = "short",
    description: str = "",
    stacked: bool = False,
    decimals: int | None = None,
) -> timeseries_panel.Panel:
    """A time series graph; `stacked` stacks the series (areas)."""
    panel = _panel(
        timeseries_panel.Panel(),
        title,
        targets,
        description=description,
        unit=unit,
        steps=GREEN_RED,
        decimals=decimals,
        palette=True,
    )
    stacking = cb.StackingConfig().mode(cm.StackingMode.NORMAL if stacked else cm.StackingMode.NONE).group("A")
    return (
        panel.draw_style(cm.GraphDrawStyle.LINE)
        .line_width(1)
        .fill_opacity(25 if stacked else 5)
        .show_points(cm.VisibilityMode.NEVER)
        .span_nulls(False)
        .stacking(stacking)
        .legend(
            cb.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs([])
        )
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
    )


def stat(
    title: str,
    targets: Sequence[Target],
    *,
    unit: str = "short",
    description: str = "",
    steps: Steps = GREEN_RED,
    decimals: int | None = None,
) -> stat_panel.Panel:
    """A big number (the last value), coloured by the threshold `steps`."""
    panel = _panel(
        stat_panel.Panel(), title, targets, description=description, unit=unit, steps=steps, decimals=decimals
    )
    return (
        panel.reduce_options(_last_value())
        .color_mode(cm.BigValueColorMode.VALUE)
        .graph_mode(cm.BigValueGraphMode.AREA)
        .justify_mode(cm.BigValueJustifyMode.AUTO)
        .orientation(cm.VizOrientation.AUTO)
        .text_mode(cm.BigValueTextMode.AUTO)
    )


def bargauge(
    title: str,
    targets: Sequence[Target],
    *,
    unit: str = "short",
    description: str = "",
    steps: Steps = GREEN_RED,
    decimals: int | None = None,
    minimum: float | None = 0,
    maximum: float | None = None,
) -> bargauge_panel.Panel:
    """Horizontal bars, one per series (e.g. per queue), coloured by the threshold `steps`."""
    panel = _panel(
        bargauge_panel.Panel(), title, targets, description=description, unit=unit, steps=steps, decimals=decimals
    )
    if minimum is not None:
        panel = panel.min(minimum)
    if maximum is not None:
        panel = panel.max(maximum)
    return (
        panel.reduce_options(_last_value())
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .value_mode(cm.BarGaugeValueMode.COLOR)
        .name_placement(cm.BarGaugeNamePlacement.AUTO)
        .show_unfilled(True)
        .sizing(cm.BarGaugeSizing.AUTO)
        .min_viz_width(8)
        .min_viz_height(16)
    )


def table(
    title: str,
    targets: Sequence[Target],
    *,
    description: str = "",
    rename: Mapping[str, str] | None = None,
    hide: Sequence[str] = ("Time",),
    units: Mapping[str, str] | None = None,
) -> table_panel.Panel:
    """A table; several targets are merged on their common columns; columns renamed, hidden and given units."""
    panel = _panel(
        table_panel.Panel(), title, targets, description=description, unit="short", steps=GREEN_RED, decimals=None
    )
    panel = panel.show_header(True)
    if len(targets) > 1:
        panel = panel.with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
    organize = {"excludeByName": dict.fromkeys(hide, True), "renameByName": dict(rename or {})}
    panel = panel.with_transformation(dm.DataTransformerConfig(id_val="organize", options=organize))
    for column, unit in (units or {}).items():
        panel = panel.override_by_name(column, [dm.DynamicConfigValue(id_val="unit", value=unit)])
    return panel


def row(title: str) -> db.Row:
    """A section header across the dashboard (not collapsed: the panels after it belong to it)."""
    return db.Row(title).collapsed(False)
