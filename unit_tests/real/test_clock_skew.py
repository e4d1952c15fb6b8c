"""The verdict catches a clock jump (issue 21, case 3): one broker whose wall clock jumps 8 days forward.

Time-based retention (retention.ms of 7 days) then deletes records it acknowledged
minutes ago, and the verdict fails and counts them; with retention.ms=-1 the same
jump loses nothing. The retention check runs every 500 ms (log.initial.task.delay.ms
0), and libfaketime re-reads the offset within a second, so a few seconds decide.
"""

import time
import unittest

import confluent_kafka

from KafkaPersistenceLibrary import KafkaPersistenceError, VerificationFailed
from KafkaPersistenceLibrary.durability.verdict import fault_figures

from .broker_case import BrokerTestCase

WEEK_MS = 7 * 24 * 3600 * 1000
RECORDS = 200
SETTLE_SECONDS = 8  # many retention checks after the jump


class ClockSkewTest(BrokerTestCase):
    START = {"clock_skew": True, "log.retention.check.interval.ms": "500", "log.initial.task.delay.ms": "0"}

    def setUp(self):
        self.addCleanup(self.library.restore_clock)

    def jump_a_week_and_a_day(self, retention_ms: str) -> str:
        topic = self.topic()
        self.library.create_topic(topic, **{"retention.ms": retention_ms})
        self.library.produce_records(topic, RECORDS)
        skewed = self.library.skew_clock(by="+8d")
        self.assertEqual(skewed.by, 8 * 86400)
        time.sleep(SETTLE_SECONDS)
        return topic

    def test_retention_after_a_jump_deletes_acknowledged_records_and_the_verdict_counts_them(self):
        topic = self.jump_a_week_and_a_day(str(WEEK_MS))
        self.assertEqual(self.log_start(topic), RECORDS, "retention deleted every record")
        with self.assertRaisesRegex(VerificationFailed, rf"^FAIL: {RECORDS} acknowledged records lost") as failed:
            self.library.verify_no_acknowledged_records_lost(topic, timeout="20s")
        self.assertEqual(failed.exception.counts["lost"], RECORDS)
        faults = self.library.ctx.runs[topic].history.faults
        self.assertEqual([(f.kind, f.target) for f in faults], [("clock", "node 1 by +8d")])

    def test_the_same_jump_without_time_retention_loses_nothing(self):
        topic = self.jump_a_week_and_a_day("-1")
        self.assertEqual(self.log_start(topic), 0)
        verdict = self.library.verify_no_acknowledged_records_lost(topic, timeout="20s")
        self.assertEqual((verdict.acknowledged, verdict.lost), (RECORDS, 0))

    def test_the_clock_moves_and_comes_back(self):
        node = self.node()
        self.assertIn("libfaketime", broker_environment(node).get("LD_PRELOAD", ""))
        print(f"\nstarted with clock_skew in {self.library.ctx.cluster.started_in_seconds:.1f} s")
        self.library.skew_clock(by="-2h")
        time.sleep(1.5)
        code, output = node.exec(["sh", "-c", "cat /tmp/kpl-clock"])
        self.assertEqual((code, output.strip()), (0, "-7200"))
        self.assertEqual(self.library.restore_clock().nodes, [1])
        self.assertNotEqual(node.exec(["sh", "-c", "test -e /tmp/kpl-clock"])[0], 0, "the clock file is gone")
        self.assertEqual(self.library.restore_clock().nodes, [])

    def log_start(self, topic: str) -> int:
        consumer = confluent_kafka.Consumer({"bootstrap.servers": self.bootstrap, "group.id": "kpl-clock-test"})
        try:
            return consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=10)[0]
        finally:
            consumer.close()


class BackwardsJumpTest(BrokerTestCase):
    """Case 4: a clock 2 h behind on the active controller, then on the leader, under an acks=all producer.

    Measured (Kafka 4.1.1): the controller's jump changes nothing seen from the producer (KRaft's
    sessions and heartbeats run on the monotonic clock); the leader's makes it refuse every record
    (InvalidTimestampException: a CreateTime more than log.message.timestamp.after.max.ms, 1 h, ahead
    of its clock), so sends fail and nothing is acknowledged. Asserted: what holds every time.
    """

    START = {"brokers": 3, "clock_skew": True}

    def setUp(self):
        self.addCleanup(self.library.restore_clock)

    def test_a_clock_jumping_back_loses_nothing_and_a_leader_behind_refuses_writes(self):
        topic = self.topic()
        self.library.create_topic(topic, **{"min.insync.replicas": "2"})
        self.library.produce_records(topic, 100)
        self.library.wait_until_replicas_in_sync(topic)
        self.library.start_background_producer(topic, rate=200)
        time.sleep(3)
        self.library.skew_clock(broker="controller", by="-2h")
        time.sleep(10)
        self.library.restore_clock()
        self.library.skew_clock(broker="leader", topic=topic, by="-2h")
        time.sleep(3)
        with self.assertRaisesRegex(KafkaPersistenceError, r"InvalidTimestamp"):
            self.library.produce_message(topic, "while the leader is 2 h behind", timeout="10s")
        self.library.restore_clock()
        time.sleep(3)
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((verdict.lost, verdict.duplicated, verdict.order_violations), (0, 0, 0))
        controller, leader = fault_figures(self.library.ctx.runs[topic].history)[:2]
        self.assertGreater(controller["throughput"], 0, "acks went on while the controller was 2 h behind")
        print(f"\ncontroller 2 h behind: {controller['throughput']:.0f} acks/s, longest gap {controller['gap']:.2f} s; "
              f"leader 2 h behind: {leader['throughput']:.0f} acks/s, longest gap {leader['gap']:.2f} s; "
              f"{verdict.failed} sends failed, 0 lost")


def broker_environment(node) -> dict[str, str]:
    """The environment the broker's JVM (PID 1, appuser: root in the container may not read it) was started with."""
    result = node._container.exec_run(["cat", "/proc/1/environ"], user="appuser")
    output = result.output.decode("utf-8", "replace") if result.exit_code == 0 else ""
    return dict(item.split("=", 1) for item in output.split("\0") if "=" in item)


class WithoutClockSkewTest(BrokerTestCase):
    def test_a_cluster_started_without_it_cannot_skew(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^This cluster cannot make clock faults: its clock must "
                                                           r"be started to jump: 'Start Kafka    clock_skew=True'"):
            self.library.skew_clock(by="+1d")
        self.assertNotIn("LD_PRELOAD", broker_environment(self.node()), "nodes that never skew run without it")
        print(f"\nstarted without clock_skew in {self.library.ctx.cluster.started_in_seconds:.1f} s")


if __name__ == "__main__":
    unittest.main()
