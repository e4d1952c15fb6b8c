"""The Kafka image on its own: docker-py only, acks=all, restart of the same container.

This checks the image (ours or apache/kafka) without the library's cluster code,
so an image problem shows up here first and by itself.
"""

import time
import unittest

import docker
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from KafkaPersistenceLibrary.broker.environment import CLIENT_PORT, single_node_environment
from KafkaPersistenceLibrary.broker.labels import labels_for
from KafkaPersistenceLibrary.broker.ports import free_loopback_port
from KafkaPersistenceLibrary.image import resolve_image


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
        client = docker.from_env()
        self.addCleanup(client.close)
        port = free_loopback_port()
        container = client.containers.create(
            resolve_image(None), hostname="kafka-1", detach=True, labels=labels_for("image smoke test"),
            environment=single_node_environment(port, "smoke-test-cluster-0001"),
            ports={f"{CLIENT_PORT}/tcp": ("127.0.0.1", port)})
        self.addCleanup(container.remove, force=True, v=True)
        bootstrap = f"127.0.0.1:{port}"
        container.start()
        stored = produce_when_ready(bootstrap, "smoke", b"Persistent Message")
        container.reload()
        first_id, first_start = container.id, container.attrs["State"]["StartedAt"]
        container.restart(timeout=30)
        produce_when_ready(bootstrap, "smoke", b"after restart")
        container.reload()
        self.assertEqual(container.id, first_id, "the same container")
        self.assertNotEqual(container.attrs["State"]["StartedAt"], first_start, "really restarted")

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


if __name__ == "__main__":
    unittest.main()
