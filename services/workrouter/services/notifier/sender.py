"""Sending one callback attempt over HTTP: signed afresh, with the fixed body and idempotency key.

Each source has its own aiohttp session (its own connection pool), so a source that hangs can hold
only its own connections. Every attempt is bounded twice: aiohttp's connect and total timeouts, and an
overall deadline that also stops a server trickling its answer byte by byte. aiohttp, not httpx: about
a seventh of the CPU per request, and the notifier is the busiest process at the ceiling (decisions D26).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import certifi

from workrouter.domain.notify import signing
from workrouter.ports.callbacks import Claimed

USER_AGENT = "workrouter-notifier/1"
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
KEEPALIVE_SECONDS = 5.0  # an idle connection is closed after this long (httpx's default, kept)


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


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Certificates are checked against the system's roots (and SSL_CERT_FILE / SSL_CERT_DIR, which OpenSSL reads)
    plus certifi's, which httpx used: every source verified before still is (built once: it reads files)."""
    context = ssl.create_default_context()
    context.load_verify_locations(certifi.where())
    return context


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return min(float(value), MAX_RETRY_AFTER_SECONDS) if value else None
    except ValueError:
        return None  # an HTTP date: ignored, the backoff decides


def _describe(exc: Exception, timeout: float) -> str:
    if isinstance(exc, TimeoutError):  # aiohttp's own timeouts (connect, total) are TimeoutErrors too
        return f"timed out after {timeout:g} s without a complete answer"
    text = str(exc) or repr(exc)
    # "ConnectError" for every failure to connect (refused, DNS, TLS), as dead letters have said since httpx
    name = "ConnectError" if isinstance(exc, aiohttp.ClientConnectorError) else type(exc).__name__
    return f"{name}: {text}"[:500]


async def _failure(response: aiohttp.ClientResponse) -> str:
    """What a non-2xx answer says, for the dead letter (its body is read already)."""
    if 300 <= response.status < 400:
        where = response.headers.get("location", "?")
        return f"HTTP {response.status} redirect to {where} (not followed: fix callback_url in sources.yaml)"
    text = await response.text(errors="replace")
    return f"HTTP {response.status}: {text[:300]}".strip()


class Sender:
    """Sends callback attempts, one HTTP session per source."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        connect_timeout: float = 3.0,
        timeout: float = 10.0,
        max_connections: int = 4,
    ) -> None:
        self._clock = clock
        self._timeout = timeout
        # sock_connect bounds the TCP and TLS handshake (httpx's connect timeout); waiting for a pooled connection
        # is bounded by the total only, as httpx's pool timeout was the whole timeout
        self._client_timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(connect_timeout, timeout))
        self._max_connections = max_connections
        self._tls = tls_context()
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    def _session(self, source: str) -> aiohttp.ClientSession:
        session = self._sessions.get(source)
        if session is None:  # made on first use, inside the running loop (aiohttp needs one)
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=KEEPALIVE_SECONDS, ssl=self._tls
            )
            session = aiohttp.ClientSession(
                connector=connector, timeout=self._client_timeout, headers={"User-Agent": USER_AGENT}
            )
            self._sessions[source] = session
        return session

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
            async with (
                asyncio.timeout(self._timeout),
                self._session(target.source).post(
                    target.url, data=claimed.body, headers=self.headers(target, claimed), allow_redirects=False
                ) as response,
            ):
                await response.read()  # the whole answer, so that the connection is kept for the next attempt
                seconds = time.monotonic() - started
                if 200 <= response.status < 300:
                    return Attempt(True, response.status, "", seconds)
                return Attempt(False, response.status, await _failure(response), seconds, _retry_after(response))
        except Exception as exc:  # any failure to get an answer is a failed attempt, retried like the others
            return Attempt(False, None, _describe(exc, self._timeout), time.monotonic() - started)

    async def aclose(self) -> None:
        """Close every session (and its connections)."""
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
