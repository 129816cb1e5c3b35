"""Benchmark: what signing in and rate limiting cost per request.

Prints the argon2id verify time of `workrouter hash-password`'s parameters, the time to check an api access
token (HS256) and an OIDC token (RS256, ES256, key cached), and the p50/p99 round trip of one rate-limit
hit on a real Redis (one EVALSHA).
Usage: python -m tests.bench.bench_auth [--hits N] [--url redis://...]
Reads WR_REDIS_URL (default redis://127.0.0.1:16379/0); bucket keys go under a random prefix, deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Callable

import redis.asyncio as redis

from tests.support.oidc_issuer import AUDIENCE, ISSUER, LocalIssuer
from workrouter.adapters.rate_limiters import RedisRateLimiter
from workrouter.domain.rate_limit import RateRule
from workrouter.services.api.oidc import JwksCache, OidcConfig, OidcVerifier
from workrouter.services.api.passwords import PasswordSignIn, hash_password


def per_call_ms(fn: Callable[[], object], count: int) -> float:
    """Mean milliseconds of `fn` over `count` calls."""
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count * 1000


async def run(url: str, hits: int) -> None:
    """Measure and print."""
    passwords = PasswordSignIn({"emma": hash_password("correct horse")}, b"s" * 32)
    start = time.perf_counter()
    for _ in range(10):
        assert await passwords.check_password("emma", "correct horse")
    print(f"argon2id verify (m=64 MiB, t=3, p=4), in a thread: {(time.perf_counter() - start) * 100:.0f} ms")
    token = passwords.issue("emma")
    print(f"api access token (HS256) check: {per_call_ms(lambda: passwords.agent_of(token), 2000) * 1000:.0f} us")

    issuer = LocalIssuer()
    config = OidcConfig(issuer=ISSUER, audience=AUDIENCE)
    async with issuer.client() as http:
        verifier = OidcVerifier(config, JwksCache(config, http))
        for key in issuer.keys:
            jwt_token = issuer.token(time.time(), key=key, preferred_username="emma", roles=["agent"])
            await verifier.identify(jwt_token)  # fetch the keys once
            start = time.perf_counter()
            for _ in range(500):
                await verifier.identify(jwt_token)
            print(f"OIDC token ({key.alg}) check: {(time.perf_counter() - start) / 500 * 1e6:.0f} us")

    client = redis.from_url(url)
    prefix = f"bench-rate-{uuid.uuid4().hex}"
    limiter, rule = RedisRateLimiter(client, prefix), RateRule(1e9, 1_000_000_000)
    try:
        await limiter.hit("agent:warm", rule, time.time())
        latencies = []
        for i in range(hits):
            start = time.perf_counter()
            await limiter.hit(f"agent:a{i % 100}", rule, time.time())
            latencies.append((time.perf_counter() - start) * 1e6)
        q = statistics.quantiles(latencies, n=100)
        print(f"rate limit hit on Redis ({hits} sequential): p50 {q[49]:.0f} us, p99 {q[98]:.0f} us")
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hits", type=int, default=5_000)
    parser.add_argument("--url", default=os.environ.get("WR_REDIS_URL", "redis://127.0.0.1:16379/0"))
    args = parser.parse_args()
    asyncio.run(run(args.url, args.hits))


if __name__ == "__main__":
    main()
