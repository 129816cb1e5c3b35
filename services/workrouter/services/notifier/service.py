"""The notifier service process: settings, wiring, run.

It consumes `wr.tasks` in its own group, keeps each task's view and the callback outbox in
PostgreSQL, and delivers due callbacks from there, one loop per source, independently of Kafka:
after a restart, pending callbacks go out as soon as PostgreSQL answers.
"""

from __future__ import annotations

import functools
import logging
import os
import random
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from workrouter.adapters.bus_factory import build_bus
from workrouter.adapters.postgres.notifier_store import PostgresCallbackStore
from workrouter.adapters.postgres.pool import connect
from workrouter.bus.port import BatchBus
from workrouter.config.catalog import load_catalog
from workrouter.config.files import ConfigError
from workrouter.config.sources import SecretError, SourceSystem
from workrouter.contracts.envelope import utcnow
from workrouter.contracts.topics import TopicNames
from workrouter.domain.notify.retry import RetryPolicy
from workrouter.ports.callbacks import CallbackStore
from workrouter.runtime import Wiring, configure_logging, serve_process
from workrouter.services.notifier.dispatcher import Dispatcher
from workrouter.services.notifier.handlers import NotifierDeps, handle_batch
from workrouter.services.notifier.sender import Sender, Target
from workrouter.settings import ProcessSettings

log = logging.getLogger(__name__)


class NotifierSettings(ProcessSettings):
    """Settings of the notifier process (WR_*)."""

    config_dir: Path = Path("deploy/config")
    notifier_group: str = "wr-notifier"
    notifier_batch: int = Field(default=500, ge=1, le=10_000, description="Most events folded per transaction.")
    notifier_wait_ms: int = Field(default=200, ge=1, le=10_000, description="Longest wait to fill a batch.")
    callback_max_attempts: int = Field(default=20, ge=1, le=1000, description="Attempts before a dead letter.")
    callback_backoff_base_seconds: float = Field(default=1.0, gt=0, description="Longest wait after attempt 1.")
    callback_backoff_cap_seconds: float = Field(default=600.0, gt=0, description="Longest wait between attempts.")
    callback_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    callback_timeout_seconds: float = Field(default=10.0, gt=0, description="Whole attempt, connect to last byte.")
    callback_concurrency: int = Field(default=4, ge=1, le=256, description="Attempts in flight per source.")
    notifier_poll_seconds: float = Field(default=1.0, gt=0, le=60, description="Longest sleep between looks.")
    callback_retention_days: float = Field(default=7.0, gt=0, description="Delivered callbacks are kept this long.")
    metrics_port: int = Field(default=9106, ge=0, le=65535, description="GET /metrics port; 0 = off.")

    @model_validator(mode="after")
    def _backoff_in_order(self) -> Self:
        if self.callback_backoff_base_seconds > self.callback_backoff_cap_seconds:
            raise ValueError(
                f"WR_CALLBACK_BACKOFF_BASE_SECONDS ({self.callback_backoff_base_seconds}) must not exceed "
                f"WR_CALLBACK_BACKOFF_CAP_SECONDS ({self.callback_backoff_cap_seconds})"
            )
        return self

    @property
    def lease_seconds(self) -> float:
        """How long a claimed callback stays with its sender: past its attempt's deadline, with room to spare."""
        return 2 * self.callback_timeout_seconds + 5

    def policy(self) -> RetryPolicy:
        """The retry schedule."""
        return RetryPolicy(
            self.callback_max_attempts, self.callback_backoff_base_seconds, self.callback_backoff_cap_seconds
        )


def target_of(source: SourceSystem, env: Mapping[str, str], config_dir: Path) -> Target | None:
    """Where a source is called back (its secret from `env` or its file); None without a callback_url."""
    if source.callback_url is None:
        return None
    try:
        secret = source.callback_secret(env, config_dir)
    except SecretError as exc:
        raise ConfigError(f"{config_dir / 'sources.yaml'}: {exc}") from None
    if secret is None:
        raise ConfigError(f"sources.yaml: source {source.name!r} has a callback_url but no callback secret")
    return Target(source.name, str(source.callback_url), secret, frozenset(source.callback_events))


def load_targets(config_dir: Path, env: Mapping[str, str]) -> dict[str, Target]:
    """The callback target of every registered source that has one (sources.yaml, checked with the catalog)."""
    catalog = load_catalog(config_dir)
    targets = {name: target_of(source, env, config_dir) for name, source in catalog.sources.items()}
    return {name: target for name, target in targets.items() if target is not None}


def build_dispatcher(targets: dict[str, Target], store: CallbackStore, settings: NotifierSettings) -> Dispatcher:
    """The delivery loops, one per target, with an HTTP session each."""
    sender = Sender(
        clock=utcnow,
        connect_timeout=settings.callback_connect_timeout_seconds,
        timeout=settings.callback_timeout_seconds,
        max_connections=settings.callback_concurrency,
    )
    return Dispatcher(
        targets,
        store,
        sender,
        settings.policy(),
        clock=utcnow,
        rand=random.random,
        concurrency=settings.callback_concurrency,
        poll_seconds=settings.notifier_poll_seconds,
        lease_seconds=settings.lease_seconds,
        grace_seconds=min(settings.callback_timeout_seconds, 5.0),
        retention=timedelta(days=settings.callback_retention_days),
    )


def subscribe(bus: BatchBus, deps: NotifierDeps, settings: NotifierSettings) -> None:
    """Register the handler on `wr.tasks` in the notifier's group, a poll of events per transaction."""
    topic = TopicNames(settings.topic_prefix).tasks
    bus.subscribe_batch(
        topic,
        settings.notifier_group,
        functools.partial(handle_batch, deps=deps),
        max_records=settings.notifier_batch,
        max_wait_ms=settings.notifier_wait_ms,
    )


async def assemble(settings: NotifierSettings, bus: BatchBus) -> Wiring:
    """Subscribe the notifier on `bus`, with its PostgreSQL outbox and one delivery loop per source."""
    targets = load_targets(settings.config_dir, os.environ)  # the secrets' variables are named in sources.yaml
    if not targets:
        log.warning("no source in %s/sources.yaml has a callback_url: nothing will be called back", settings.config_dir)
    pool = await connect(settings.database_url, service="notifier")
    store = PostgresCallbackStore(pool)
    await store.migrate()
    dispatcher = build_dispatcher(targets, store, settings)
    await dispatcher.bury_unknown()
    subscriptions = {name: target.events for name, target in targets.items()}
    subscribe(bus, NotifierDeps(store, subscriptions, utcnow, dispatcher.poke), settings)
    return Wiring(
        background=[dispatcher.run],
        cleanup=[dispatcher.sender.aclose, pool.close],
        refreshers=[dispatcher.refresh_gauges],
    )


async def main(settings: NotifierSettings) -> None:
    """Run the notifier service until a signal."""
    configure_logging(settings.log_level)
    bus = build_bus(settings, client_id="wr-notifier")
    wiring = await assemble(settings, bus)
    await serve_process("notifier", bus, wiring, settings)
