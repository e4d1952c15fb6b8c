"""The smoke test on every Kafka version of the tested set besides the default (which runs everything).

Per version, one 3-broker cluster of that version's image (built on first use, cached):
the seed scenario (a message acknowledged, its leader restarted, the message read back),
then a leader killed under an acks=all background producer and the verdict. Each class
is generated from ``versions.TESTED_KAFKA_VERSIONS``, so it follows the default when it moves.
"""

import unittest

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.versions import KAFKA_VERSION, TESTED_KAFKA_VERSIONS

from .broker_case import ClusterTestCase


class VersionSmoke:
    """The smoke test on one version (VERSION), mixed into a ClusterTestCase per version below."""

    VERSION = ""

    def test_seed_scenario_and_a_leader_kill(self):
        logs = self.library.get_broker_logs(broker=1)
        self.assertIn(f"Kafka version: {self.VERSION}", logs, "the broker itself says which release it runs")

        seed = self.topic()
        self.library.produce_message(seed, "Persistent Message")
        self.library.restart_broker(mode="graceful", broker="leader", topic=seed)
        self.library.consume_should_equal(seed, "Persistent Message")

        orders = self.topic()
        self.library.start_background_producer(orders, rate=300)
        restart = self.library.restart_broker(mode="kill", broker="leader", topic=orders)
        self.assertNotEqual(restart.leader, restart.node, "another replica leads after the kill")
        self.library.wait_until_replicas_in_sync(orders)
        self.library.stop_background_producer(orders)
        verdict = self.library.verify_no_acknowledged_records_lost(orders)
        self.assertGreater(verdict.acknowledged, 100)
        self.assertEqual((verdict.lost, verdict.duplicated, verdict.order_violations), (0, 0, 0))


def _smoke_class(version: str) -> type:
    name = "Kafka" + version.replace(".", "_") + "SmokeTest"
    return type(name, (VersionSmoke, ClusterTestCase), {"VERSION": version, "START": {"brokers": 3, "version": version},
                                         "__module__": __name__, "__qualname__": name})


for _version in TESTED_KAFKA_VERSIONS:
    if _version != KAFKA_VERSION:
        globals()[_smoke_class(_version).__name__] = _smoke_class(_version)



class MissingReleaseTest(unittest.TestCase):
    """A release number Maven Central does not serve: Start Kafka asks Maven for real and says so in one line."""

    def test_a_release_maven_cannot_serve(self):
        library = KafkaPersistenceLibrary()
        try:
            with self.assertRaises(KafkaPersistenceError) as caught:
                library.start_kafka(version="3.7.9")  # the 3.7 line ended with 3.7.2
        finally:
            library.stop_kafka()
        message = str(caught.exception)
        self.assertRegex(message, r"^No image for Kafka 3\.7\.9: Maven could not serve "
                                  r"org\.apache\.kafka:kafka_2\.13:3\.7\.9 from \S+: .*--maven-settings FILE\)")
        self.assertNotIn("\n", message)
        self.assertIsNone(library.ctx.cluster)
