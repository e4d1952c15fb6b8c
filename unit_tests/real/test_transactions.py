"""Transactions against real brokers (issue 18): the reader's isolation levels, then the producer verdict."""

import uuid

from confluent_kafka import Producer

from KafkaPersistenceLibrary.clients.reader import READ_COMMITTED, READ_UNCOMMITTED, read_topic
from KafkaPersistenceLibrary.errors import KafkaPersistenceError
from unit_tests.real.broker_case import ClusterTestCase


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
