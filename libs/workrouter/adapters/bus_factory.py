"""Choose the bus adapter from settings: the one place that knows both."""

from __future__ import annotations

from collections.abc import Sequence

from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.kafka_options import KafkaOptions
from workrouter.adapters.memory_bus import MemoryBus
from workrouter.bus.delivery import DeliveryPolicy
from workrouter.bus.port import BatchBus
from workrouter.contracts.topics import TopicNames, TopicSpec
from workrouter.settings import ProcessSettings


def build_bus(settings: ProcessSettings, *, client_id: str, topics: Sequence[TopicSpec] | None = None) -> BatchBus:
    """A MemoryBus for memory://, a KafkaBus for kafka://host:port[,host:port]; topics under WR_TOPIC_PREFIX."""
    names = TopicNames(settings.topic_prefix)
    topics = names.specs() if topics is None else topics
    policy = DeliveryPolicy(max_attempts=settings.max_attempts, backoff_seconds=settings.retry_backoff_seconds)
    if settings.broker_url.startswith("kafka://"):
        bootstrap = settings.broker_url.removeprefix("kafka://")
        options = KafkaOptions(client_id=client_id)
        return KafkaBus(bootstrap, topics=topics, deadletter_topic=names.deadletter, policy=policy, options=options)
    return MemoryBus(topics, deadletter_topic=names.deadletter, policy=policy)
