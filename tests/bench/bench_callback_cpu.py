"""Benchmark: CPU per callback POST, the notifier's Sender (aiohttp) against httpx sending as the Sender did
before decisions D26, to the same keep-alive sink in another process (so only the client's CPU is counted).

Each round sends `--requests` signed callbacks of 600 bytes, `--concurrency` at a time over one source's
connection pool, and reads time.process_time() around it; the rounds alternate between the two clients, so a
machine that is busy with something else weighs on both alike. Prints each round and the median per client.
Usage: python -m tests.bench.bench_callback_cpu [--requests 2000] [--concurrency 4] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from tests.bench.e2e_sink import CallbackSink
from tests.support.callback_server import free_port
from workrouter.contracts.envelope import utcnow
from workrouter.ports.callbacks import Claimed
from workrouter.services.notifier.sender import USER_AGENT, Sender, Target

BODY = b'{"event": "completed", "pad": "' + b"x" * 567 + b'"}'  # 600 bytes, about a callback's size
Send = Callable[[Claimed], Awaitable[bool]]


def claimed(n: int) -> Claimed:
    """The nth callback to send."""
    return Claimed(f"cb-{n}", "crm", f"task-{n}", "completed", BODY, 1, "claim")


async def serve(port: int) -> None:
    """The sink, in its own process until killed."""
    sink = CallbackSink()
    sink.port = port
    await sink.start()
    await asyncio.Event().wait()


def start_sink() -> tuple[subprocess.Popen[bytes], str]:
    """The sink process and its URL, once it accepts connections."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_callback_cpu", "--serve", str(port)])
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the sink did not start") from None
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}/workrouter/callbacks"


async def run(send: Send, count: int, concurrency: int, first: int) -> tuple[float, float]:
    """Send `count` callbacks, `concurrency` at a time; CPU µs and wall µs per request."""
    numbers = iter(range(first, first + count))

    async def lane() -> None:
        for n in numbers:
            if not await send(claimed(n)):
                raise RuntimeError(f"callback {n} was not acknowledged")

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return (time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e6


async def main(requests: int, concurrency: int, rounds: int) -> None:
    """Alternate the two clients round by round and print the figures."""
    proc, url = start_sink()
    target = Target("crm", url, "crm-secret-0123456789", frozenset({"completed"}))
    sender = Sender(clock=utcnow, max_connections=concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx.AsyncClient(  # configured as the Sender configured it up to D26
        timeout=httpx.Timeout(10.0, connect=3.0), limits=limits, follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )  # fmt: skip

    async def by_aiohttp(row: Claimed) -> bool:
        return (await sender.send(target, row)).ok

    async def by_httpx(row: Claimed) -> bool:
        async with asyncio.timeout(10.0):
            response = await client.post(target.url, content=row.body, headers=sender.headers(target, row))
        return 200 <= response.status_code < 300

    clients: dict[str, Send] = {"httpx (the Sender before D26)": by_httpx, "aiohttp (the Sender)": by_aiohttp}
    figures: dict[str, list[float]] = {name: [] for name in clients}
    try:
        sent = 0
        for send in clients.values():  # warm up: connections open, code paths taken
            await run(send, 200, concurrency, sent)
            sent += 200
        for round_no in range(1, rounds + 1):
            for name, send in clients.items():
                cpu, wall = await run(send, requests, concurrency, sent)
                sent += requests
                figures[name].append(cpu)
                print(f"round {round_no}: {name:30} {cpu:7.0f} µs CPU, {wall:7.0f} µs wall per request")
    finally:
        await client.aclose()
        await sender.aclose()
        proc.kill()
        proc.wait()
    print(f"{requests} POSTs of {len(BODY)} bytes per round, {concurrency} at a time, one keep-alive pool:")
    for name, rounds_cpu in figures.items():
        median = statistics.median(rounds_cpu)
        print(f"  {name:30} median {median:5.0f} µs CPU per request (rounds: {len(rounds_cpu)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the sink's own process
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
    else:
        asyncio.run(main(args.requests, args.concurrency, args.rounds))
