"""The bus contract on real Apache Kafka."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.contracts.bus_batch_contract import BatchBusContract
from tests.contracts.bus_contract import BusContract, BusFactory
from tests.support.infra import Infra
from workrouter.adapters.kafka_admin import KafkaUnreachableError
from workrouter.adapters.kafka_bus import KafkaBus
from workrouter.adapters.kafka_options import KafkaOptions
from workrouter.bus.delivery import DeliveryPolicy
from workrouter.bus.port import Bus
from workrouter.contracts.topics import TopicSpec


class TestKafkaBusContract(BusContract, BatchBusContract):
    timeout = 60.0

    @pytest.fixture
    def bus_factory(self, infra: Infra) -> BusFactory:
        def make(topics: Sequence[TopicSpec], deadletter: str, policy: DeliveryPolicy) -> Bus:
            return KafkaBus(infra.kafka_bootstrap, topics=topics, deadletter_topic=deadletter, policy=policy)

        return make


async def test_unreachable_broker_error_says_how_to_start_one() -> None:
    bus = KafkaBus("127.0.0.1:1", options=KafkaOptions(request_timeout_ms=2000))
    with pytest.raises(KafkaUnreachableError, match=r"cannot reach Kafka at 127\.0\.0\.1:1 .*make infra-up"):
        await bus.start()
