"""`workrouter callbacks dead|replay`: what operators do with callbacks that gave up (dead letters)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from workrouter.adapters.postgres.notifier_store import PostgresCallbackStore
from workrouter.adapters.postgres.pool import connect
from workrouter.contracts.envelope import utcnow
from workrouter.ports.callbacks import CallbackRow
from workrouter.services.notifier.service import NotifierSettings

T = TypeVar("T")
HEADER = ("ID", "SOURCE", "TASK", "EVENT", "ATTEMPTS", "DEAD AT", "LAST ERROR")


async def _with_store(settings: NotifierSettings, work: Callable[[PostgresCallbackStore], Awaitable[T]]) -> T:
    pool = await connect(settings.database_url, service="notifier", max_size=2)
    try:
        store = PostgresCallbackStore(pool)
        await store.migrate()
        return await work(store)
    finally:
        await pool.close()


def count(n: int, what: str) -> str:
    """`1 callback`, `2 callbacks`."""
    return f"{n} {what}{'' if n == 1 else 's'}"


def as_json(row: CallbackRow) -> dict[str, Any]:
    """A dead letter as a JSON object (`--json`)."""
    return {
        "id": row.id,
        "source": row.source,
        "task_id": row.task_id,
        "event": row.event,
        "status": row.status,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat(),
        "dead_at": row.dead_at.isoformat() if row.dead_at else None,
    }


def table(rows: Sequence[CallbackRow]) -> str:
    """Dead letters as an aligned text table, one per line."""
    cells = [HEADER] + [
        (
            r.id,
            r.source,
            r.task_id,
            r.event,
            str(r.attempts),
            r.dead_at.isoformat(timespec="seconds") if r.dead_at else "-",
            " ".join((r.last_error or "-").split())[:120],
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]) for row in cells)


def _dead(args: argparse.Namespace) -> int:
    settings = NotifierSettings()
    rows = asyncio.run(_with_store(settings, lambda store: store.dead(args.source, args.limit)))
    if args.json:
        print(json.dumps([as_json(r) for r in rows], indent=2))
        return 0
    which = f" of source {args.source}" if args.source else ""
    if not rows:
        print(f"no dead callbacks{which}")
        return 0
    print(table(rows))
    more = " (--limit reached; there may be more)" if len(rows) >= args.limit else ""
    print(
        f"\n{count(len(rows), 'dead callback')}{which}{more}. Fix the cause (see LAST ERROR), then "
        f"`workrouter callbacks replay --source <source>` or `workrouter callbacks replay <id> ...`."
    )
    return 0


def _replay(args: argparse.Namespace) -> int:
    chosen = sum((bool(args.ids), args.source is not None, args.all))
    if chosen != 1:
        print(
            "workrouter callbacks replay: give callback ids, or --source SOURCE, or --all (one of them)",
            file=sys.stderr,
        )
        return 2
    settings = NotifierSettings()
    rows = asyncio.run(_with_store(settings, lambda store: store.replay(utcnow(), args.ids, args.source)))
    for row in rows:
        print(f"replayed {row.id}  {row.source} {row.event} of task {row.task_id} (had {row.attempts} attempts)")
    missing = sorted(set(args.ids) - {r.id for r in rows})
    for callback_id in missing:
        print(f"not replayed {callback_id}: no dead callback has this id", file=sys.stderr)
    which = f" of source {args.source}" if args.source else ""
    if rows:
        print(f"{count(len(rows), 'callback')}{which} pending again, attempts reset; a running notifier sends them now")
    elif not missing:
        print(f"nothing to replay: no dead callbacks{which}")
    return 1 if missing else 0


def add_commands(commands: Any) -> None:
    """Add `callbacks dead` and `callbacks replay` to the CLI's subcommands."""
    callbacks = commands.add_parser("callbacks", help="list and replay callbacks to source systems that gave up")
    actions = callbacks.add_subparsers(dest="action", required=True)
    dead = actions.add_parser("dead", help="list dead callbacks (id, source, task, event, attempts, last error, time)")
    dead.add_argument("--source", help="only this source's")
    dead.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")
    dead.add_argument("--json", action="store_true", help="print JSON instead of a table")
    dead.set_defaults(run=_dead)
    replay = actions.add_parser("replay", help="send dead callbacks again (attempts reset): IDs, --source or --all")
    replay.add_argument("ids", nargs="*", metavar="ID", help="callback ids (= idempotency keys) to replay")
    replay.add_argument("--source", help="replay every dead callback of this source")
    replay.add_argument("--all", action="store_true", help="replay every dead callback")
    replay.set_defaults(run=_replay)
