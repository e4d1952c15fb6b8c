"""Transactions against real brokers (issue 18): the reader's isolation levels, then the producer verdict."""

import time
import uuid

from confluent_kafka import Producer

from KafkaPersistenceLibrary.clients.reader import READ_COMMITTED, READ_UNCOMMITTED, read_topic
from KafkaPersistenceLibrary.errors import KafkaPersistenceError, VerificationFailed
from unit_tests.real.broker_case import ClusterTestCase

KILL_RATE = 500  # records/s of case 1's background producer
KILL_PAUSE = 2.0  # seconds of sending between kills (case 1's long form: tools/transaction_kills.py)


class ReaderIsolation(ClusterTestCase):
    """read_topic at read_committed skips aborted records and markers and waits for open transactions."""

    def test_read_committed_ends_at_markers_and_waits_for_open_transactions(self):
        topic = self.topic()
        producer = Producer(self.library.ctx.cluster.connection.librdkafka({
            "transactional.id": f"reader-{uuid.uuid4().hex[:8]}", "transaction.timeout.ms": 60000}))
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


class TransactionalVerdict(ClusterTestCase):
    """The per-transaction verdict on three brokers: aborted reads caught (case 4), leader and coordinator kills (case 1)."""

    def test_aborted_reads_caught_at_read_uncommitted_and_hidden_at_read_committed(self):
        topic = self.topic(partitions=3)
        sent = self.library.produce_records(topic, 300, transactional=True, per_transaction=10, abort=0.5)
        self.assertGreater(sent.aborted, 0)
        self.assertGreater(sent.committed, 0)
        self.assertEqual(sent.in_doubt, 0)

        committed = self.library.verify_no_acknowledged_records_lost(topic, timeline="off")
        self.assertEqual((committed.lost_committed, committed.torn, committed.aborted_reads), (0, 0, 0))
        self.assertEqual(committed.aborted, sent.aborted)
        self.assertEqual(committed.aborted_records, sent.aborted * 10)

        seen = self.library.verify_no_acknowledged_records_lost(topic, isolation="read_uncommitted", timeline="off")
        self.assertEqual(seen.aborted_reads, sent.aborted * 10)  # every aborted record was written and is seen

        with self.assertRaises(VerificationFailed) as failed:
            self.library.verify_no_acknowledged_records_lost(topic, isolation="read_uncommitted",
                                                             committed_only=True, timeline="off")
        self.assertIn(f"{sent.aborted * 10} aborted reads", str(failed.exception))

    def test_leader_and_coordinator_kills_lose_no_committed_transaction(self):
        topic = self.topic(partitions=3)
        self.library.start_background_producer(topic, rate=KILL_RATE, transactional=True, per_transaction=20,
                                               abort=0.2)
        self.addCleanup(self._stop_background, topic)
        tx_id = self.library.ctx.runs[topic].history.transactions.transactional_id
        for _ in range(3):
            time.sleep(KILL_PAUSE)
            self.library.restart_broker(mode="kill", broker="leader", topic=topic)
        for _ in range(2):
            time.sleep(KILL_PAUSE)
            self.library.restart_broker(mode="kill", broker="coordinator", transactional_id=tx_id)
        time.sleep(KILL_PAUSE)
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic, timeline="off")
        self.assertEqual((verdict.lost_committed, verdict.torn, verdict.aborted_reads, verdict.duplicated),
                         (0, 0, 0, 0))
        self.assertGreater(verdict.committed, 10)
        self.assertGreater(verdict.aborted, 0)

    def _stop_background(self, topic):
        run = self.library.ctx.runs.get(topic)
        if run is not None and run.background is not None:
            run.stop_background(5)
