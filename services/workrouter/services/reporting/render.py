"""Reports as JSON documents and CSV text."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from workrouter.adapters.postgres.reports.runner import Report

JSON_CHUNK_ROWS = 500


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


def json_bytes(report: Report) -> bytes:
    """The JSON document of `as_json` as UTF-8 bytes (what the HTTP API sends).

    Encoded a chunk of rows at a time: json.dumps holds the GIL for the whole of one call, so one call
    over a large report would stall the event loop however it was moved to another thread.
    """
    doc = as_json(report)
    rows = doc.pop("rows")
    parts = [_dumps(doc)[:-1].encode(), b',"rows":[']
    for at in range(0, len(rows), JSON_CHUNK_ROWS):
        parts.extend(((b"," if at else b""), _dumps(rows[at : at + JSON_CHUNK_ROWS])[1:-1].encode()))
    parts.append(b"]}")
    return b"".join(parts)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)


# OWASP "CSV injection": a spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text, never runs: text starting like a formula gets a leading quote.

    Numbers stay numbers, and so does text that is entirely a number (-5, +1.5e3): a spreadsheet reads it
    as that number and runs nothing. A lone "-" (the wrap-up report's "no codes configured") is no formula either.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and value != "-" and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def as_csv(report: Report) -> str:
    """RFC 4180 CSV with a header row (empty cells for missing values; formula-like text neutralised)."""
    columns, rows = flat_rows(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([safe_cell(row.get(c)) for c in columns] for row in rows)
    return out.getvalue()
