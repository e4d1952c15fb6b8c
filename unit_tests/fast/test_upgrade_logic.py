"""Rolling upgrades without Docker: feature levels, release lines, and the one-line refusals (issue 19)."""

import unittest

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.cluster import Cluster
from KafkaPersistenceLibrary.errors import KafkaPersistenceError
from KafkaPersistenceLibrary.keywords.upgrade import Target, _require_direction, behind_target
from KafkaPersistenceLibrary.upgrade.features import NodeFeatures, mapping_release, parse_mapping, parse_version, release_of

MAPPING_4_1 = """metadata.version=27 (4.1-IV1)
kraft.version=1
transaction.version=2
group.version=1
eligible.leader.replicas.version=1
share.version=0
streams.version=0
"""  # what Kafka 4.1.1's StorageTool version-mapping printed here


def node(highest: int, finalized: int) -> NodeFeatures:
    return NodeFeatures({"metadata.version": (7, highest)}, {"metadata.version": finalized}, 1)


TO_4_1 = Target("4.1.1", "kafka-persistence-library/kafka:4.1.1", parse_mapping(MAPPING_4_1), "4.1")
TO_3_9 = Target("3.9.1", "kafka-persistence-library/kafka:3.9.1", {"metadata.version": 21}, "3.9")


class FeatureLevelsTest(unittest.TestCase):
    def test_the_mapping_gives_every_level_and_its_release(self):
        self.assertEqual(parse_mapping(MAPPING_4_1), {
            "metadata.version": 27, "kraft.version": 1, "transaction.version": 2, "group.version": 1,
            "eligible.leader.replicas.version": 1, "share.version": 0, "streams.version": 0})
        self.assertEqual(mapping_release(MAPPING_4_1), "4.1")
        self.assertEqual(parse_mapping("log4j:WARN something=odd\nusage: kafka-storage"), {})

    def test_a_level_names_the_release_line_it_belongs_to(self):
        self.assertEqual([release_of(level) for level in (7, 21, 22, 25, 26, 27)],
                         ["3.3", "3.9", "4.0", "4.0", "4.1", "4.1"])
        self.assertEqual([release_of(level) for level in (28, 29, 30, 31, 33)], ["4.2", "4.2", "4.3", "4.4", "4.4"])
        self.assertEqual(release_of(34), "newer than 4.4 (metadata.version 34)")
        self.assertEqual(release_of(34, known={"4.5": 36}), "4.5")
        self.assertEqual(node(27, 21).release, "4.1")

    def test_a_version_must_be_a_release_number(self):
        self.assertEqual(parse_version(" 3.9.1 "), (3, 9, 1))
        for bad in ("banana", "4.4", "4.4.0-rc1", ""):
            with self.subTest(bad=bad), self.assertRaisesRegex(
                    KafkaPersistenceError, rf"^Invalid version '{bad}': give a Kafka release as major.minor.patch"):
                parse_version(bad)


class RefusalsTest(unittest.TestCase):
    def test_an_upgrade_to_an_older_version(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Kafka 3\.9\.1 is older than the cluster's Kafka 4\.1 "
                                    r"\(it supports metadata.version up to 21, the cluster's nodes up to 27\): "
                                    r"'Upgrade Kafka' only goes forward; use 'Downgrade Kafka    version=3\.9\.1', "
                                    r"possible until 'Finalize Kafka Upgrade'\.$"):
            _require_direction(TO_3_9, {1: node(27, 21), 2: node(21, 21)}, upgrade=True)
        _require_direction(TO_4_1, {1: node(27, 21), 2: node(21, 21)}, upgrade=True)  # half way: goes on

    def test_a_downgrade_past_the_finalized_level(self):
        _require_direction(TO_3_9, {1: node(27, 21), 2: node(27, 21)}, upgrade=False)  # before Finalize: allowed
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Kafka cannot downgrade to 3\.9\.1: the cluster's "
                                    r"finalized metadata.version is 27 \(4\.1\), and 3\.9\.1 knows levels up to 21\. "
                                    r"Kafka goes back only before 'Finalize Kafka Upgrade'"):
            _require_direction(TO_3_9, {1: node(27, 27)}, upgrade=False)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Kafka 4\.1\.1 is newer than the cluster's Kafka 3\.9: "
                                    r"use 'Upgrade Kafka    version=4\.1\.1'\.$"):
            _require_direction(TO_4_1, {1: node(21, 21)}, upgrade=False)

    def test_finalize_before_every_node_runs_the_new_version(self):
        images = {101: TO_4_1.image, 1: TO_4_1.image, 2: TO_3_9.image}
        self.assertEqual(behind_target(TO_4_1, images, {}), ["node 2 (kafka-persistence-library/kafka:3.9.1)"])
        self.assertEqual(behind_target(TO_4_1, {1: TO_4_1.image}, {1: 21}),
                         ["node 1 (it supports metadata.version up to 21)"])  # its image, but not its answer
        self.assertEqual(behind_target(TO_4_1, {1: TO_4_1.image}, {1: 27}), [])

    def test_a_cluster_we_did_not_start(self):
        library = KafkaPersistenceLibrary()
        library.ctx.cluster = Cluster("connected")
        for call in (lambda: library.upgrade_kafka("4.4.0"), lambda: library.downgrade_kafka("3.9.1"),
                     library.finalize_kafka_upgrade):
            with self.subTest(), self.assertRaisesRegex(
                    KafkaPersistenceError, r"^'(Upgrade|Downgrade|Finalize) Kafka( Upgrade)?' re-creates the containers "
                                           r"of a cluster the library started; Kafka was connected with 'Connect Kafka': "
                                           r"upgrade it with its own tooling"):
                call()

    def test_a_bad_version_is_refused_before_the_cluster_is_asked(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid version 'latest'"):
            KafkaPersistenceLibrary().upgrade_kafka("latest")


if __name__ == "__main__":
    unittest.main()
