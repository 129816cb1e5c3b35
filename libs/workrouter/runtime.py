"""Running a service process: start the bus, wait for SIGINT/SIGTERM, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence

from workrouter.bus.port import Bus

log = logging.getLogger(__name__)


def configure_logging(level: str) -> None:
    """One log format for every process."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aiokafka", "faststream"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


async def serve(
    name: str,
    bus: Bus,
    *,
    stop: asyncio.Event | None = None,
    cleanup: Sequence[Callable[[], Awaitable[None]]] = (),
) -> None:
    """Start `bus`, run until a signal (or `stop`), then stop the bus and run `cleanup` in order."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bus.start()
    log.info("%s: running", name)
    try:
        await stop.wait()
    finally:
        log.info("%s: stopping", name)
        await bus.stop()
        for step in cleanup:
            await step()
