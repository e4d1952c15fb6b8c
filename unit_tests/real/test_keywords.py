"""Every keyword against a real broker in a real container."""

import gc
import socket
import subprocess
import sys
import time
import unittest
import warnings
from pathlib import Path

import docker
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from KafkaPersistenceLibrary import KafkaPersistenceError, VerificationFailed
from KafkaPersistenceLibrary.broker.labels import LABEL

from .broker_case import BrokerTestCase


def forget_frozen_producer_sockets() -> None:
    """kafka-python 3.0.12 does not close its producer's wake-up sockets when close() gives up on a
    frozen broker (it force-closes the sender and stops there); collect them now, quietly, instead of
    letting a later test print their ResourceWarnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


class MessageKeywordsTest(BrokerTestCase):
    def test_start_kafka_returns_loopback_address_that_answers(self):
        host, port = self.bootstrap.split(":")
        self.assertEqual(host, "127.0.0.1")
        with socket.create_connection((host, int(port)), timeout=5):
            pass
        self.assertEqual(self.library.get_bootstrap_servers(), self.bootstrap)

    def test_start_kafka_twice_reuses_the_running_broker(self):
        self.assertEqual(self.library.start_kafka(), self.bootstrap)

    def test_start_kafka_twice_with_other_settings_says_stop_first(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"already running .* call 'Stop Kafka' first"):
            self.library.start_kafka(**{"log.flush.interval.messages": "1"})

    def test_produce_returns_partition_and_offset(self):
        topic = self.topic()
        first = self.library.produce_message(topic, "one")
        second = self.library.produce_message(topic, "two")
        self.assertEqual((first.partition, first.offset), (0, 0))
        self.assertEqual((second.partition, second.offset), (0, 1))
        self.library.consume_should_equal(topic, "one", "two")

    def test_keys_headers_bytes_and_partition_round_trip(self):
        topic = self.topic()
        self.library.create_topic(topic, partitions=3)
        stored = self.library.produce_message(topic, b"\xff\x00raw", key="k1", headers={"source": "robot"},
                                              partition=2)
        self.assertEqual(stored.partition, 2)
        records = self.library.read_messages(topic)
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0].value, b"\xff\x00raw")
        self.assertEqual(records[0].key, "k1")
        self.assertEqual(records[0].headers, {"source": "robot"})
        self.assertEqual((records[0].partition, records[0].offset), (2, 0))
        self.library.consume_should_equal(topic, b"\xff\x00raw")

    def test_consume_should_equal_can_be_repeated(self):
        topic = self.topic()
        self.library.produce_message(topic, "same")
        for _ in range(3):
            self.library.consume_should_equal(topic, "same")

    def test_consume_on_missing_topic_fails_after_timeout_and_does_not_create_it(self):
        topic = self.topic()
        with self.assertRaisesRegex(VerificationFailed, rf"Topic '{topic}' does not exist; expected 1 record"):
            self.library.consume_should_equal(topic, "x", timeout="1s")
        with self.assertRaisesRegex(KafkaPersistenceError, "does not exist"):
            self.library.read_messages(topic)

    def test_consume_on_empty_topic_says_empty(self):
        topic = self.topic()
        self.library.create_topic(topic)
        with self.assertRaisesRegex(VerificationFailed, rf"Topic '{topic}' is empty; expected 2 record\(s\): 'a', 'b'"):
            self.library.consume_should_equal(topic, "a", "b", timeout="1s")
        self.assertEqual(self.library.read_messages(topic), [])

    def test_consume_with_too_few_too_many_and_different_records(self):
        topic = self.topic()
        for value in ("a", "b"):
            self.library.produce_message(topic, value)
        with self.assertRaisesRegex(VerificationFailed, r"holds 2 record\(s\), expected 3:[\s\S]*#2  missing   "
                                                        r"expected 'c'"):
            self.library.consume_should_equal(topic, "a", "b", "c", timeout="1s")
        with self.assertRaisesRegex(VerificationFailed, r"holds 2 record\(s\), expected 1:[\s\S]*#1  extra     "
                                                        r"found 'b' at partition 0 offset 1"):
            self.library.consume_should_equal(topic, "a", timeout="1s")
        with self.assertRaisesRegex(VerificationFailed, r"#1  differs   expected 'x', found 'b' at partition 0 offset 1"):
            self.library.consume_should_equal(topic, "a", "x", timeout="1s")

    def test_value_larger_than_the_broker_accepts(self):
        topic = self.topic()
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"Record of 2097152 bytes to topic .* larger than the broker accepts"):
            self.library.produce_message(topic, b"x" * 2 * 1024 * 1024)
        self.library.produce_message(topic, "small still works")
        self.library.consume_should_equal(topic, "small still works")

    def test_partition_that_does_not_exist(self):
        topic = self.topic()
        self.library.create_topic(topic, partitions=1)
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    rf"^Cannot send to topic '{topic}': Unrecognized partition 5 .*create it with more"):
            self.library.produce_message(topic, "v", partition=5)

    def test_tombstones_are_sent_and_expected(self):
        topic = self.topic()
        self.library.produce_message(topic, "v1", key="k1")
        stored = self.library.produce_message(topic, None, key="k1")
        self.assertEqual(stored.offset, 1)
        self.library.consume_should_equal(topic, "v1", None)
        self.assertIsNone(self.library.read_messages(topic)[1].value)
        with self.assertRaisesRegex(VerificationFailed, r"#1  differs   expected 'None', found None"):
            self.library.consume_should_equal(topic, "v1", "None", timeout="1s")

    def test_a_record_needs_a_key_or_a_value(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^A record to topic 't' needs a key or a value: a null "
                                                           r"value \(a tombstone\) deletes the records of its key"):
            self.library.produce_message("t", None)

    def test_compacted_topic_needs_keys(self):
        topic = self.topic()
        self.library.create_topic(topic, **{"cleanup.policy": "compact"})
        with self.assertRaisesRegex(KafkaPersistenceError, rf"^Record to topic '{topic}' was refused: the topic is "
                                                           r"compacted \(cleanup.policy=compact\), so every record "
                                                           r"needs a key: give key=\.\.\.$"):
            self.library.produce_message(topic, "no key")
        self.library.produce_message(topic, "keyed", key="k")

    def test_bad_topic_config_leads_with_the_brokers_reason(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Creating topic 'bad-config' failed: Invalid value abc "
                                                           r"for configuration retention.ms: Not a number of type LONG "
                                                           r"\(InvalidConfigurationError\)$"):
            self.library.create_topic("bad-config", **{"retention.ms": "abc"})

    def test_create_topic_twice(self):
        topic = self.topic()
        self.library.create_topic(topic)
        with self.assertRaisesRegex(KafkaPersistenceError, rf"^Topic '{topic}' already exists: use a new name"):
            self.library.create_topic(topic)

    def test_broker_logs(self):
        self.assertIn("Kafka Server started", self.library.get_broker_logs())
        self.assertLessEqual(len(self.library.get_broker_logs(tail=5).splitlines()), 5)

    def test_container_is_labelled_for_the_sweep(self):
        client = docker.from_env()
        names = [c.name for c in client.containers.list(filters={"label": LABEL})]
        self.assertIn(self.node().name, names)


class RestartTest(BrokerTestCase):
    def test_graceful_restart_keeps_data_and_reports_timings(self):
        topic = self.topic()
        self.library.produce_message(topic, "Persistent Message")
        node = self.node()
        container_id = node.state() and node._container.id
        report = self.library.restart_broker("graceful")
        self.assertEqual(self.node()._container.id, container_id, "restart must keep the same container")
        self.assertEqual(report.node, 1)
        self.assertTrue(report.clean_shutdown, report)
        self.assertGreater(report.recovery, 0)
        self.assertGreaterEqual(report.downtime, report.recovery)
        self.library.consume_should_equal(topic, "Persistent Message")

    def test_kill_restart_keeps_acknowledged_data(self):
        topic = self.topic()
        for i in range(20):
            self.library.produce_message(topic, f"m{i}", key=f"k{i % 3}")
        report = self.library.restart_broker("kill", downtime="2s")
        self.assertEqual(report.exit_code, 137)
        self.assertFalse(report.clean_shutdown)
        self.assertGreaterEqual(report.downtime, 2.0)
        self.library.consume_should_equal(topic, *[f"m{i}" for i in range(20)])
        after = self.library.produce_message(topic, "after kill")
        self.assertEqual(after.offset, 20)

    def test_produce_to_a_frozen_broker_fails_in_time_and_nothing_is_lost(self):
        topic = self.topic()
        self.library.produce_message(topic, "before the freeze")
        self.library.pause_broker()  # SIGSTOP-like: the broker holds the connection but answers nothing
        try:
            with self.assertRaisesRegex(KafkaPersistenceError,
                                        rf"^Record to topic '{topic}' was not acknowledged within 3 s"):
                self.library.produce_message(topic, "into the void", timeout="3s")
        finally:
            self.library.resume_broker()
            forget_frozen_producer_sockets()
        self.library.produce_message(topic, "after the thaw")
        records = [r.value for r in self.library.read_messages(topic)]
        self.assertEqual(records[0], "before the freeze")
        self.assertEqual(records[-1], "after the thaw")

    def test_each_produce_gets_its_own_timeout(self):
        """The producer is kept between calls, but a later call's timeout is that call's, not the first one's."""
        topic = self.topic()
        self.library.produce_message(topic, "first", timeout="3s")
        self.library.pause_broker()
        try:
            started = time.monotonic()
            with self.assertRaisesRegex(KafkaPersistenceError, r"not acknowledged within 6 s"):
                self.library.produce_message(topic, "waits longer", timeout="6s")
            self.assertGreaterEqual(time.monotonic() - started, 5.5)
        finally:
            self.library.resume_broker()
            forget_frozen_producer_sockets()

    def test_a_port_taken_while_the_broker_is_down_is_named(self):
        self.library.stop_broker()
        port = int(self.bootstrap.split(":")[1])
        squatter = socket.socket()
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the broker's old connections linger
        try:
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            with self.assertRaisesRegex(KafkaPersistenceError, rf"^Docker could not start kpl-\w+-1 again on "
                                                               rf"127\.0\.0\.1:{port}: .*Another process took the port"):
                self.library.start_broker()
        finally:
            squatter.close()
            if self.node().expected == "stopped":
                self.library.start_broker()
        self.library.produce_message(self.topic(), "back on its port")

    def test_raw_client_address_survives_three_restarts(self):
        topic = self.topic()
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        try:
            producer.send(topic, b"before").get(timeout=30)
            for mode in ("graceful", "kill", "graceful"):
                self.library.restart_broker(mode=mode)
                producer.send(topic, f"after {mode}".encode()).get(timeout=30)
        finally:
            producer.close()
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False)
        try:
            partition = TopicPartition(topic, 0)
            consumer.assign([partition])
            consumer.seek_to_beginning(partition)
            values = []
            for _ in range(50):
                for messages in consumer.poll(timeout_ms=500).values():
                    values.extend(m.value for m in messages)
                if len(values) >= 4:
                    break
        finally:
            consumer.close()
        self.assertEqual(values, [b"before", b"after graceful", b"after kill", b"after graceful"])
        self.assertEqual(self.library.get_bootstrap_servers(), self.bootstrap)


FAILED_SEND_THEN_EXIT = """
from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
library = KafkaPersistenceLibrary()
library.start_kafka()
try:
    library.produce_message("console", "x" * 2_097_152)
except KafkaPersistenceError as refused:
    print("refused:", refused)
library.pause_broker()
try:
    library.produce_message("console", "while frozen", timeout="2s")
except KafkaPersistenceError as timed_out:
    print("timed out:", timed_out)
library.resume_broker()
library.produce_message("console", "small")
library.stop_kafka()
"""


class ConsoleTest(unittest.TestCase):
    def test_a_failed_send_leaves_no_traceback_on_the_console(self):
        """Failed sends (refused, timed out on a frozen broker) and the producers given up on leave a clean console."""
        done = subprocess.run([sys.executable, "-W", "default", "-c", FAILED_SEND_THEN_EXIT], capture_output=True,
                              text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertIn("refused: Record of 2097152 bytes", done.stdout)
        self.assertIn("timed out: Record to topic 'console' was not acknowledged within 2 s", done.stdout)
        for noise in ("Traceback", "__del__", "ResourceWarning"):
            self.assertNotIn(noise, done.stderr, done.stderr[-2000:])


if __name__ == "__main__":
    unittest.main()
