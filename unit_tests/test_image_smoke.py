"""The Kafka image on its own: plain testcontainers, acks=all, restart of the same container.

This checks the image (ours or apache/kafka) without the library's broker code,
so an image problem shows up here first and by itself.
"""

import os
import time
import unittest

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer

from KafkaPersistenceLibrary.image import resolve_image
from KafkaPersistenceLibrary.labels import labels_for
from KafkaPersistenceLibrary.ports import free_loopback_port


def produce_when_ready(bootstrap: str, topic: str, value: bytes, timeout: float = 120):
    """Retry until the broker acknowledges (acks=all) or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_block_ms=5000)
            try:
                return producer.send(topic, value).get(timeout=10)
            finally:
                producer.close()
        except KafkaError as error:
            last = error
            time.sleep(0.2)
    raise AssertionError(f"no acknowledgement within {timeout} s: {last}")


class ImageSmokeTest(unittest.TestCase):
    def test_record_survives_restart_of_the_same_container(self):
        if "TESTCONTAINERS_RYUK_DISABLED" not in os.environ:
            testcontainers_config.ryuk_disabled = True  # Ryuk is a registry image
        port = free_loopback_port()
        container = (
            DockerContainer(resolve_image(None))
            .with_envs(
                CLUSTER_ID="smoke-test-cluster-0001",
                KAFKA_NODE_ID="1",
                KAFKA_PROCESS_ROLES="broker,controller",
                KAFKA_CONTROLLER_QUORUM_VOTERS="1@localhost:9093",
                KAFKA_CONTROLLER_LISTENER_NAMES="CONTROLLER",
                KAFKA_LISTENERS="PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093",
                KAFKA_ADVERTISED_LISTENERS=f"PLAINTEXT://127.0.0.1:{port}",
                KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                KAFKA_LOG_DIRS="/var/lib/kafka/data",
                KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="1",
                KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR="1",
                KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="1",
            )
            .with_kwargs(labels=labels_for("image smoke test"))
        )
        container.ports["9092/tcp"] = ("127.0.0.1", port)
        bootstrap = f"127.0.0.1:{port}"
        try:
            container.start()
            stored = produce_when_ready(bootstrap, "smoke", b"Persistent Message")
            docker_container = container.get_wrapped_container()
            docker_container.reload()
            first_id, first_start = docker_container.id, docker_container.attrs["State"]["StartedAt"]
            docker_container.restart(timeout=30)
            produce_when_ready(bootstrap, "smoke", b"after restart")
            docker_container.reload()
            self.assertEqual(docker_container.id, first_id, "the same container")
            self.assertNotEqual(docker_container.attrs["State"]["StartedAt"], first_start, "really restarted")

            consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
            try:
                partition = TopicPartition("smoke", stored.partition)
                consumer.assign([partition])
                consumer.seek_to_beginning(partition)
                values = []
                deadline = time.monotonic() + 30
                while len(values) < 2 and time.monotonic() < deadline:
                    for messages in consumer.poll(timeout_ms=500).values():
                        values.extend(m.value for m in messages)
            finally:
                consumer.close()
            self.assertEqual(values, [b"Persistent Message", b"after restart"])
        finally:
            container.stop()


if __name__ == "__main__":
    unittest.main()
