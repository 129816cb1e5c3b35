"""`workrouter report NAME --from --to ...`: a report from the event log, printed as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from workrouter.adapters.postgres.pool import connect
from workrouter.adapters.postgres.reports.limits import ReportRefusedError
from workrouter.adapters.postgres.reports.runner import SPECS, Report, run_report, spec
from workrouter.domain.reporting.parse import parse_request
from workrouter.domain.reporting.problems import ReportParameterError
from workrouter.domain.reporting.request import ReportRequest
from workrouter.services.reporting.render import as_csv, as_json, flat_rows
from workrouter.services.reporting.service import ReportingSettings


def checked_request(args: argparse.Namespace) -> ReportRequest:
    """The report's parameters checked as the HTTP API checks them, before any connection is made."""
    request = parse_request(
        args.start, args.end, interval=args.interval, group=args.group, tz=args.tz, thresholds=args.thresholds
    )
    request.for_spec(spec(args.name))
    return request


async def _run(args: argparse.Namespace, request: ReportRequest) -> Report:
    settings = ReportingSettings()
    pool = await connect(settings.database_url, service="reporting", max_size=1)
    try:
        return await run_report(pool, args.name, request, schema=settings.db_schema, limits=settings.report_limits())
    finally:
        await pool.close()


def text_table(report: Report) -> str:
    """An aligned plain-text table (what a person reads in a terminal)."""
    columns, rows = flat_rows(report)
    cells = [columns] + [["" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines) + f"\n({len(rows)} rows)\n"


def _report(args: argparse.Namespace) -> int:
    try:
        report = asyncio.run(_run(args, checked_request(args)))
    except ReportParameterError as exc:
        print(f"workrouter report: {exc.described(prefix='--')}", file=sys.stderr)
        return 2
    except (ReportRefusedError, LookupError) as exc:
        print(f"workrouter report: {exc}", file=sys.stderr)
        return 2
    except ConnectionError as exc:
        print(f"workrouter report: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        text = json.dumps(as_json(report), indent=2) + "\n"
    elif args.format == "csv":
        text = as_csv(report)
    else:
        text = text_table(report)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {len(report.rows)} rows of {report.name} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report` to the workrouter command."""
    listing = "; ".join(f"{s.name}: {s.description}" for s in SPECS.values())
    cmd = commands.add_parser(
        "report", help="print a historical report from the event log (WR_DATABASE_URL)", description=listing
    )
    cmd.add_argument("name", choices=list(SPECS), help="which report")
    cmd.add_argument("--from", dest="start", required=True, help="period start, RFC 3339 (e.g. 2026-11-02T00:00:00Z)")
    cmd.add_argument("--to", dest="end", required=True, help="period end (exclusive), RFC 3339")
    cmd.add_argument("--interval", choices=("15m", "hour", "day", "total"), help="rows per interval (default: total)")
    cmd.add_argument("--group", help="comma-separated dimensions, e.g. queue,channel (see the report's description)")
    cmd.add_argument("--tz", help="IANA time zone intervals are cut in (default UTC)")
    cmd.add_argument("--thresholds", help="service-level thresholds in seconds for every queue, e.g. 20,60,300")
    cmd.add_argument("--format", choices=("table", "json", "csv"), default="table")
    cmd.add_argument("--output", help="write to this file instead of standard output")
    cmd.set_defaults(run=_report)
