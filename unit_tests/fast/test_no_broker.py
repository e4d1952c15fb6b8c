"""Clients of the library's keywords when no broker answers at all: one line of ours, no Docker needed.

A port nobody listens on stands for a cluster whose every node is stopped (the keyword
probe, tools/keyword_probe.py, found these with real nodes stopped and paused).
"""

import random
import socket
import unittest

from KafkaPersistenceLibrary.clients.connection import Connection
from KafkaPersistenceLibrary.clients.recording import ProducerError
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


if __name__ == "__main__":
    unittest.main()
