"""`partition_for` is Kafka's default partitioner: murmur2 of the key, sign bit cleared, modulo the partitions."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from workrouter.bus.partitioning import murmur2, partition_for

# Apache Kafka's own vectors (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2),
# signed as Java returns them.
JAVA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("data", "signed"), JAVA_VECTORS.items())
def test_murmur2_matches_the_java_client(data: bytes, signed: int) -> None:
    assert murmur2(data) == signed & 0xFFFFFFFF


def test_partition_clears_the_sign_bit_before_the_modulo() -> None:
    # murmur2("21") is negative in Java: toPositive keeps the low 31 bits, not the absolute value.
    assert partition_for("21", 7) == (-973932308 & 0x7FFFFFFF) % 7 == 3
    assert partition_for("abc", 6) == 479470107 % 6


def test_one_partition_takes_every_key_and_none_is_refused() -> None:
    assert partition_for("anything", 1) == 0
    with pytest.raises(ValueError, match="at least one partition"):
        partition_for("k", 0)


@given(key=st.text(max_size=64), partitions=st.integers(min_value=1, max_value=64))
def test_partition_is_what_aiokafka_s_producer_picks(key: str, partitions: int) -> None:
    everything = list(range(partitions))
    assert partition_for(key, partitions) == DefaultPartitioner()(key.encode(), everything, everything)
