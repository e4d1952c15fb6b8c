"""What the machine may lack or the broker may refuse: one line each, and nothing left behind."""

import os
import time
import unittest

import docker

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.labels import LABEL_PID


def ours(client, kind: str) -> list:
    """Containers or networks that this process created."""
    lister = client.containers.list if kind == "containers" else client.networks.list
    extra = {"all": True} if kind == "containers" else {}
    return lister(filters={"label": f"{LABEL_PID}={os.getpid()}"}, **extra)


class EnvironmentTest(unittest.TestCase):
    def setUp(self):
        self.client = docker.from_env()
        self.addCleanup(self.client.close)

    def test_missing_image_says_how_to_build_it(self):
        library = KafkaPersistenceLibrary(image="kafka-persistence-library/no-such-image:0")
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^Image 'kafka-persistence-library/no-such-image:0' is not on this Docker engine: "
                                    r"build it with 'python -m KafkaPersistenceLibrary.image build'"):
            library.start_kafka()
        self.assertIsNone(library.ctx.cluster)
        self.assertEqual(ours(self.client, "networks"), [])

    def test_invalid_broker_property_names_the_cause_and_leaves_nothing(self):
        library = KafkaPersistenceLibrary()
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"did not serve clients after start: the container .* exited \(exit code 1\).*"
                                    r"Broker says: .*ConfigException: Invalid value abc for configuration num.partitions"):
            library.start_kafka(**{"num.partitions": "abc"})
        self.assertIsNone(library.ctx.cluster)
        self.assertEqual(ours(self.client, "containers"), [], "a cluster that never served must be removed")
        self.assertEqual(ours(self.client, "networks"), [], "its network too")

    def test_wrong_advertised_listeners_is_named_and_fails_early(self):
        library = KafkaPersistenceLibrary(start_timeout="60s")
        started = time.monotonic()
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"did not serve clients after start: broker 1 advertises localhost:9092, not "
                                    r"127\.0\.0\.1:\d+ where it is published: clients cannot reach it "
                                    r"\(a wrong advertised\.listeners\?\)"):
            library.start_kafka(**{"advertised.listeners": "CLIENT://localhost:9092,INTERNAL://localhost:19092"})
        self.assertLess(time.monotonic() - started, 40, "gives up once the wrong address is seen, not at 60 s")
        self.assertEqual(ours(self.client, "containers"), [])


if __name__ == "__main__":
    unittest.main()
