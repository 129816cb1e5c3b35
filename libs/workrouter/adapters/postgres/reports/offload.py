"""CPU work of reports (records to rows, rows to JSON or CSV) on one worker thread, off the event loop.

One thread, not a pool: the GIL runs Python code one thread at a time anyway, and every extra busy
thread is one more the event loop waits behind for the GIL, so more threads would only make the
process's other requests slower, not the reports faster.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-cpu")


async def off_loop(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` on the report worker thread; the event loop serves other requests meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_WORKER, functools.partial(work, *args))
