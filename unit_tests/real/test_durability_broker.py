"""The verdict on real records from a real broker: clean runs pass, real anomalies are caught.

Anomalies are made for real on the broker (records deleted, a payload written
twice, two payloads written in inverted order), never by faking the read-back.
"""

import tempfile
import time
from pathlib import Path
from unittest import mock

from kafka import KafkaAdminClient, KafkaProducer, TopicPartition

from KafkaPersistenceLibrary import KafkaPersistenceError, VerificationFailed
from KafkaPersistenceLibrary.durability import make_payload

from .broker_case import BrokerTestCase


class DurabilityOnRealBrokerTest(BrokerTestCase):
    def history(self, topic):
        return self.library.ctx.runs[topic].history

    def raw_producer(self):
        return KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")

    def test_records_survive_graceful_and_kill_restarts_under_load(self):
        topic = self.topic()
        self.library.create_topic(topic, partitions=3)
        self.library.start_background_producer(topic, rate=500)
        sent = self.library.produce_records(topic + "-sync", 2000, size=64, keys=5)
        self.assertEqual(sent.acknowledged, 2000)
        self.library.restart_broker(mode="graceful")
        self.library.restart_broker(mode="kill")
        counts = self.library.stop_background_producer(topic)
        self.assertGreater(counts.acknowledged, 0)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual(verdict.lost, 0)
        self.assertEqual(verdict.read, verdict.acknowledged + verdict.unknown_read + verdict.failed_but_read)
        self.assertEqual(verdict.duplicated, 0)
        self.assertEqual(len(self.history(topic).faults), 2)
        self.assertEqual(self.library.verify_no_acknowledged_records_lost(topic + "-sync").read, 2000)

    def test_deleted_records_are_reported_lost(self):
        topic = self.topic()
        self.library.produce_records(topic, 10, size=40)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.delete_records({TopicPartition(topic, 0): 3})  # the broker drops offsets 0-2
        finally:
            admin.close()
        with self.assertRaisesRegex(VerificationFailed, r"^FAIL: 3 acknowledged records lost \(first 3: 0, 1, 2\)"):
            self.library.verify_no_acknowledged_records_lost(topic)
        with self.assertRaises(VerificationFailed) as failed:
            self.library.verify_no_acknowledged_records_lost(topic, message="orders lost after the power cut")
        self.assertEqual(str(failed.exception), "orders lost after the power cut", "message= replaces the text")
        self.assertEqual(failed.exception.counts["lost"], 3, "and the counts stay")

    def test_acknowledged_offset_beyond_the_end_is_lost_after_the_timeout(self):
        topic = self.topic()
        self.library.produce_records(topic, 3, size=40)
        history = self.history(topic)
        history.acked(history.new_send(), 0, 50)  # acknowledged at an offset the broker never had
        with self.assertRaisesRegex(VerificationFailed, r"^FAIL: 1 acknowledged records lost \(first 1: 3\)"):
            self.library.verify_no_acknowledged_records_lost(topic, timeout="15s")  # 5 s of a stable end, then lost

    def test_sends_timing_out_bump_the_epoch_and_its_duplicates_are_told_apart(self):
        """librdkafka bumps an idempotent producer's epoch when sends time out; the verdict counts the bumps.

        A broker frozen for twice the producer's 3 s timeout times out every send made meanwhile (found
        in CI: a kill restart slower than the 60 s default made 2,742 records come twice). Duplicates of
        sends outstanding at a bump are reported apart (Kafka cannot deduplicate across epochs); whether
        any occur is timing, so only that nothing is lost and no other duplicate is asserted here."""
        topic = self.topic()
        self.library.create_topic(topic, partitions=3)
        self.library.start_background_producer(topic, rate=500, timeout="3s")
        self.library.produce_records(topic + "-before", 10, size=40)  # the producer runs meanwhile
        self.library.pause_broker()
        time.sleep(6)
        self.library.resume_broker()
        self.library.produce_records(topic + "-after", 10, size=40)
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic, timeline="off")
        self.assertGreater(verdict.unknown, 0, "no send timed out while the broker was frozen")
        self.assertGreater(verdict.epoch_bumps, 0, "librdkafka's bump was not seen in its eos log")
        self.assertEqual((verdict.lost, verdict.duplicated), (0, 0))
        self.assertGreater(len(self.history(topic).reported_after_bump), 0)

    def test_payload_written_twice_is_a_duplicate(self):
        topic = self.topic()
        self.library.produce_records(topic, 5, size=40)
        producer = self.raw_producer()
        producer.send(topic, make_payload(self.history(topic).run_id, 2, 40)).get(timeout=30)
        producer.close()
        twice = r"1 records duplicated despite idempotence \(first 1: 2\)"
        with self.assertRaisesRegex(VerificationFailed, twice) as caught:
            self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual(caught.exception.counts["epoch_bumps"], 0, "nothing timed out: no bump excuses it")
        allowed = self.library.verify_no_acknowledged_records_lost(topic, idempotent=False)
        self.assertEqual((allowed.duplicated, allowed.lost), (1, 0))

    def test_inverted_order_is_an_order_violation(self):
        topic = self.topic()
        self.library.produce_records(topic, 1, size=40)  # creates the run; seq 0 at offset 0
        history = self.history(topic)
        first, second = history.new_send(), history.new_send()  # seqs 1 and 2
        producer = self.raw_producer()
        stored_second = producer.send(topic, make_payload(history.run_id, second, 40)).get(timeout=30)
        stored_first = producer.send(topic, make_payload(history.run_id, first, 40)).get(timeout=30)
        producer.close()
        history.acked(first, stored_first.partition, stored_first.offset)
        history.acked(second, stored_second.partition, stored_second.offset)
        with self.assertRaisesRegex(VerificationFailed, r"order violations"):
            self.library.verify_no_acknowledged_records_lost(topic)

    def test_unknown_outcomes_are_reported_not_failed(self):
        topic = self.topic()
        self.library.produce_records(topic, 3, size=40)
        history = self.history(topic)
        written, never = history.new_send(), history.new_send()
        producer = self.raw_producer()
        producer.send(topic, make_payload(history.run_id, written, 40)).get(timeout=30)
        producer.close()
        history.unknown(written)
        history.unknown(never)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((verdict.unknown, verdict.unknown_read, verdict.lost), (2, 1, 0))

    def test_foreign_records_are_ignored(self):
        topic = self.topic()
        self.library.produce_message(topic, "written by someone else")
        self.library.produce_records(topic, 4, size=40)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((verdict.foreign, verdict.read), (1, 4))

    def test_timeline_as_a_file_beside_the_log(self):
        topic = self.topic()
        self.library.produce_records(topic, 100)
        with tempfile.TemporaryDirectory() as directory, mock.patch("os.getcwd", return_value=directory):
            self.library.verify_no_acknowledged_records_lost(topic, timeline="file")
            pictures = list(Path(directory).glob(f"kpl-timeline-{topic}-*.png"))
            self.assertEqual(len(pictures), 1)
            self.assertEqual(pictures[0].read_bytes()[:8], b"\x89PNG\r\n\x1a\n")

    def test_nothing_to_verify(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Nothing was produced to 'never-used'"):
            self.library.verify_no_acknowledged_records_lost("never-used")

    def test_verify_while_the_background_producer_runs(self):
        topic = self.topic()
        self.library.start_background_producer(topic, rate=100)
        try:
            with self.assertRaisesRegex(KafkaPersistenceError, rf"^The background producer of '{topic}' still runs"):
                self.library.verify_no_acknowledged_records_lost(topic)
        finally:
            self.library.stop_background_producer(topic)
        self.assertEqual(self.library.verify_no_acknowledged_records_lost(topic).lost, 0)
