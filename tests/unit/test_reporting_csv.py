"""CSV exports neutralise formula cells (OWASP CSV injection) and keep numbers numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workrouter.adapters.postgres.reports.runner import Report
from workrouter.domain.reporting.request import ReportRequest
from workrouter.services.reporting.render import FORMULA_STARTS, as_csv, json_bytes, safe_cell

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def csv_cells(values: list[Any]) -> list[str]:
    """The one data row of a CSV export whose cells are `values`, as a spreadsheet reads it back."""
    columns = tuple(f"c{i}" for i in range(len(values)))
    rows = [dict(zip(columns, values, strict=True))]
    text = as_csv(Report("queue-detail", columns, rows, ReportRequest(start=T0, end=T0 + timedelta(days=1))))
    return list(csv.reader(io.StringIO(text)))[1]


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-", "-"),  # the wrap-up report's own "no codes configured": not a formula
        ("--", "'--"),
        ("+", "'+"),
        ("finance", "finance"),
        (" =1+1", " =1+1"),
        ("-5", "-5"),
        ("+1.5e3", "+1.5e3"),
        ("-.25", "-.25"),
        (-5, "-5"),
        (-0.125, "-0.125"),
        (None, ""),
    ],
)
def test_formula_cells_get_a_quote_and_numbers_stay_numbers(cell: Any, written: str) -> None:
    assert csv_cells([cell]) == [written]


@given(st.lists(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False, allow_infinity=False)), max_size=6))
def test_no_text_cell_of_a_csv_export_starts_like_a_formula_unless_it_is_a_number(values: list[Any]) -> None:
    cells = csv_cells(values)
    for value, cell in zip(values, cells, strict=True):
        if isinstance(value, str):
            assert cell in (value, "'" + value)
            if cell.startswith(FORMULA_STARTS) and cell != "-":
                float(cell)  # a number as text (-5): a spreadsheet reads the number, runs nothing
        else:
            assert cell == str(value)


@given(st.text(alphabet="=+-@\t\r0123456789.eE ", max_size=8))
def test_safe_cell_adds_at_most_one_quote(text: str) -> None:
    cell = safe_cell(text)
    assert cell in (text, "'" + text)
    assert safe_cell(-1) == -1


def test_json_is_the_same_document_in_chunks() -> None:
    rows = [{"queue": f"q{i}", "wait": i / 3, "note": "=1+1"} for i in range(1234)]
    report = Report("queue-detail", ("queue", "wait", "note"), rows, ReportRequest(start=T0, end=T0 + timedelta(1)))
    doc = json.loads(json_bytes(report))
    assert doc["rows"] == rows
    assert doc["report"] == "queue-detail"
    assert json.loads(json_bytes(Report("tasks", (), [], report.request)))["rows"] == []
