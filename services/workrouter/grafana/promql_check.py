"""Check every PromQL expression of the dashboards with promtool, without a Prometheus server.

    python -m workrouter.grafana.promql_check    # exit 1 when promtool rejects one; each problem names its panel

promtool (Debian's `prometheus` package: the parser of the Prometheus the tests run) has no command for a
bare expression, so each one, with Grafana's variables and macros expanded as Grafana would send it,
becomes a recording rule of a temporary file that `promtool check rules` parses and type-checks. It finds
in a second what tests/integration/test_grafana_promql.py finds after starting five services, and names
the dashboard, panel and target. That test stays: it also proves each expression returns series.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from workrouter.grafana.generate import Json, Query, expand_promql, label_values_as_promql, queries

_FAILED_RULE = re.compile(r'group "(?P<group>[^"]+)", rule (?P<index>\d+), "[^"]*": (?P<message>.*)')


def promql(query: Query) -> str:
    """The expression Grafana would send for a panel target or a `label_values(...)` variable."""
    text = label_values_as_promql(query.text) if query.text.lstrip().startswith("label_values(") else query.text
    return expand_promql(text)


def prometheus_queries(found: Iterable[Query] | None = None) -> list[Query]:
    """The dashboards' PromQL queries (panel targets and variables)."""
    return [q for q in (queries() if found is None else found) if q.datasource == "prometheus"]


def _places(found: Sequence[Query]) -> dict[tuple[str, int], Query]:
    """Each query by (dashboard, its 1-based place among that dashboard's queries): promtool's group and rule."""
    places: dict[tuple[str, int], Query] = {}
    counts: Counter[str] = Counter()
    for query in found:
        counts[query.dashboard] += 1
        places[(query.dashboard, counts[query.dashboard])] = query
    return places


def rules(found: Sequence[Query]) -> Json:
    """A Prometheus rules document with one recording rule per query, one group per dashboard, in order."""
    groups: dict[str, list[Json]] = {}
    for (dashboard, index), query in _places(found).items():
        groups.setdefault(dashboard, []).append({"record": f"grafana:query_{index}", "expr": promql(query)})
    return {"groups": [{"name": name, "rules": members} for name, members in groups.items()]}


def check(found: Sequence[Query], promtool: str) -> list[str]:
    """promtool's complaints about the queries, each naming its dashboard, panel and target; [] when all parse."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grafana-promql.yml"
        path.write_text(yaml.safe_dump(rules(found), sort_keys=False, allow_unicode=True), encoding="utf-8")
        done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return []
    places = _places(found)
    problems = []
    for line in (done.stdout + done.stderr).splitlines():
        match = _FAILED_RULE.search(line)
        if match is None:
            continue
        query = places[(match["group"], int(match["index"]))]
        target = f" / {query.ref}" if query.ref else ""
        problems.append(f"{query.dashboard} / {query.panel}{target}: {match['message']}\n    {promql(query)}")
    return problems or [f"promtool check rules failed:\n{done.stdout}{done.stderr}"]


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: check the dashboards' PromQL, print each problem, exit 1 if any."""
    if argv:
        print(f"usage: python -m workrouter.grafana.promql_check (no arguments; got {' '.join(argv)})", file=sys.stderr)
        return 2
    promtool = shutil.which("promtool")
    if promtool is None:
        print("promtool is not installed: run `make infra-install` (Debian package prometheus)", file=sys.stderr)
        return 1
    found = prometheus_queries()
    problems = check(found, promtool)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"promtool rejected {len(problems)} of {len(found)} PromQL expressions", file=sys.stderr)
        return 1
    boards = len({q.dashboard for q in found})
    print(f"promtool: all {len(found)} PromQL expressions of {boards} dashboard(s) parse and type-check")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
