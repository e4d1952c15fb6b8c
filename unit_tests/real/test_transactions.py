"""Transactions against real brokers (issue 18): the reader's isolation levels, then the producer verdict."""

import time
import uuid

from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from KafkaPersistenceLibrary.clients.reader import READ_COMMITTED, READ_UNCOMMITTED, read_topic
from KafkaPersistenceLibrary.durability.history import ACKED
from KafkaPersistenceLibrary.errors import KafkaPersistenceError, VerificationFailed
from KafkaPersistenceLibrary.transactions.outcome import Outcome
from unit_tests.real.broker_case import BrokerTestCase


class Transactions(BrokerTestCase):
    """One broker with power_loss=True, shared: read_topic's isolation levels, aborted reads caught (case 4),
    lost committed and torn transactions caught (records deleted for real), in-doubt transactions reported
    (one made for real by pausing the broker during a commit),
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

    def test_deleted_records_make_lost_committed_and_torn_transactions(self):
        """Kafka's DeleteRecords moves the log start into the middle of the second committed transaction: the
        first is lost whole, the second torn, at read_committed; the verdict fails and names both."""
        topic = self.topic(partitions=1)
        sent = self.library.produce_records(topic, 60, size=40, transactional=True, per_transaction=10)
        self.assertEqual(sent.committed, 6, "every commit returned (none in doubt, none aborted)")
        history = self.library.ctx.runs[topic].history
        self.assertEqual(history.count(ACKED), 60)
        cut = history.offset[15]  # seq 15: the middle of transaction #1 (seqs 10-19); offsets 0-9, a marker, 11-...
        self._delete_records(topic, cut)

        with self.assertRaises(VerificationFailed) as failed:
            self.library.verify_no_acknowledged_records_lost(topic, timeline="off")
        message, counts = str(failed.exception), failed.exception.counts
        self.assertTrue(message.startswith("FAIL: 15 records of 2 committed transactions lost (first 2: "
                                           "#0 (seqs 0-9): 10 of 10 missing, #1 (seqs 10-19): 5 of 10 missing)"),
                        message)
        self.assertIn("1 torn transactions (some but not all records visible) (first 1: committed #1 (seqs 10-19): "
                      "5 of 10 visible)", message)
        self.assertEqual((counts["lost_committed"], counts["lost_committed_transactions"], counts["torn"],
                          counts["committed"], counts["read"], counts["aborted_reads"], counts["duplicated"]),
                         (15, 2, 1, 6, 45, 0, 0))

    def test_in_doubt_transactions_are_reported_not_fatal(self):
        """A commit that ends in doubt needs a fault at exactly that moment; here the producer's log is told that
        two transactions it saw end (one committed, one aborted, both for real) ended in doubt, and the real
        read decides what the verdict says: one visible whole, one not visible, and it passes."""
        topic = self.topic(partitions=1)
        self.library.produce_records(topic, 20, size=40, transactional=True, per_transaction=10)
        self.library.produce_records(topic, 10, size=40, transactional=True, per_transaction=10, abort=1)
        log = self.library.ctx.runs[topic].history.transactions
        self.assertEqual([t.outcome for t in log.transactions], [Outcome.COMMITTED] * 2 + [Outcome.ABORTED])
        for txn in log.transactions[1:]:
            txn.outcome, txn.error = Outcome.IN_DOUBT, "set by the test"

        verdict = self.library.verify_no_acknowledged_records_lost(topic, timeline="off")
        self.assertEqual((verdict.committed, verdict.in_doubt, verdict.in_doubt_visible, verdict.in_doubt_invisible,
                          verdict.torn, verdict.lost_committed), (1, 2, 1, 1, 0, 0))

        self._delete_records(topic, self.library.ctx.runs[topic].history.offset[15])  # into the in-doubt #1
        with self.assertRaises(VerificationFailed) as failed:
            self.library.verify_no_acknowledged_records_lost(topic, timeline="off")
        self.assertIn("1 torn transactions (some but not all records visible) (first 1: in doubt #1 (seqs 10-19): "
                      "5 of 10 visible)", str(failed.exception))
        counts = failed.exception.counts
        self.assertEqual((counts["torn"], counts["lost_committed"], counts["in_doubt_invisible"]), (1, 10, 1))

    def test_a_commit_cut_off_by_a_paused_broker_ends_in_doubt_and_is_reported(self):
        """A real in-doubt transaction: the broker is paused longer than a commit may take (20 s, retries
        included), so the commit in flight gets no answer; after the resume the coordinator finishes or aborts
        it. The verdict reports it (visible whole or not at all) and passes."""
        topic = self.topic(partitions=1)
        self.library.start_background_producer(topic, rate=200, transactional=True, per_transaction=5)
        log = self.library.ctx.runs[topic].history.transactions
        self._wait_for(lambda: log.counts()["committed"] >= 3, 60, "3 transactions committed")
        self.addCleanup(self.leave_every_node_running)
        self.library.pause_broker()
        # 20 s of commit retries, then 20 s of init_transactions for a new client (measured: 40.6 s)
        self._wait_for(lambda: log.counts()["in doubt"] >= 1, 90, "a commit ended in doubt while paused")
        self.library.resume_broker()
        committed = log.counts()["committed"]
        self._wait_for(lambda: log.counts()["committed"] > committed, 90, "a commit after the resume")
        self.library.stop_background_producer(topic)

        verdict = self.library.verify_no_acknowledged_records_lost(topic, timeline="off")
        self.assertGreaterEqual(verdict.in_doubt, 1)
        self.assertEqual(verdict.in_doubt_visible + verdict.in_doubt_invisible, verdict.in_doubt)
        self.assertEqual((verdict.torn, verdict.lost_committed, verdict.aborted_reads), (0, 0, 0))

    def _wait_for(self, condition, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            self.assertLess(time.monotonic(), deadline, f"not within {seconds:g} s: {what}")
            time.sleep(0.05)

    def _delete_records(self, topic: str, before_offset: int) -> None:
        """Kafka's DeleteRecords (admin API): the partition's log start moves to ``before_offset``."""
        admin = AdminClient(self.library.ctx.cluster.connection.librdkafka({"log_level": 0}))
        result = admin.delete_records([TopicPartition(topic, 0, before_offset)], request_timeout=30)
        for future in result.values():
            self.assertEqual(future.result(30).low_watermark, before_offset)
