"""Transactions against real brokers (issue 18): the reader's isolation levels, then the producer verdict."""

import time
import uuid

from confluent_kafka import Producer

from KafkaPersistenceLibrary.clients.reader import READ_COMMITTED, READ_UNCOMMITTED, read_topic
from KafkaPersistenceLibrary.durability.history import ACKED
from KafkaPersistenceLibrary.errors import KafkaPersistenceError, VerificationFailed
from unit_tests.real.broker_case import BrokerTestCase


class Transactions(BrokerTestCase):
    """One broker with power_loss=True, shared: read_topic's isolation levels, aborted reads caught (case 4),
    a power cut during committed transactions (case 5). Case 1 (leader and coordinator kills on three
    brokers) is in robot_tests/transactions.robot."""

    START = {"power_loss": True}

    def topic(self, **config) -> str:
        name = super().topic()
        self.library.create_topic(name, **config)
        return name

    def test_read_committed_ends_at_markers_and_waits_for_open_transactions(self):
        topic = self.topic()
        producer = Producer(self.library.ctx.cluster.connection.librdkafka({
            "transactional.id": f"reader-{uuid.uuid4().hex[:8]}", "transaction.timeout.ms": 60000, "log_level": 0}))
        self.addCleanup(producer.flush, 5)
        producer.init_transactions(30)
        self._transaction(producer, topic, [b"c1", b"c2", b"c3"], commit=True)
        self._transaction(producer, topic, [b"a1", b"a2"], commit=False)  # the log ends with an abort marker

        connection = self.library.ctx.cluster.connection
        self.assertEqual([r.value for r in read_topic(connection, topic, 20, READ_COMMITTED)], [b"c1", b"c2", b"c3"])
        self.assertEqual([r.value for r in read_topic(connection, topic, 20, READ_UNCOMMITTED)],
                         [b"c1", b"c2", b"c3", b"a1", b"a2"])

        producer.begin_transaction()
        for value in (b"o1", b"o2"):
            producer.produce(topic, value)
        producer.flush(10)  # written, not committed: the last stable offset stays before o1
        with self.assertRaises(KafkaPersistenceError) as raised:
            read_topic(connection, topic, 3, READ_COMMITTED)
        self.assertIn("open transaction", str(raised.exception))
        self.assertEqual(len(read_topic(connection, topic, 20, READ_UNCOMMITTED)), 7)
        producer.commit_transaction(30)
        self.assertEqual([r.value for r in read_topic(connection, topic, 20, READ_COMMITTED)],
                         [b"c1", b"c2", b"c3", b"o1", b"o2"])

    @staticmethod
    def _transaction(producer, topic, values, commit):
        producer.begin_transaction()
        for value in values:
            producer.produce(topic, value)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.flush(10)  # written before the abort: librdkafka purges what it has not sent yet
            producer.abort_transaction(30)

    def test_aborted_reads_caught_at_read_uncommitted_and_hidden_at_read_committed(self):
        topic = self.topic(partitions=3)
        sent = self.library.produce_records(topic, 200, transactional=True, per_transaction=10, abort=0.5)
        self.assertGreater(sent.aborted, 0)
        self.assertGreater(sent.committed, 0)  # (a commit slower than 20 s on a loaded machine ends in doubt)

        committed = self.library.verify_no_acknowledged_records_lost(topic, timeline="off")
        self.assertEqual((committed.lost_committed, committed.torn, committed.aborted_reads), (0, 0, 0))
        self.assertEqual(committed.aborted, sent.aborted)
        self.assertGreater(committed.aborted_records, 0)  # written (acknowledged) before each abort

        seen = self.library.verify_no_acknowledged_records_lost(topic, isolation="read_uncommitted", timeline="off")
        self.assertEqual(seen.aborted_reads, committed.aborted_records)  # every aborted record written is seen

        with self.assertRaises(VerificationFailed) as failed:
            self.library.verify_no_acknowledged_records_lost(topic, isolation="read_uncommitted",
                                                             committed_only=True, timeline="off")
        self.assertIn(f"FAIL: {committed.aborted_records} aborted reads", str(failed.exception))

    def test_power_cut_during_committed_transactions_tears_none(self):
        """Case 5: with Kafka's default flush nothing written since the topic was made is fsynced, so the cut
        loses committed transactions; what must hold every time is that none comes back torn (figures over
        many runs: tools/transaction_power_loss.py)."""
        topic = self.topic(partitions=3)
        self.library.start_background_producer(topic, rate=1000, transactional=True, per_transaction=20)
        log = self.library.ctx.runs[topic].history.transactions
        deadline = time.monotonic() + 60
        while log.counts()["committed"] < 10:
            self.assertLess(time.monotonic(), deadline, "10 transactions were not committed within 60 s")
            time.sleep(0.05)
        self.library.restart_broker(mode="power-loss")
        self.library.stop_background_producer(topic)
        with self.assertRaisesRegex(VerificationFailed, r"^FAIL: \d+ records of \d+ committed transactions lost"
                                    ) as failed:
            self.library.verify_no_acknowledged_records_lost(topic, timeline="off")
        counts = failed.exception.counts
        self.assertEqual((counts["torn"], counts["aborted_reads"], counts["duplicated"]), (0, 0, 0))
        self.assertGreater(counts["lost_committed_transactions"], 0)
        self.assertGreater(self.library.ctx.runs[topic].history.count(ACKED), 0)
