"""Sending one callback attempt over HTTP: signed afresh, with the fixed body and idempotency key.

Each source has its own HTTP client (its own connection pool), so a source that hangs can hold
only its own connections. Every attempt is bounded twice: httpx's connect/read timeouts, and an
overall deadline that also stops a server trickling its answer byte by byte.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from workrouter.domain.notify import signing
from workrouter.ports.callbacks import Claimed

USER_AGENT = "workrouter-notifier/1"
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how one source is called back (from sources.yaml, never from a task)."""

    source: str
    url: str
    secret: str
    events: frozenset[str]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt came to."""

    ok: bool
    status: int | None
    error: str
    seconds: float
    retry_after: float | None = None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return min(float(value), MAX_RETRY_AFTER_SECONDS) if value else None
    except ValueError:
        return None  # an HTTP date: ignored, the backoff decides


def _describe(exc: Exception, timeout: float) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timed out after {timeout:g} s without a complete answer"
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"[:500]


class Sender:
    """Sends callback attempts, one HTTP client per source."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        connect_timeout: float = 3.0,
        timeout: float = 10.0,
        max_connections: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._clock = clock
        self._timeout = timeout
        self._httpx_timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._transport = transport
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, source: str) -> httpx.AsyncClient:
        client = self._clients.get(source)
        if client is None:
            client = httpx.AsyncClient(
                timeout=self._httpx_timeout,
                limits=self._limits,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
                transport=self._transport,
            )
            self._clients[source] = client
        return client

    def headers(self, target: Target, claimed: Claimed) -> dict[str, str]:
        """The headers of one attempt: a fresh signature (timestamp now), the same idempotency key every time."""
        stamp = int(self._clock().timestamp())
        return {
            "Content-Type": "application/json",
            **signing.standard_headers(target.secret, claimed.id, claimed.body, stamp),
            signing.SIGNATURE_HEADER: signing.sign(target.secret, claimed.body, stamp),  # the older scheme, one release
            signing.IDEMPOTENCY_HEADER: claimed.id,
            signing.EVENT_HEADER: claimed.event,
            signing.ATTEMPT_HEADER: str(claimed.attempts),
        }

    async def send(self, target: Target, claimed: Claimed) -> Attempt:
        """POST the callback; a 2xx answer is success, anything else (or no answer in time) a failure."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client(target.source).post(
                    target.url, content=claimed.body, headers=self.headers(target, claimed)
                )
        except Exception as exc:  # any failure to get an answer is a failed attempt, retried like the others
            return Attempt(False, None, _describe(exc, self._timeout), time.monotonic() - started)
        seconds = time.monotonic() - started
        if 200 <= response.status_code < 300:
            return Attempt(True, response.status_code, "", seconds)
        error = f"HTTP {response.status_code}: {response.text[:300]}".strip()
        if 300 <= response.status_code < 400:
            where = response.headers.get("location", "?")
            error = f"HTTP {response.status_code} redirect to {where} (not followed: fix callback_url in sources.yaml)"
        return Attempt(False, response.status_code, error, seconds, _retry_after(response))

    async def aclose(self) -> None:
        """Close every client."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
