"""Transactional producers' arguments and the per-transaction verdict, without Docker."""

import unittest

from KafkaPersistenceLibrary.clients.delivery import Acks
from KafkaPersistenceLibrary.durability.history import SendHistory
from KafkaPersistenceLibrary.durability.payload import make_payload
from KafkaPersistenceLibrary.errors import KafkaPersistenceError
from KafkaPersistenceLibrary.transactions.log import TransactionLog
from KafkaPersistenceLibrary.transactions.outcome import Outcome
from KafkaPersistenceLibrary.transactions.settings import Isolation, isolation_for, transaction_settings
from KafkaPersistenceLibrary.transactions.verdict import check_transactions


class Arguments(unittest.TestCase):
    def refused(self, *args) -> str:
        with self.assertRaises(KafkaPersistenceError) as raised:
            transaction_settings(*args)
        return str(raised.exception)

    def test_per_transaction_zero(self):
        self.assertEqual(self.refused(True, 0, None, Acks.ALL, None),
                         "Invalid per_transaction 0: a transaction holds at least 1 record.")

    def test_abort_above_one(self):
        self.assertEqual(self.refused(True, None, 1.5, Acks.ALL, None),
                         "Invalid abort 1.5: give the share of transactions to abort on purpose, from 0 (none) "
                         "to 1 (all).")

    def test_acks_one(self):
        self.assertEqual(self.refused(True, None, None, Acks.LEADER, None),
                         "A transactional producer needs acks=all and idempotence, not acks=1: Kafka refuses "
                         "transactions without both. Drop acks=.")

    def test_not_idempotent(self):
        self.assertIn("needs acks=all and idempotence, not idempotent=False", self.refused(True, 10, 0, Acks.ALL,
                                                                                             False))

    def test_transaction_arguments_without_transactional(self):
        self.assertIn("need transactional=True", self.refused(False, 10, None, Acks.ALL, None))

    def test_defaults(self):
        self.assertIsNone(transaction_settings(False, None, None, Acks.LEADER, None))
        settings = transaction_settings(True, None, None, Acks.ALL, None)
        self.assertEqual((settings.per_transaction, settings.abort), (100, 0.0))

    def test_isolation(self):
        self.assertIs(isolation_for(None, True), Isolation.READ_COMMITTED)
        self.assertIs(isolation_for(None, False), Isolation.READ_UNCOMMITTED)
        self.assertIs(isolation_for("READ-UNCOMMITTED", True), Isolation.READ_UNCOMMITTED)
        with self.assertRaises(KafkaPersistenceError) as raised:
            isolation_for("serializable", True)
        self.assertEqual(str(raised.exception),
                         "Invalid isolation 'serializable': use one of read_committed, read_uncommitted.")


class Verdict(unittest.TestCase):
    """Four transactions of 3 records (seqs 0-11): committed, aborted, in doubt, committed."""

    OUTCOMES = (Outcome.COMMITTED, Outcome.ABORTED, Outcome.IN_DOUBT, Outcome.COMMITTED)

    def setUp(self):
        self.history = SendHistory("run1", clock=lambda: 0.0)
        self.log = self.history.transactions = TransactionLog("kpl-tx-run1", 3, 0.25)
        for outcome in self.OUTCOMES:
            self.log.begin(len(self.history), 0.0)
            for _ in range(3):
                seq = self.history.new_send()
                self.history.acked(seq, 0, seq)
            self.log.end(len(self.history), outcome, 0.0)

    def judge(self, seqs, **kwargs):
        read = [(0, seq, make_payload("run1", seq, 20)) for seq in seqs]
        return check_transactions(self.history, self.log, read, **kwargs)

    def test_all_committed_and_no_aborted_passes(self):
        v = self.judge([0, 1, 2, 9, 10, 11])
        self.assertTrue(v.passed, v.summary())
        self.assertEqual((v.committed, v.aborted, v.in_doubt, v.in_doubt_invisible), (2, 1, 1, 1))

    def test_in_doubt_visible_whole_passes(self):
        v = self.judge([0, 1, 2, 6, 7, 8, 9, 10, 11])
        self.assertTrue(v.passed, v.summary())
        self.assertEqual(v.in_doubt_visible, 1)

    def test_lost_and_torn_committed(self):
        v = self.judge([0, 2, 9, 10, 11])
        self.assertFalse(v.passed)
        self.assertEqual((v.lost_committed, v.lost_committed_transactions, v.torn), (1, 1, 1))
        self.assertTrue(v.summary().startswith("FAIL: 1 records of 1 committed transactions lost"), v.summary())

    def test_whole_committed_transaction_lost_is_not_torn(self):
        v = self.judge([0, 1, 2])
        self.assertEqual((v.lost_committed, v.torn), (3, 0))

    def test_in_doubt_torn(self):
        v = self.judge([0, 1, 2, 6, 9, 10, 11])
        self.assertFalse(v.passed)
        self.assertEqual(v.torn, 1)

    def test_aborted_read_fatal_when_committed_only(self):
        records = [0, 1, 2, 3, 4, 5, 9, 10, 11]
        self.assertFalse(self.judge(records).passed)
        self.assertEqual(self.judge(records).aborted_reads, 3)
        seen = self.judge(records, isolation="read_uncommitted")
        self.assertTrue(seen.passed, seen.summary())
        self.assertIn("3 of 3 records of aborted transactions read", seen.summary())
        self.assertFalse(self.judge(records, isolation="read_uncommitted", committed_only=True).passed)

    def test_nothing_committed_fails(self):
        self.log.transactions[0].outcome = self.log.transactions[3].outcome = Outcome.ABORTED
        self.assertIn("no transaction was committed", self.judge([]).summary())

    def test_duplicate_and_offset_mismatch(self):
        read = [(0, 0, make_payload("run1", 0, 20)), (0, 1, make_payload("run1", 1, 20)),
                (0, 2, make_payload("run1", 2, 20)), (0, 3, make_payload("run1", 2, 20)),
                (0, 9, make_payload("run1", 9, 20)), (0, 10, make_payload("run1", 11, 20)),
                (0, 11, make_payload("run1", 10, 20))]
        v = check_transactions(self.history, self.log, read)
        self.assertEqual((v.duplicated, v.offset_mismatches), (1, 2))

    def test_log_finds_a_records_transaction(self):
        self.assertEqual(self.log.of(4).number, 1)
        self.assertIsNone(self.log.of(12))
        self.assertEqual(self.log.counts(), {"committed": 2, "aborted": 1, "in doubt": 1})


if __name__ == "__main__":
    unittest.main()
