"""Reports as JSON documents and CSV text."""

from __future__ import annotations

import csv
import io
from typing import Any

from workrouter.adapters.postgres.reports.runner import Report


def as_json(report: Report) -> dict[str, Any]:
    """The report with what was asked: name, period, interval, grouping, columns and rows."""
    request = report.request
    return {
        "report": report.name,
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "interval": request.interval,
        "tz": request.tz,
        "group_by": list(request.group_by),
        "columns": list(report.columns),
        "rows": report.rows,
    }


def flat_rows(report: Report) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows with nested service-level thresholds spread into t1_seconds, t1_absolute, ..."""
    if "thresholds" not in report.columns:
        return list(report.columns), report.rows
    depth = max((len(r["thresholds"]) for r in report.rows), default=0)
    parts = ("seconds", "absolute", "cumulative", "percent")
    spread = [f"t{i + 1}_{p}" for i in range(depth) for p in parts]
    columns = [c for c in report.columns if c != "thresholds"] + spread
    rows = []
    for row in report.rows:
        flat = {k: v for k, v in row.items() if k != "thresholds"}
        for i, level in enumerate(row["thresholds"]):
            flat.update({f"t{i + 1}_{p}": level[p] for p in parts})
        rows.append(flat)
    return columns, rows


def as_csv(report: Report) -> str:
    """RFC 4180 CSV with a header row (empty cells for missing values)."""
    columns, rows = flat_rows(report)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
