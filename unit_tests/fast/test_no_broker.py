"""Clients of the library's keywords when no broker answers at all: one line of ours, no Docker needed.

A port nobody listens on stands for a cluster whose every node is stopped (the keyword
probe, tools/keyword_probe.py, found these with real nodes stopped and paused).
"""

import random
import socket
import threading
import time
import unittest
from unittest import mock

from KafkaPersistenceLibrary.clients.connection import Connection
from KafkaPersistenceLibrary.clients.recording import ProducerError
from KafkaPersistenceLibrary.consumers import group
from KafkaPersistenceLibrary.durability import SendHistory
from KafkaPersistenceLibrary.transactions.log import TransactionLog
from KafkaPersistenceLibrary.transactions.producer import TransactionalProducer


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NoBrokerTest(unittest.TestCase):
    def test_a_transactional_producer_without_a_broker_says_so(self):
        """Before: the base class's failed connect called the subclass's close, which needs the transaction log it
        had not set yet: AttributeError 'TransactionalProducer' object has no attribute 'log' reached the user."""
        connection = Connection(f"127.0.0.1:{closed_port()}")
        history = SendHistory("r1")
        log = TransactionLog("kpl-tx-r1", 10, 0.0)
        with self.assertRaisesRegex(ProducerError, r"^no connection to 127\.0\.0\.1:\d+: "):
            TransactionalProducer(connection, "t", history, log, 100, 0, None, 1.0, random.Random(1))

    def test_a_committed_offsets_question_that_never_returns_is_given_up(self):
        """Before: Stop Copier and Verify Copied Exactly Once with every broker killed waited in librdkafka's
        committed() far past its 3 s timeout (> 90 s in the keyword probe): the watcher asked without a deadline of
        its own."""
        released = threading.Event()
        closed = threading.Event()

        class StuckConsumer:
            def committed(self, partitions, timeout):
                released.wait(30)
                return []

            def close(self):
                closed.set()

        watcher = group.ConsumerCommittedWatcher(Connection(f"127.0.0.1:{closed_port()}"), "copier", "source")
        watcher._consumer, watcher._partitions = StuckConsumer(), [0]
        started = time.monotonic()
        with mock.patch.object(group, "REQUEST_TIMEOUT_SECONDS", 0.1), mock.patch.object(group, "STUCK_MARGIN_SECONDS",
                                                                                         0.2):
            self.assertIsNone(watcher.sample_now())
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertIn("did not come back within 1.3 s", watcher.errors[-1].reason)
        self.assertIsNone(watcher._consumer, "the stuck consumer is given up; the next sample asks with a new one")
        self.assertIsNone(watcher.sample_now())  # while it is stuck, at once and without a second stuck client
        self.assertIn("has not returned yet", watcher.errors[-1].reason)
        self.assertIsNone(watcher._consumer)
        released.set()
        self.assertTrue(closed.wait(5), "the given-up consumer is closed once its call returns")


if __name__ == "__main__":
    unittest.main()
