"""Skew Clock's values and refusals, without Docker (issue 21)."""

import re
import unittest

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.cluster import Cluster
from KafkaPersistenceLibrary.faults.kinds import clock


class ClockValuesTest(unittest.TestCase):
    def test_offsets(self):
        self.assertEqual(clock.offset("+8d"), "+691200")
        self.assertEqual(clock.offset("-2h"), "-7200")
        self.assertEqual(clock.offset(" +90S "), "+90")
        for bad in ("banana", "8d", "+8", "+0d", "+8w", ""):
            with self.subTest(bad=bad), self.assertRaisesRegex(
                    KafkaPersistenceError, rf"^Invalid by '{re.escape(bad)}': give a signed jump with a unit, "
                                           r"like \+8d, -2h or \+90s \(s, m, h, d, y\)\.$"):
                clock.offset(bad)

    def test_by_is_checked_before_anything_starts(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid by 'banana': "):
            KafkaPersistenceLibrary().skew_clock(by="banana")

    def test_a_cluster_the_library_did_not_start(self):
        library = KafkaPersistenceLibrary()
        cluster = Cluster("theirs")
        cluster.description = "the cluster at 10.1.1.1:9092"
        library.ctx.cluster = cluster
        with self.assertRaisesRegex(KafkaPersistenceError, r"^This cluster cannot make clock faults: its clock must "
                                                           r"be started to jump: 'Start Kafka    clock_skew=True' "
                                                           r"\(only on clusters the library starts; the cluster at "
                                                           r"10\.1\.1\.1:9092 was started without it\)\.$"):
            library.skew_clock(by="+8d")
        self.assertEqual(library.restore_clock().nodes, [])

    def test_an_image_without_libfaketime(self):
        class Official:
            node_id, image = 1, "apache/kafka:4.1.1"

            @staticmethod
            def exec(command):
                return 2, "ls: cannot access '/usr/lib/*/faketime/libfaketime.so.1': No such file or directory"

        with self.assertRaisesRegex(KafkaPersistenceError, r"^Node 1 \(apache/kafka:4\.1\.1\) has no libfaketime: Skew "
                                                           r"Clock needs our image \(kafka-persistence-library/kafka"):
            clock.skew(Official(), "+691200")


if __name__ == "__main__":
    unittest.main()
