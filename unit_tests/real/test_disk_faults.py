"""The disk as a fault (issue 20), against real brokers on volatilefs: full, failing, slow and lying disks.

Measured on Kafka 4.1.1, and asserted every time: a failed write (EIO) or a full disk
(ENOSPC) makes the broker take its log directory offline ("Stopping serving replicas
in dir ... because the log directory has failed"); it is the broker's only log
directory, so the broker then halts ("Shutdown broker because all log dirs ... have
failed", exit code 1). Another replica leads within seconds and nothing acknowledged
with acks=all is lost.
"""

import time
import types
import unittest
import uuid

from KafkaPersistenceLibrary import KafkaPersistenceLibrary, VerificationFailed
from KafkaPersistenceLibrary.durability.history import ACKED
from KafkaPersistenceLibrary.durability.verdict import fault_figures
from KafkaPersistenceLibrary.faults.kinds.disk import CONTROL_FILE
from KafkaPersistenceLibrary.keywords.disk_faults import undo_every_disk_fault
from unit_tests.real.broker_case import ClusterTestCase

OFFLINE = "Stopping serving replicas in dir /var/lib/kafka/data with uuid"
HALT = "Shutdown broker because all log dirs in /var/lib/kafka/data have failed"
WAIT_SECONDS = 60  # for Kafka to notice the disk and for the controller to move leadership, on a loaded machine


def wait_for(what: str, probe, timeout: float = WAIT_SECONDS):
    """Poll ``probe`` until it returns something true; fail naming ``what`` and the last thing it returned."""
    deadline, seen = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        seen = probe()
        if seen:
            return seen
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout:g} s; last seen: {seen!r}")


class DiskFaultsTest(ClusterTestCase):
    """3 brokers on the disk fault layer, RF 3, min ISR 2, an acks=all background producer per test."""

    START = {"brokers": 3, "disk": "faulty"}

    def setUp(self):
        super().setUp()
        self.addCleanup(lambda: undo_every_disk_fault(self.library.ctx.cluster))  # before the nodes start again

    def producing(self, rate: int = 300, **config) -> str:
        topic = self.topic(**{"min.insync.replicas": "2", **config})
        self.library.wait_until_replicas_in_sync(topic)
        self.library.start_background_producer(topic, rate=rate)
        history = self.library.ctx.runs[topic].history
        wait_for("the first 100 acknowledgements", lambda: history.count(ACKED) >= 100)
        return topic

    def assert_log_directory_offline_then_halt(self, topic: str, node_id: int, cause: str):
        """Kafka's documented reaction, read from the cluster's metadata, the container and the broker's log."""
        state = wait_for(f"a leader other than node {node_id}, without it in the ISR", lambda: (
            lambda s: s if s.leader not in (-1, node_id) and node_id not in s.isr else None)(
            self.library.get_partition_state(topic)))
        self.assertIn(state.leader, {1, 2, 3} - {node_id})
        node = self.node(node_id)
        exited = wait_for(f"node {node_id} halting", lambda: (lambda s: s if s.status == "exited" else None)(
            node.state()))
        self.assertEqual(exited.exit_code, 1, "Exit.halt(1)")
        logs = node.logs()
        self.assertIn(cause, logs)
        self.assertIn(OFFLINE, logs)
        self.assertIn(HALT, logs)
        self.assertLess(logs.index(OFFLINE), logs.index(HALT), "the directory goes offline first, then the broker")
        return state

    def test_a_failed_disk_takes_the_log_directory_offline_and_nothing_acknowledged_is_lost(self):
        topic = self.producing()
        failed = self.library.fail_disk(broker="leader", topic=topic)
        self.assertEqual(failed.operations, "all")
        self.assert_log_directory_offline_then_halt(topic, failed.node, "java.io.IOException: Input/output error")
        self.library.repair_disk()
        self.library.start_broker(broker=failed.node)
        self.library.wait_until_replicas_in_sync(topic, timeout="90s")
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual(verdict.lost, 0)
        self.assertGreater(verdict.acknowledged, 100)

    def test_a_full_disk_takes_the_log_directory_offline_too_and_the_timeline_shows_the_window(self):
        topic = self.producing()
        full = self.library.fill_disk(broker="leader", topic=topic)
        self.assert_log_directory_offline_then_halt(topic, full.node, "java.io.IOException: No space left on device")
        self.library.free_disk()
        self.library.start_broker(broker=full.node)
        self.library.wait_until_replicas_in_sync(topic, timeout="90s")
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual(verdict.lost, 0)
        (window,) = [row for row in fault_figures(self.library.ctx.runs[topic].history)
                     if row["kind"].startswith("disk-full")]
        self.assertEqual(window["kind"], f"disk-full disk of node {full.node}: full")
        self.assertLess(window["down_at"], window["up_at"], "the window from Fill Disk to Free Disk")

    def test_a_slow_fsync_slows_flush_per_message_producers_and_loses_nothing(self):
        topic = self.producing(rate=200, **{"flush.messages": "1"})
        time.sleep(3)  # the baseline
        slowed = self.library.slow_down_disk(broker="leader", topic=topic, fsync="200ms")
        self.assertEqual((slowed.fsync, slowed.write), (0.2, 0.0))
        time.sleep(6)
        self.library.restore_disk()
        time.sleep(3)
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual(verdict.lost, 0)
        rows = {row["kind"].split(" ")[0]: row for row in fault_figures(self.library.ctx.runs[topic].history)}
        during, outside = rows["disk-slow"], rows["outside"]
        # Every append waits one 200 ms fsync under the partition's lock before its ack: the median ack waits at
        # least that long, and longer than outside the fault (by how much depends on the machine's load).
        self.assertGreaterEqual(during["latency_p50"], 0.2, rows)
        self.assertGreater(during["latency_p50"], outside["latency_p50"], rows)

    def test_disk_faults_survive_a_restart_of_the_node_and_go_with_the_failed_test(self):
        """A broken disk stays broken across a reboot; the listener heals the disks a failed test left."""
        self.library.slow_down_disk(broker=2, write="1ms")
        self.library.restart_broker(broker=2)
        node = self.node(2)
        self.assertIn("write_delay_us=1000", node.exec(["cat", CONTROL_FILE + ".applied"])[1],
                      "volatilefs read the faults again at its mount")
        self.library.end_test(None, types.SimpleNamespace(failed=True, name="a failed test"))
        self.assertEqual(node.exec(["cat", CONTROL_FILE + ".applied"])[1].strip(), "", "a healthy disk")
        self.assertEqual(self.library.ctx.cluster.disks, {})


class LyingDiskTest(unittest.TestCase):
    """One broker, flush.messages=1, a power cut: an honest disk keeps every record, a lying one loses them."""

    def power_cut(self, disk: str, settle: float) -> tuple[KafkaPersistenceLibrary, str]:
        library = KafkaPersistenceLibrary()
        self.addCleanup(library.stop_kafka)
        library.start_kafka(disk=disk, **{"log.flush.interval.messages": "1"})
        topic = f"{disk}-{uuid.uuid4().hex[:6]}"
        library.create_topic(topic)
        # The lying disk's cache writes back what is 5 s old: the topic's files reach its platters first, as they
        # would on a real disk long before a power cut (without them Kafka 4.1.1 cannot start: README, Disk faults).
        # An honest disk has no cache of its own: nothing to wait for.
        time.sleep(settle)
        started = time.monotonic()
        library.produce_records(topic, 300)
        self.assertLess(time.monotonic() - started, 4.5, "all 300 sent and acknowledged within the cache's 5 s")
        restart = library.restart_broker(mode="power-loss")
        self.assertEqual(restart.exit_code, 137)
        return library, topic

    def test_an_honest_disk_keeps_every_record_fsynced_before_a_power_cut(self):
        library, topic = self.power_cut("faulty", settle=0)
        self.assertEqual(library.verify_no_acknowledged_records_lost(topic).lost, 0)

    def test_the_verdict_catches_a_disk_that_lies_about_fsync(self):
        library, topic = self.power_cut("lying", settle=6.5)
        with self.assertRaisesRegex(VerificationFailed, r"^FAIL: 300 acknowledged records lost") as failed:
            library.verify_no_acknowledged_records_lost(topic, timeout="30s")
        self.assertEqual(failed.exception.counts["lost"], 300)
        self.assertEqual(failed.exception.counts["acknowledged"], 300)


if __name__ == "__main__":
    unittest.main()
