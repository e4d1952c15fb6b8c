"""Disk fault mistakes, each one line before any Docker call (issue 20): the argument checks and what a cluster
without the disk fault layer, or one the library did not start, is told."""

import unittest
from datetime import timedelta

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.faults.fault import Need
from KafkaPersistenceLibrary.faults.kinds.disk import DiskState, delay_us, operations
from KafkaPersistenceLibrary.keywords.lifecycle import _cluster_spec


class StandIn:
    """What the disk keywords ask of a cluster, without containers behind it."""

    network_name, description, single_node = "kpl-net", "Kafka cluster kpl-1", True

    def __init__(self, disk: str = "faulty", network_name: "str | None" = "kpl-net"):
        self.disk, self.network_name, self.disks, self.nodes = disk, network_name, {}, {}
        self.description = "the cluster at 127.0.0.1:9092" if network_name is None else "Kafka cluster kpl-1"

    def down_node(self):
        return None

    def remove(self) -> list[str]:
        return []


def library_on(cluster) -> KafkaPersistenceLibrary:
    library = KafkaPersistenceLibrary()
    library.ctx.cluster = cluster
    return library


class DiskArgumentsTest(unittest.TestCase):
    def test_start_kafka_disk_choices(self):
        self.assertEqual(_cluster_spec(1, None, False, "plaintext", {}, disk="Lying").options.disk, "lying")
        self.assertEqual(_cluster_spec(1, None, False, "plaintext", {}).options.disk, "")
        self.assertTrue(_cluster_spec(1, None, False, "plaintext", {}, disk="faulty").options.volatile)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid disk 'ssd': use one of plain, faulty, lying\.$"):
            _cluster_spec(1, None, False, "plaintext", {}, disk="ssd")

    def test_clock_skew_refuses_the_volatile_filesystem(self):
        for power_loss, disk in ((True, "plain"), (False, "faulty"), (False, "lying")):
            with self.assertRaisesRegex(KafkaPersistenceError, r"^clock_skew=True cannot be combined with "
                                                               r"power_loss=True or disk=faulty\|lying"):
                _cluster_spec(1, None, power_loss, "plaintext", {}, clock_skew=True, disk=disk)
        self.assertTrue(_cluster_spec(1, None, False, "plaintext", {}, clock_skew=True).options.clock_skew)

    def test_operations(self):
        self.assertEqual(operations("write|FSYNC"), {"write", "fsync"})
        self.assertEqual(operations("read,all"), {"all"})
        for wrong in ("erase", "write|erase", "|"):
            with self.subTest(operations=wrong), self.assertRaisesRegex(
                    KafkaPersistenceError, r"^Invalid operation '[^']*': use one of write, read, fsync, all\.$"):
                operations(wrong)

    def test_delays(self):
        self.assertEqual(delay_us("200 ms", "fsync"), 200_000)
        self.assertEqual(delay_us(timedelta(milliseconds=5), "write"), 5_000)
        for wrong, shown in (("-1s", "-1s"), (timedelta(seconds=-1), "-1s"), ("0", "0s"), ("2 min", "120s")):
            with self.subTest(delay=wrong), self.assertRaisesRegex(
                    KafkaPersistenceError, rf"^Invalid fsync '{shown}': use a duration above 0 and at most 60 s per "
                                           r"call, like 200ms \(a disk slower than that is a failed one: 'Fail Disk'\)\.$"):
                delay_us(wrong, "fsync")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid write 'soon': use a duration like 200ms or 1s\.$"):
            delay_us("soon", "write")

    def test_the_control_line(self):
        self.assertEqual(DiskState().text(), "")
        self.assertEqual(DiskState(True, frozenset({"write", "fsync"}), 5000, 200_000).text(),
                         "full eio=fsync,write write_delay_us=5000 fsync_delay_us=200000")

    def test_a_cluster_without_the_disk_fault_layer(self):
        library = library_on(StandIn(disk=""))
        for call in (lambda: library.fill_disk(), lambda: library.fail_disk(), lambda: library.repair_disk(),
                     lambda: library.slow_down_disk(fsync="200ms"), lambda: library.free_disk()):
            with self.assertRaisesRegex(
                    KafkaPersistenceError,
                    r"^'[A-Za-z ]+' cannot work here: its log directories must be on the disk fault layer: start "
                    r"Kafka with 'Start Kafka    disk=faulty' \(or disk=lying\); power_loss=True alone does not add "
                    r"it\.$"):
                call()

    def test_a_cluster_the_library_did_not_start(self):
        library = library_on(StandIn(disk="", network_name=None))
        with self.assertRaisesRegex(
                KafkaPersistenceError,
                r"^'Fail Disk' cannot work here: it needs a cluster the library started with 'Start Kafka    "
                r"disk=faulty', and the cluster at 127\.0\.0\.1:9092 is not one\.$"):
            library.fail_disk(broker=1)
        self.assertIn("is not one", Need.DISK.why_not(StandIn(network_name=None)))

    def test_repair_disk_with_nothing_failed(self):
        library = library_on(StandIn())
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^No disk is failing: 'Repair Disk' undoes what 'Fail Disk' did\.$"):
            library.repair_disk()
        self.assertEqual(library.free_disk().nodes, [], "Free Disk and Restore Disk with nothing to undo do nothing")
        self.assertEqual(library.restore_disk().nodes, [])

    def test_slow_down_disk_needs_a_delay(self):
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^'Slow Down Disk' needs fsync= \(like 200ms\), write= or both\.$"):
            library_on(StandIn()).slow_down_disk()


if __name__ == "__main__":
    unittest.main()
