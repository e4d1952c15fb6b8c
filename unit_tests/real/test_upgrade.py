"""Rolling upgrades on real brokers (issue 19): from 3.9.1 to the default version under an acks=all load.

CI forms, one cluster per class: 3 brokers and 1 controller (6 JVMs of the issue's 3 + 3 on 2 cores
took twice as long; `robot --variable UPGRADE_CONTROLLERS:3 robot_tests/upgrade.robot` is that long
form). Each node's version is asserted from what the node itself answers (ApiVersions), not from the
image the library gave it.
"""

import unittest

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.errors import KafkaPersistenceError
from KafkaPersistenceLibrary.versions import KAFKA_VERSION

OLD = "3.9.1"  # the last 3.x line, which many production clusters still run
NEW = KAFKA_VERSION  # the default version
NEW_LINE = ".".join(NEW.split(".")[:2])


class UpgradeCase(unittest.TestCase):
    START = {"brokers": 3, "controllers": 1, "version": OLD}

    @classmethod
    def setUpClass(cls):
        cls.library = KafkaPersistenceLibrary()
        try:
            cls.library.start_kafka(**cls.START)
        except BaseException:
            cls.library.stop_kafka()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.library.stop_kafka()

    def versions(self) -> dict:
        return {n.id: n.version for n in self.library.get_brokers()}


class RollingUpgradeTest(UpgradeCase):
    """Issue case 1 (CI form): an acks=all producer and a consumer group through the whole upgrade."""

    def test_rolling_upgrade_and_finalize_lose_nothing(self):
        lib = self.library
        self.assertEqual(set(self.versions().values()), {"3.9"})
        before = {n.id: n.metadata_version for n in lib.get_brokers()}
        lib.create_topic("orders", partitions=3)
        lib.start_background_producer("orders", rate=200)
        lib.start_background_consumer("orders", group="billing")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^No upgrade to finalize: call 'Upgrade Kafka"):
            lib.finalize_kafka_upgrade()

        first = lib.upgrade_kafka(version=NEW, broker=101)  # the controller first, as an operator would
        with self.assertRaisesRegex(KafkaPersistenceError, rf"^'Finalize Kafka Upgrade' before every node runs Kafka "
                                                           rf"{NEW}: node 1 \(.*:{OLD}\), node 2 .*, node 3 .*"):
            lib.finalize_kafka_upgrade()
        rest = lib.upgrade_kafka(version=NEW)

        self.assertEqual(first.nodes + rest.nodes, [101, 1, 2, 3])
        self.assertEqual(dict(first.leaderless), {})
        self.assertEqual(dict(rest.leaderless), {}, "a partition was seen without a leader")
        self.assertEqual(set(self.versions().values()), {NEW_LINE})
        self.assertEqual({n.id: n.metadata_version for n in lib.get_brokers()}, before, "finalized before Finalize")
        features = lib.finalize_kafka_upgrade()
        self.assertGreater(features.metadata_version, max(before.values()))
        self.assertEqual({n.metadata_version for n in lib.get_brokers()}, {features.metadata_version})
        with self.assertRaisesRegex(KafkaPersistenceError, rf"^Kafka cannot downgrade to {OLD}: the cluster's "
                                                           rf"finalized metadata.version is"):
            lib.downgrade_kafka(version=OLD)

        lib.stop_background_producer("orders")
        lib.stop_background_consumer("orders", group="billing")
        verdict = lib.verify_no_acknowledged_records_lost("orders", timeline="off")
        self.assertEqual(verdict.lost, 0)
        self.assertGreater(verdict.acknowledged, 1000)
        group = lib.verify_consumer_group_missed_nothing("orders", group="billing", timeline="off")
        self.assertEqual(group.skipped, 0)
        faults = lib.ctx.runs["orders"].history.faults
        self.assertEqual([(f.kind, f.target) for f in faults],
                         [("upgrade", f"node {i} to {NEW}") for i in (101, 1, 2, 3)])


class WrongRollingRestartTest(UpgradeCase):
    """Issue case 3: two brokers of three replaced at once with min.insync.replicas=2, wrong on purpose."""

    def test_two_brokers_at_once_make_sends_fail_not_lost(self):
        lib = self.library
        lib.create_topic("wrong", **{"min.insync.replicas": "2"})
        # Sends time out after 5 s, so those made while two brokers are down fail. Records sent twice after
        # librdkafka bumped the idempotent producer's epoch (sends timed out) are reported apart by the verdict
        # (478 such duplicates in one run here); any other duplicate fails it.
        lib.start_background_producer("wrong", rate=200, timeout="5s")
        result = lib.upgrade_kafka(version=NEW, broker="1,2", together=True)
        lib.stop_background_producer("wrong")

        self.assertEqual(result.nodes, [1, 2])
        self.assertEqual({i: v for i, v in self.versions().items() if i in (1, 2)}, {1: NEW_LINE, 2: NEW_LINE})
        verdict = lib.verify_no_acknowledged_records_lost("wrong", timeline="off")
        self.assertEqual((verdict.lost, verdict.duplicated), (0, 0))
        self.assertGreater(verdict.failed + verdict.unknown, 0, "no send failed while two of three were down")
        history = lib.ctx.runs["wrong"].history
        (window,) = history.faults
        self.assertEqual((window.kind, window.target), ("upgrade", f"node 1, 2 to {NEW}"))
        times = list(history.ack_times())
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)
                if earlier <= window.up_at and later >= window.down_at]
        self.assertGreater(max(gaps), 5.0, "no stretch without an ack while two of three replicas were down")


if __name__ == "__main__":
    unittest.main()
