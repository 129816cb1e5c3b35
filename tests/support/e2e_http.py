"""HTTP to the api service as a desktop or a source system talks to it: retried across the api's restarts.

A request that cannot reach the api (connection refused while it restarts, a connection cut by a
kill -9) or gets a 5xx is sent again with a short backoff until `patience` runs out; every other
answer is returned as it is, for the caller to judge. The event stream is read line by line.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from workrouter.demo.agents import sse_events

if importlib.util.find_spec("sniffio") is None:
    # httpcore tries `import sniffio` for every request; without the package each try searches sys.path
    # (about a millisecond, the largest cost of a request here). A None entry makes the failed import instant.
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

Event = tuple[str, dict[str, Any]]


class ApiGone(RuntimeError):  # noqa: N818 - reads as what happened
    """The api did not answer within the caller's patience."""


class Http:
    """One connection pool to the api for many callers."""

    def __init__(self, base_url: str, *, patience: float = 90.0) -> None:
        # httpcore looks at every pooled connection for each request: a small pool for the short requests
        self.client = httpx.AsyncClient(base_url=base_url, timeout=15.0, limits=httpx.Limits(max_connections=16))
        streams = httpx.Limits(max_connections=100)  # one long-lived connection per agent's event stream
        self.streams = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(10.0, read=40.0), limits=streams)
        self.patience = patience
        self.retries = 0  # requests sent again after a transport error or a 5xx
        self.requests = 0
        self.slowest = 0.0  # the longest answer (seconds) since the caller last reset it

    async def close(self) -> None:
        """Close both pools."""
        await self.client.aclose()
        await self.streams.aclose()

    async def call(
        self, method: str, path: str, *, headers: dict[str, str], body: Any = None, patience: float | None = None
    ) -> httpx.Response:
        """The api's answer to one request; transport errors and 5xx are retried until `patience` runs out."""
        deadline = time.monotonic() + (self.patience if patience is None else patience)
        pause = 0.1
        while True:
            problem: str
            try:
                began = time.monotonic()
                self.requests += 1
                response = await self.client.request(method, path, headers=headers, json=body)
                self.slowest = max(self.slowest, time.monotonic() - began)
                if response.status_code < 500:
                    return response
                problem = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise ApiGone(f"{method} {path}: no answer within patience; last: {problem}")
            self.retries += 1
            await asyncio.sleep(pause)
            pause = min(1.0, pause * 2)

    async def events(self, headers: dict[str, str]) -> AsyncGenerator[Event, None]:
        """The agent's event stream: (event name, data) until the connection ends (raises on transport errors)."""
        async with self.streams.stream("GET", "/v1/agent/events", headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                raise httpx.HTTPStatusError(f"events: {response.status_code}", request=response.request,
                                            response=response)  # fmt: skip
            async for name, data in sse_events(response):
                yield name, data


def agent_headers(token: str) -> dict[str, str]:
    """The Authorization header of an agent."""
    return {"Authorization": f"Bearer {token}"}


def source_headers(api_key: str) -> dict[str, str]:
    """The X-API-Key header of a source system."""
    return {"X-API-Key": api_key}
