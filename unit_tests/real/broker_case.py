"""A TestCase base that starts one real cluster per test class and always removes it."""

import unittest
import uuid

from KafkaPersistenceLibrary import KafkaPersistenceLibrary


class BrokerTestCase(unittest.TestCase):
    """Starts the library's cluster (START: Start Kafka's arguments) in setUpClass; each test uses its own topic."""

    START: dict = {}
    library: KafkaPersistenceLibrary
    bootstrap: str

    @classmethod
    def setUpClass(cls):
        cls.library = KafkaPersistenceLibrary()
        try:
            cls.bootstrap = cls.library.start_kafka(**cls.START)
        except BaseException:
            cls.library.stop_kafka()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.library.stop_kafka()

    def leave_every_node_running(self):
        """For addCleanup: whatever a test stopped or paused runs again for the next test."""
        nodes = self.library.ctx.cluster.nodes.values()
        if any(n.expected == "paused" for n in nodes):
            self.library.resume_broker("all")
        if any(n.expected == "stopped" for n in nodes):
            self.library.start_broker("all")

    def topic(self) -> str:
        return f"{self._testMethodName}-{uuid.uuid4().hex[:6]}"

    def node(self, node_id: int = 1):
        """The library's node object (container access for tests that make faults by hand)."""
        return self.library.ctx.cluster.nodes[node_id]


class ClusterTestCase(BrokerTestCase):
    """Three brokers and a controller shared by a class; each test's faults are undone after it, and
    ``topic()`` creates the test's own topic (with the cluster's replication defaults)."""

    START = {"brokers": 3}

    def setUp(self):
        self.addCleanup(self.leave_every_node_running)

    def topic(self, **config) -> str:
        name = super().topic()
        self.library.create_topic(name, **config)
        return name
