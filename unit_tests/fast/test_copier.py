"""The copier's arguments and its verdict on synthetic member logs, without Docker (issue 18)."""

import io
import os
import sys
import tempfile
import threading
import time
import unittest
from unittest import mock

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.consumers.events import (
    ABORTED,
    BEGAN,
    COMMITTED,
    COMMITTING,
    DELIVERED,
    KILLED,
    PRODUCED,
    MemberEvent,
)
from KafkaPersistenceLibrary.durability.history import SendHistory
from KafkaPersistenceLibrary.durability.payload import make_payload
from KafkaPersistenceLibrary.keywords.copier import copy_ends
from KafkaPersistenceLibrary.transactions import copier_member
from KafkaPersistenceLibrary.transactions.copier import CopyMode, KillMoment, _waiting_in, parse_mode, parse_moment
from KafkaPersistenceLibrary.transactions.copy_report import timeline_png, verdict_html
from KafkaPersistenceLibrary.transactions.copy_verdict import batches, judge
from KafkaPersistenceLibrary.transactions.log import TransactionLog
from KafkaPersistenceLibrary.transactions.outcome import Outcome


class StandIn:
    """A running cluster as far as the context asks (no node is down)."""

    def down_node(self):
        return None

    def remove(self):
        return []


class CopierArgumentTest(unittest.TestCase):
    def setUp(self):
        self.library = KafkaPersistenceLibrary()

    def refused(self, message: str, call):
        with self.assertRaises(KafkaPersistenceError) as raised:
            call()
        self.assertEqual(str(raised.exception), message)

    def test_bad_arguments_are_one_line_before_anything_starts(self):
        start = self.library.start_copier
        self.refused("Invalid members 0: a copier needs at least 1 member.", lambda: start("a", "b", "g", members=0))
        self.refused("Invalid mode 'twice': use one of exactly-once, at-least-once.",
                     lambda: start("a", "b", "g", mode="twice"))
        self.refused("Invalid batch 0: give the most records one batch copies (1 or more).",
                     lambda: start("a", "b", "g", batch=0))
        self.refused("A copier copies to another topic: source and target are both 'a'.", lambda: start("a", "a", "g"))
        self.refused("Invalid group '': name the copier's consumer group, e.g. group=copier.",
                     lambda: start("a", "b", " "))
        self.refused("Invalid when 'later': use one of now, before-commit.",
                     lambda: self.library.restart_copier(mode="kill", when="later"))
        self.refused("when=before-commit kills a member between produce and commit: use it with mode=kill (a "
                     "graceful stop commits its batch).", lambda: self.library.restart_copier(when="before-commit"))
        self.refused("Invalid guarantee 'maybe': use one of exactly-once, at-least-once.",
                     lambda: self.library.verify_copied_exactly_once("a", "b", guarantee="maybe"))

    def test_verifying_or_restarting_before_any_copier_ran(self):
        self.library.ctx.cluster = StandIn()  # a cluster that is there, and nothing else
        self.refused("No copier copied 'orders' to 'copy': start one with 'Start Copier' before the faults, and verify "
                     "after 'Stop Copier'.", lambda: self.library.verify_copied_exactly_once("orders", "copy"))
        self.refused("No copier was started: call 'Start Copier' first.", lambda: self.library.restart_copier())
        self.refused("No copier was started: call 'Start Copier' first.", lambda: self.library.stop_copier())

    def test_either_spelling_is_read(self):
        self.assertIs(parse_mode("Exactly_Once"), CopyMode.EXACTLY_ONCE)
        self.assertIs(parse_mode("AT-LEAST-ONCE"), CopyMode.AT_LEAST_ONCE)
        self.assertIs(parse_moment("before_commit"), KillMoment.BEFORE_COMMIT)


def event(t, kind, member=1, incarnation=1, **data):
    return MemberEvent(float(t), kind, member, incarnation, data)


def a_batch(t, batch, seqs, member=1, incarnation=1, outcome=COMMITTED, error=""):
    """The events of one transactional batch of ``seqs`` (partition 0, offset = seq) ending in ``outcome``."""
    out = [event(t, DELIVERED, member, incarnation, batch=batch, records=[[0, s, "run", s] for s in seqs]),
           event(t + 0.01, BEGAN, member, incarnation, batch=batch),
           event(t + 0.02, PRODUCED, member, incarnation, batch=batch, records=len(seqs), failed=0)]
    if outcome in (COMMITTED, ABORTED):
        out.append(event(t + 0.03, COMMITTING, member, incarnation, batch=batch, offsets={0: max(seqs) + 1}))
        out.append(event(t + 0.04, outcome, member, incarnation, batch=batch, offsets={0: max(seqs) + 1}, error=error,
                         why="test"))
    elif outcome == "asked":
        out.append(event(t + 0.03, COMMITTING, member, incarnation, batch=batch, offsets={0: max(seqs) + 1}))
    return out


def history(n):
    h = SendHistory("run", clock=lambda: 0.0)
    for seq in range(n):
        h.new_send()
        h.acked(seq, 0, seq)
    return h


def copy(seq, batch_key):
    return make_payload("run", seq, 30), {"kpl-copy": batch_key.encode(), "kpl-source": f"0@{seq}".encode()}


class CopyVerdictTest(unittest.TestCase):
    def test_every_record_once_passes_and_counts_the_aborted_transaction(self):
        events = (a_batch(1, 1, [0, 1, 2]) + a_batch(2, 2, [3, 4], outcome="killed-before-commit")
                  + [event(2.5, KILLED, how="kill")] + a_batch(3, 1, [3, 4], incarnation=2))
        records = [copy(s, "1.1.1") for s in (0, 1, 2)] + [copy(s, "1.2.1") for s in (3, 4)]
        verdict = judge(history(5), "a", "b", records, events, transactional=True)
        self.assertTrue(verdict.passed, verdict.summary())
        self.assertEqual((verdict.copied, verdict.committed_batches, verdict.aborted_batches, verdict.member_kills),
                         (5, 2, 1, 1))
        self.assertIn("PASS: every acknowledged record of 'a' is in 'b' exactly once", verdict.summary())

    def test_missing_and_duplicated_records_fail_exactly_once_and_only_missing_fails_at_least_once(self):
        events = a_batch(1, 1, [0, 1]) + a_batch(2, 2, [0, 1])
        records = [copy(0, "1.1.1"), copy(1, "1.1.1"), copy(0, "1.1.2"), copy(1, "1.1.2")]
        verdict = judge(history(3), "a", "b", records, events, transactional=False)
        self.assertFalse(verdict.passed)
        self.assertEqual((verdict.missing, verdict.duplicated, verdict.extra_copies), (1, 2, 2))
        self.assertIn("1 acknowledged records of 'a' missing from 'b' (first: seq 2 (p0@2))", verdict.summary())
        self.assertIn("seq 0: 2 copies (batches 1.1.1, 1.1.2)", verdict.summary())
        lenient = judge(history(2), "a", "b", records, events, transactional=False, exactly_once=False)
        self.assertTrue(lenient.passed, lenient.summary())
        self.assertIn("2 records copied more than once (2 extra copies; allowed: at least once)", lenient.summary())

    def test_a_visible_copy_of_an_aborted_transaction_is_an_aborted_read(self):
        events = (a_batch(1, 1, [0, 1], outcome=ABORTED) + a_batch(2, 2, [0, 1], outcome="killed-before-commit")
                  + [event(2.5, KILLED)] + a_batch(3, 1, [0, 1], incarnation=2))
        records = [copy(0, "1.1.1"), copy(1, "1.1.2"), copy(0, "1.2.1"), copy(1, "1.2.1")]
        verdict = judge(history(2), "a", "b", records, events, transactional=True, exactly_once=False)
        self.assertFalse(verdict.passed)
        self.assertEqual(verdict.aborted_reads, 2)
        self.assertIn("seq 1 from batch 2 of member 1 (process 1), aborted (its process was killed before it asked "
                      "to commit)", verdict.summary())

    def test_a_committed_transaction_partly_or_not_visible_is_torn_or_lost(self):
        events = a_batch(1, 1, [0, 1, 2]) + a_batch(2, 2, [3, 4])
        verdict = judge(history(5), "a", "b", [copy(0, "1.1.1"), copy(1, "1.1.1")], events, transactional=True)
        self.assertEqual((verdict.torn, verdict.lost_committed, verdict.missing), (1, 1, 3))
        self.assertIn("batch 1 of member 1 (process 1): 2 of 3 copies visible", verdict.summary())

    def test_a_member_killed_in_the_commit_call_leaves_its_transaction_in_doubt(self):
        events = a_batch(1, 1, [0, 1], outcome="asked") + [event(1.5, KILLED)] + a_batch(2, 1, [0, 1], incarnation=2)
        found = batches(events, transactional=True)
        self.assertEqual(found["1.1.1"].outcome, Outcome.IN_DOUBT)
        visible = judge(history(2), "a", "b", [copy(0, "1.1.1"), copy(1, "1.1.1"), copy(0, "1.2.1"), copy(1, "1.2.1")],
                        events, transactional=True)
        self.assertEqual((visible.in_doubt_batches, visible.in_doubt_visible, visible.duplicated), (1, 1, 2))
        self.assertFalse(visible.passed, "its copies and the next process's: duplicates")
        hidden = judge(history(2), "a", "b", [copy(0, "1.2.1"), copy(1, "1.2.1")], events, transactional=True)
        self.assertTrue(hidden.passed, hidden.summary())
        self.assertIn("1 transactions in doubt (0 of them visible)", hidden.summary())

    def test_records_that_are_not_ours_or_not_acknowledged_are_reported_not_judged(self):
        h = history(2)
        h.new_send()
        h.failed(2)
        events = a_batch(1, 1, [0, 1, 2])
        records = [copy(0, "1.1.1"), copy(1, "1.1.1"), copy(2, "1.1.1"), (b"someone else's", {}),
                   copy(1, "9.9.9")]
        verdict = judge(h, "a", "b", records, events, transactional=True, exactly_once=False)
        self.assertEqual((verdict.foreign, verdict.not_acknowledged_copied, verdict.unknown_batch), (1, 1, 1))
        self.assertTrue(verdict.passed, verdict.summary())

    def test_a_transactional_source_expects_its_committed_records_and_refuses_its_aborted_ones(self):
        h = history(4)
        h.transactions = TransactionLog("tx", 2, 0.5)
        h.transactions.begin(0, 0.0)
        h.transactions.end(2, Outcome.COMMITTED, 0.1)
        h.transactions.begin(2, 0.2)
        h.transactions.end(4, Outcome.ABORTED, 0.3)
        events = a_batch(1, 1, [0, 1])
        verdict = judge(h, "a", "b", [copy(0, "1.1.1"), copy(1, "1.1.1")], events, transactional=True)
        self.assertTrue(verdict.passed, verdict.summary())
        self.assertEqual((verdict.acknowledged, verdict.copied), (2, 2))
        leaked = judge(h, "a", "b", [copy(s, "1.1.1") for s in range(3)], a_batch(1, 1, [0, 1, 2]), transactional=True)
        self.assertEqual(leaked.aborted_reads, 1)
        self.assertIn("seq 2, of a transaction the source's producer aborted", leaked.summary())

    def test_a_copier_of_a_transactional_source_has_caught_up_at_its_last_committed_record(self):
        h = history(4)
        self.assertEqual(copy_ends(h), {0: 4})
        h.transactions = TransactionLog("tx", 2, 0.5)
        h.transactions.begin(0, 0.0)
        h.transactions.end(2, Outcome.COMMITTED, 0.1)
        h.transactions.begin(2, 0.2)
        h.transactions.end(4, Outcome.ABORTED, 0.3)
        self.assertEqual(copy_ends(h), {0: 2})

    def test_nothing_acknowledged_has_nothing_to_judge(self):
        verdict = judge(history(0), "a", "b", [], [], transactional=True)
        self.assertFalse(verdict.passed)
        self.assertIn("no record of 'a' was acknowledged: nothing to judge", verdict.summary())

    def test_the_report_draws_members_transactions_and_faults(self):
        h = history(3)
        h.begin_fault("kill", at=0.5, target="node 2")
        events = (a_batch(1, 1, [0, 1, 2], outcome="killed-before-commit") + [event(1.5, KILLED)]
                  + a_batch(2, 1, [0, 1, 2], incarnation=2))
        verdict = judge(h, "a", "b", [copy(s, "1.2.1") for s in range(3)], events, transactional=True)
        self.assertTrue(timeline_png(h, verdict, events).startswith(b"\x89PNG"))
        self.assertIn("transactions aborted", verdict_html(verdict))


class WaitingCallTest(unittest.TestCase):
    """A member stuck in a client call says so on stderr, and the copier's messages repeat it until it returns."""

    def test_a_call_past_its_time_is_named_until_it_returns(self):
        member = copier_member.CopierMember.__new__(copier_member.CopierMember)
        member.calling, member.watched = None, threading.Event()
        self.addCleanup(member.watched.set)  # ends the watching thread
        stderr = io.StringIO()
        with mock.patch.object(copier_member, "WAITING_SECONDS", 0.5), mock.patch.object(sys, "stderr", stderr):
            threading.Thread(target=member._watch_calls, daemon=True).start()
            with member._waiting("send_offsets_to_transaction"):
                time.sleep(2.2)
            waiting = stderr.getvalue()
            time.sleep(1.5)
        lines = stderr.getvalue().splitlines()
        self.assertEqual(waiting.splitlines(), ["copier member still waiting in send_offsets_to_transaction for 0.5 s"])
        self.assertRegex(lines[-1], r"^copier member returned from send_offsets_to_transaction after \d+ s$")
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "member-1-1.stderr")
            with open(path, "w") as f:
                f.write("%7|librdkafka debug line\n" + waiting)
            self.assertEqual(_waiting_in(path), "still waiting in send_offsets_to_transaction for 0.5 s")
            with open(path, "a") as f:
                f.write(lines[-1] + "\n")
            self.assertEqual(_waiting_in(path), "")
            self.assertEqual(_waiting_in(os.path.join(directory, "absent.stderr")), "")


if __name__ == "__main__":
    unittest.main()
