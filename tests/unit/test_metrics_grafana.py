"""deploy/grafana is generated from code: current, well-formed, and every metric it reads is documented."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import yaml

from tests.support.infra import ROOT
from workrouter.grafana import generate, promql_check
from workrouter.grafana.panels import PROMETHEUS

GRAFANA = ROOT / "deploy" / "grafana"
METRIC = re.compile(r"\bworkrouter_[a-z0-9_]+")


def test_committed_files_match_the_code() -> None:
    assert generate.stale(GRAFANA) == [], "run `python -m workrouter.grafana.generate` and commit deploy/grafana"


def test_dashboards_are_well_formed() -> None:
    for name, build in generate.DASHBOARDS.items():
        board = generate.to_json(build())
        assert board["schemaVersion"] == 41, name  # Grafana 11.6's, which the SDK's models describe
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in board["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0, panel["title"]
            assert pos["x"] + pos["w"] <= 24, panel["title"]
            if panel["type"] == "row":
                continue
            refs = [t["refId"] for t in panel["targets"]]
            assert refs, panel["title"]
            assert len(refs) == len(set(refs)), panel["title"]
            assert all(t["datasource"] == panel["datasource"] for t in panel["targets"]), panel["title"]


def test_the_provisioned_prometheus_datasource_is_the_one_panels_name() -> None:
    text = (GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    (source,) = yaml.safe_load(text)["datasources"]
    assert (source["type"], source["uid"]) == (PROMETHEUS.type_val, PROMETHEUS.uid)
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "workrouter.yaml").read_text())
    assert provider["providers"][0]["type"] == "file"


def test_every_promql_metric_is_documented_in_docs_metrics_md() -> None:
    documented = (ROOT / "docs" / "metrics.md").read_text()
    used = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for query in generate.queries()
        if query.datasource == "prometheus"
        for name in METRIC.findall(query.text)
    }
    assert used, "no PromQL found"
    assert sorted(m for m in used if f"`{m}`" not in documented) == []


def test_queries_lists_panel_targets_and_variables() -> None:
    listed = list(generate.queries())
    live = [q for q in listed if q.dashboard == "workrouter-supervisor-live"]
    assert any(q.panel == "$queue" and q.text.startswith("label_values(") for q in live)
    assert any(q.panel == "Queues now" and q.ref == "G" for q in live)
    assert len({(q.dashboard, q.panel, q.ref) for q in listed}) == len(listed)


def test_grafana_variables_and_macros_expand() -> None:
    expr = 'sum(rate(x{queue=~"$queue", a="${a}", b="[[b]]"}[$__rate_interval])) / $__interval'
    assert generate.expand_promql(expr, {"a": "1"}, __rate_interval="30s") == (
        'sum(rate(x{queue=~".*", a="1", b=".*"}[30s])) / 15s'
    )
    assert all("$" not in generate.expand_promql(q.text) for q in generate.queries() if q.datasource == "prometheus")
    assert generate.label_values_as_promql('label_values(workrouter_x{a="b"}, queue)') == (
        'group by (queue) (workrouter_x{a="b"})'
    )
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    sql = "SELECT 1 FROM t WHERE $__timeFilter(at) AND queue IN ($queue) AND at < $__timeTo()"
    assert generate.expand_sql(sql, start, end, {"queue": ["a", "o'b"]}) == (
        "SELECT 1 FROM t WHERE at BETWEEN '2026-01-01T00:00:00+00:00' AND '2026-01-02T00:00:00+00:00'"
        " AND queue IN ('a','o''b') AND at < '2026-01-02T00:00:00+00:00'"
    )


def test_every_promql_query_becomes_one_recording_rule_for_promtool() -> None:
    found = promql_check.prometheus_queries()
    document = promql_check.rules(found)
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert len(rules) == len(found) > 0
    assert {group["name"] for group in document["groups"]} == {q.dashboard for q in found}
    assert all("$" not in rule["expr"] and "label_values" not in rule["expr"] for rule in rules)
    variable = next(q for q in found if q.panel == "$queue")
    assert promql_check.promql(variable) == "group by (queue) (workrouter_tasks_waiting)"


def test_no_sql_variable_has_a_custom_all_value() -> None:
    """Grafana sends a custom all value unquoted and unescaped: `queue IN ($queue)` would become `IN (.*)`."""
    for build in generate.DASHBOARDS.values():
        for variable in generate.to_json(build())["templating"]["list"]:
            if variable["datasource"]["type"] == "grafana-postgresql-datasource":
                assert "allValue" not in variable, variable["name"]
