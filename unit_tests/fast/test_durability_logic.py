"""Unit tests of the broker-free persistence checking (payload, history, verdict, report)."""

from __future__ import annotations

import threading
import unittest

from KafkaPersistenceLibrary.clients.epoch_bumps import epoch_bump_settings
from KafkaPersistenceLibrary.clients.recording import _Outcome
from KafkaPersistenceLibrary.durability.history import ACKED, PENDING, SendHistory
from KafkaPersistenceLibrary.durability.payload import make_payload, parse_payload, payload_maker, seq_parser
from KafkaPersistenceLibrary.durability.report import embed_png_html, timeline_png, verdict_html
from KafkaPersistenceLibrary.durability.run import OpenFaults, Run, faults_marked
from KafkaPersistenceLibrary.durability.verdict import check, fault_figures

RUN = "r1"


def acked_history(n: int, partitions: int = 2) -> tuple[SendHistory, list[tuple[int, int, bytes]]]:
    """n sends, all acked round-robin over partitions at t=seq, and their faithful read-back."""
    history = SendHistory(RUN, clock=lambda: 0.0)
    consumed = []
    for seq in range(n):
        history.new_send(at=float(seq))
        p, o = seq % partitions, seq // partitions
        history.acked(seq, p, o, at=seq + 0.5)
        consumed.append((p, o, make_payload(RUN, seq, 32)))
    return history, consumed


class _Delivered:
    """What librdkafka hands a delivery callback for an acknowledged record (the fields _Outcome reads)."""

    def latency(self) -> float:
        return 0.01

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 0


class PayloadTest(unittest.TestCase):
    def test_round_trip(self) -> None:
        value = make_payload("run-7", 123, 40)
        self.assertEqual(len(value), 40)
        self.assertTrue(value.startswith(b"kpl:run-7:123:"))
        self.assertEqual(parse_payload(value), ("run-7", 123))
        self.assertEqual(seq_parser("run-7")(value), 123)
        self.assertIsNone(seq_parser("run-8")(value))

    def test_fast_maker_gives_the_same_bytes(self) -> None:
        make = payload_maker("run-7", 40)
        for seq in (0, 9, 10, 123456, 10**15):
            self.assertEqual(make(seq), make_payload("run-7", seq, 40))
        with self.assertRaisesRegex(ValueError, "smaller than its"):
            make(10**40)
        with self.assertRaisesRegex(ValueError, "smaller than its"):
            payload_maker("run-7", 5)

    def test_exact_prefix_size(self) -> None:
        self.assertEqual(make_payload("a", 5, 8), b"kpl:a:5:")

    def test_size_too_small(self) -> None:
        with self.assertRaisesRegex(ValueError, "smaller than its 8-byte prefix"):
            make_payload("a", 5, 7)

    def test_bad_run_id(self) -> None:
        with self.assertRaises(ValueError):
            make_payload("a:b", 1, 20)

    def test_foreign_values(self) -> None:
        for value in (None, b"", b"hello", b"kpl:", b"kpl:r1", b"kpl:r1:12", b"kpl::3:",
                      b"kpl:r1:x1:...", b"kpl:r1:-1:"):
            self.assertIsNone(parse_payload(value), value)


class HistoryTest(unittest.TestCase):
    def test_outcomes_and_counts(self) -> None:
        h = SendHistory(RUN, clock=lambda: 100.0)
        seqs = [h.new_send() for _ in range(5)]
        self.assertEqual(seqs, [0, 1, 2, 3, 4])
        self.assertTrue(h.acked(0, 1, 10, at=2.0))
        self.assertTrue(h.failed(1))
        self.assertTrue(h.unknown(2))
        self.assertTrue(h.acked(2, 0, 3, at=1.0))  # a late ack beats a timeout
        self.assertFalse(h.failed(0))  # final outcomes stay
        self.assertFalse(h.unknown(0))
        self.assertTrue(h.unknown(3))
        self.assertEqual(h.counts(), {"pending": 1, "acked": 2, "failed": 1, "unknown": 1})
        self.assertEqual(list(h.acked_records()), [(0, 1, 10), (2, 0, 3)])
        self.assertEqual(list(h.seqs(PENDING)), [4])
        self.assertEqual(list(h.ack_times()), [1.0, 2.0])  # sorted although acked out of order
        self.assertEqual(h.sent_at[0], 0.0)  # relative to the start clock

    def test_concurrent_acks(self) -> None:
        h = SendHistory(RUN)
        for _ in range(2000):
            h.new_send()

        def ack(start: int) -> None:
            for seq in range(start, 2000, 4):
                h.acked(seq, 0, seq)

        threads = [threading.Thread(target=ack, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(h.count(ACKED), 2000)
        self.assertEqual(len(h.ack_times()), 2000)


class VerdictTest(unittest.TestCase):
    def test_counts_are_the_int_fields_in_order(self) -> None:
        """What Verify No Acknowledged Records Lost returns: these keys, in this order (tests and suites read them)."""
        counts = check(*acked_history(3)).counts()
        self.assertEqual(list(counts), ["acknowledged", "read", "consumed", "lost", "duplicated",
                                        "duplicated_after_epoch_bump", "epoch_bumps", "offset_mismatches",
                                        "order_violations", "failed", "failed_but_read", "unknown", "unknown_read",
                                        "foreign"])
        self.assertEqual((counts["acknowledged"], counts["lost"]), (3, 0))

    def test_all_good(self) -> None:
        h, consumed = acked_history(10)
        v = check(h, consumed)
        self.assertTrue(v.passed)
        self.assertEqual((v.acknowledged, v.read, v.consumed, v.lost), (10, 10, 10, 0))
        self.assertTrue(v.summary().startswith("PASS: all 10 acknowledged records"))

    def test_interleaving_of_partitions_is_fine(self) -> None:
        h, consumed = acked_history(10)
        odd_first = [c for c in consumed if c[0] == 1] + [c for c in consumed if c[0] == 0]
        self.assertTrue(check(h, odd_first).passed)

    def test_one_lost(self) -> None:
        h, consumed = acked_history(10)
        del consumed[4]
        v = check(h, consumed)
        self.assertFalse(v.passed)
        self.assertEqual((v.lost, v.lost_seqs, v.read), (1, [4], 9))
        self.assertIn("1 acknowledged records lost (first 1: 4)", v.summary())
        self.assertIn("acked 10", v.summary())
        self.assertIn("consumed 9", v.summary())

    def test_duplicate(self) -> None:
        h, consumed = acked_history(10)
        consumed.append((0, 5, make_payload(RUN, 2, 32)))  # seq 2 written again at p0@5
        v = check(h, consumed, idempotent=True)
        self.assertFalse(v.passed)
        self.assertEqual((v.duplicated, v.duplicated_seqs, v.read, v.consumed), (1, [2], 10, 11))
        self.assertEqual(v.offset_mismatches, 0)  # it was also read where it was acked
        v = check(h, consumed, idempotent=False)
        self.assertTrue(v.passed)
        self.assertEqual(v.duplicated, 1)
        self.assertIn("allowed: not idempotent", v.summary())

    def test_duplicate_after_an_epoch_bump_is_reported_not_fatal(self) -> None:
        """Kafka cannot deduplicate across a producer's epochs: such a duplicate is counted apart."""
        h, consumed = acked_history(10)
        h.epoch_bumps.append(4.0)
        h.reported_after_bump.add(3)  # outstanding at the bump, reported after it
        consumed += [(1, 5, make_payload(RUN, 3, 32)), (0, 6, make_payload(RUN, 2, 32))]
        v = check(h, consumed, idempotent=True)
        self.assertEqual((v.duplicated_after_epoch_bump, v.duplicated_after_epoch_bump_seqs, v.epoch_bumps),
                         (1, [3], 1))
        self.assertEqual((v.duplicated, v.duplicated_seqs), (1, [2]), "seq 2 was reported before the bump: fatal")
        self.assertFalse(v.passed)
        self.assertIn("1 records duplicated after the producer bumped its epoch (1 bumps; allowed", v.summary())
        del consumed[-1]
        self.assertTrue(check(h, consumed, idempotent=True).passed)

    def test_reports_after_an_epoch_bump_are_marked(self) -> None:
        """The delivery callback marks the sends outstanding at librdkafka's bump, seen in its eos log line."""
        history = SendHistory(RUN, clock=lambda: 0.0)
        outcomes = [_Outcome(history, history.new_send(), False) for _ in range(3)]
        outcomes[0](None, _Delivered())
        watch = epoch_bump_settings(history)["logger"]
        watch.debug("IDEMPSTATE [rdkafka#producer-1] [thrd:main]: Idempotent producer state change Assigned -> DrainBump")
        self.assertEqual(history.epoch_bumps, [])
        watch.debug("DRAIN [rdkafka#producer-1] [thrd:x]: All partitions drained, bumped epoch to PID{Id:0,Epoch:1}")
        later = _Outcome(history, history.new_send(), False)
        outcomes[1](None, _Delivered())
        outcomes[2](None, _Delivered())
        later(None, _Delivered())
        self.assertEqual((len(history.epoch_bumps), history.reported_after_bump), (1, {1, 2}))

    def test_offset_moved(self) -> None:
        h, consumed = acked_history(4)  # p0: seq0@0, seq2@1; p1: seq1@0, seq3@1
        consumed[2] = (0, 7, consumed[2][2])  # seq 2 found at p0@7 instead of p0@1
        v = check(h, consumed)
        self.assertFalse(v.passed)
        self.assertEqual(v.offset_mismatches, 1)
        self.assertEqual(v.offset_mismatch_examples, ["seq 2 acked at p0@1"])
        self.assertEqual(v.lost, 0)

    def test_acknowledged_without_an_offset_must_be_read_in_its_partition(self) -> None:
        """librdkafka acknowledges an idempotent retry the broker already had without an offset (-1)."""
        h = SendHistory(RUN)
        for seq in range(3):
            h.new_send()
            h.acked(seq, 0, -1 if seq == 1 else seq)
        consumed = [(0, seq, make_payload(RUN, seq, 32)) for seq in range(3)]
        self.assertTrue(check(h, consumed).passed)
        self.assertEqual(h.acked_ends(), {0: 3})
        self.assertEqual(check(h, [consumed[0], consumed[2]]).lost_seqs, [1])
        self.assertEqual(check(h, [consumed[0], (1, 0, consumed[1][2]), consumed[2]]).offset_mismatches, 1)

    def test_offsets_backwards_in_read(self) -> None:
        h, consumed = acked_history(4)
        consumed.append(consumed[0])  # p0@0 delivered again
        v = check(h, consumed)
        self.assertEqual(v.order_violations, 1)
        self.assertEqual(v.order_violation_examples, ["p0: offset 0 read after offset 1"])
        self.assertEqual(v.duplicated, 0)  # a re-delivery is not a duplicate write
        self.assertFalse(v.passed)

    def test_acked_order_reversed(self) -> None:
        h = SendHistory(RUN, clock=lambda: 0.0)
        for _ in range(3):
            h.new_send(at=0.0)
        # seq 1 and 2 acked at swapped offsets: broker wrote them out of send order.
        for seq, offset in ((0, 0), (1, 2), (2, 1)):
            h.acked(seq, 0, offset, at=1.0)
        consumed = [(0, 0, make_payload(RUN, 0, 20)), (0, 1, make_payload(RUN, 2, 20)),
                    (0, 2, make_payload(RUN, 1, 20))]
        v = check(h, consumed)
        self.assertFalse(v.passed)
        self.assertEqual((v.order_violations, v.offset_mismatches, v.lost), (1, 0, 0))
        self.assertEqual(v.order_violation_examples, ["p0@2: seq 1 after seq 2"])

    def test_failed_but_read(self) -> None:
        h, consumed = acked_history(4)
        seq = h.new_send(at=10.0)
        h.failed(seq)
        consumed.append((0, 2, make_payload(RUN, seq, 32)))
        v = check(h, consumed)
        self.assertTrue(v.passed)  # reported, not fatal by default
        self.assertEqual((v.failed, v.failed_but_read, v.failed_but_read_seqs), (1, 1, [4]))
        self.assertIn("1 failed sends read back anyway", v.summary())
        self.assertFalse(check(h, consumed, fail_on_failed_read=True).passed)

    def test_failed_not_read(self) -> None:
        h, consumed = acked_history(4)
        h.failed(h.new_send(at=10.0))
        v = check(h, consumed)
        self.assertTrue(v.passed)
        self.assertEqual((v.failed, v.failed_but_read), (1, 0))

    def test_unknown_read_and_not_read(self) -> None:
        h, consumed = acked_history(4)
        read_seq, unread_seq, pending_seq = h.new_send(), h.new_send(), h.new_send()
        h.unknown(read_seq)
        h.unknown(unread_seq)
        consumed.append((0, 2, make_payload(RUN, read_seq, 32)))
        v = check(h, consumed)
        self.assertTrue(v.passed)
        self.assertEqual(h.outcome[pending_seq], PENDING)
        self.assertEqual((v.unknown, v.unknown_read), (3, 1))  # pending counts as unknown
        self.assertIn("3 sends with unknown outcome, 1 of them read", v.summary())

    def test_foreign_records_ignored(self) -> None:
        h, consumed = acked_history(4)
        consumed += [(0, 10, b"not ours"), (1, 10, None), (0, 11, make_payload("other", 1, 32)),
                     (1, 11, make_payload(RUN, 99, 32))]  # seq never sent
        v = check(h, consumed)
        self.assertTrue(v.passed)
        self.assertEqual((v.foreign, v.read, v.consumed), (4, 4, 8))
        self.assertIn("4 foreign records ignored", v.summary())

    def test_examples_capped_at_20(self) -> None:
        h, _ = acked_history(50)
        v = check(h, [])
        self.assertEqual((v.lost, len(v.lost_seqs), v.lost_seqs[-1]), (50, 20, 19))


class FaultFiguresTest(unittest.TestCase):
    def history(self) -> SendHistory:
        h = SendHistory(RUN, clock=lambda: 0.0)
        # acks at 1, 2, 3, then nothing until 9.5, then 10; fault from 3.2 to 8.0
        for t in (1.0, 2.0, 3.0, 9.5, 10.0):
            h.acked(h.new_send(at=t - 0.1), 0, int(t), at=t)
        fault = h.begin_fault("kill", at=3.2)
        h.end_fault(fault, at=8.0)
        return h

    def test_figures(self) -> None:
        kill, whole, outside = fault_figures(self.history())
        self.assertEqual(kill["kind"], "kill")
        self.assertAlmostEqual(kill["downtime"], 4.8)
        self.assertAlmostEqual(kill["first_ack_after_down"], 6.3)
        self.assertAlmostEqual(kill["first_ack_after_up"], 1.5)
        self.assertEqual((kill["gap_start"], kill["gap_end"]), (3.0, 9.5))
        self.assertAlmostEqual(kill["gap"], 6.5)
        self.assertEqual(whole["kind"], "whole run")
        self.assertAlmostEqual(whole["gap"], 6.5)
        self.assertEqual(whole["gap_start"], 3.0)
        # acks/s: none from 3.2 to 8.0; five over the 9 s from the first ack to the last; the rest outside.
        self.assertEqual(kill["throughput"], 0.0)
        self.assertAlmostEqual(whole["throughput"], 5 / 9)
        self.assertEqual(outside["kind"], "outside faults")
        self.assertAlmostEqual(outside["throughput"], 5 / (9 - 4.8))

    def test_ack_latency_during_and_outside_a_fault(self) -> None:
        """A slow disk shows in how long each send waits for its ack: 0.1 s outside the fault, 0.7 and 1 s in it."""
        h = SendHistory(RUN, clock=lambda: 0.0)
        for sent, acked in ((1.0, 1.1), (2.0, 2.1), (4.0, 5.0), (4.5, 5.2), (4.8, None), (9.0, 9.1)):
            seq = h.new_send(at=sent)
            if acked is not None:  # the one at 4.8 never is: no latency
                h.acked(seq, 0, int(sent * 10), at=acked)
        h.end_fault(h.begin_fault("disk-slow", at=3.5), at=6.0)
        slow, whole, outside = fault_figures(h)
        self.assertAlmostEqual(slow["latency_p50"], 1.0)  # the upper median of 0.7 and 1.0
        self.assertAlmostEqual(slow["latency_p99"], 1.0)
        self.assertAlmostEqual(outside["latency_p50"], 0.1)
        self.assertAlmostEqual(outside["latency_p99"], 0.1)
        self.assertAlmostEqual(whole["latency_p50"], 0.1)
        self.assertAlmostEqual(whole["latency_p99"], 1.0)
        self.assertIn("100 / 100 ms", verdict_html(check(h, []), [outside]))

    def test_no_faults_no_baseline_row(self) -> None:
        h = SendHistory(RUN, clock=lambda: 0.0)
        for t in (1.0, 2.0, 3.0):
            h.acked(h.new_send(at=t - 0.1), 0, int(t), at=t)
        (whole,) = fault_figures(h)
        self.assertAlmostEqual(whole["throughput"], 1.5)

    def test_broker_never_back(self) -> None:
        h = SendHistory(RUN, clock=lambda: 0.0)
        h.acked(h.new_send(at=0.0), 0, 0, at=1.0)
        h.begin_fault("graceful", at=2.0)
        (row, whole, outside) = fault_figures(h)
        self.assertIsNone(row["downtime"])
        self.assertIsNone(row["first_ack_after_down"])
        self.assertIsNone(row["gap"])
        self.assertIsNone(whole["gap"])  # a single ack has no gap


class ReportTest(unittest.TestCase):
    def test_html_contains_numbers_and_escapes(self) -> None:
        h, consumed = acked_history(12)
        del consumed[3]
        consumed.append((0, 50, b"<script>"))
        v = check(h, consumed)
        h.end_fault(h.begin_fault("<kill>", at=1.0), at=2.5)
        page = verdict_html(v, fault_figures(h))
        self.assertIn("FAIL: 1 acknowledged records lost (first 1: 3)", page)
        self.assertIn(">12</td>", page)  # acknowledged
        self.assertIn(">11</td>", page)  # read back
        self.assertIn("1.500 s", page)  # downtime
        self.assertIn("&lt;kill&gt;", page)
        self.assertNotIn("<kill>", page)

    def test_png(self) -> None:
        h, consumed = acked_history(30)
        h.failed(h.new_send(at=31.0))
        h.unknown(h.new_send(at=32.0))
        h.end_fault(h.begin_fault("graceful", at=10.0), at=12.0)
        png = timeline_png(h, check(h, consumed), None)
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"))
        self.assertTrue(embed_png_html(png).startswith('<img src="data:image/png;base64,iVBORw0KGgo'))



class FaultMarkingTest(unittest.TestCase):
    def test_a_fault_whose_recovery_failed_stays_on_the_timeline(self) -> None:
        run = Run(SendHistory(RUN, clock=lambda: 0.0))
        clock = iter([5.0, 9.0]).__next__
        with self.assertRaises(RuntimeError), faults_marked([run], "kill", "node 2", clock):
            raise RuntimeError("did not serve clients after restart")
        (fault,) = run.history.faults
        self.assertEqual((fault.down_at, fault.up_at), (5.0, None))
        self.assertEqual(fault.label, "kill node 2 (FAILED)")
        self.assertEqual(fault_figures(run.history)[0]["kind"], "kill node 2 (FAILED)")

    def test_a_fault_that_spans_keywords(self) -> None:
        runs = [Run(SendHistory(RUN, clock=lambda: 0.0)) for _ in range(2)]
        faults = OpenFaults()
        faults.begin("node 3", runs, "stop", "node 3", at=2.0)
        self.assertEqual(faults.keys(), ["node 3"])
        faults.end("node 3", at=7.5)
        self.assertEqual([(f.kind, f.down_at, f.up_at) for r in runs for f in r.history.faults],
                         [("stop", 2.0, 7.5), ("stop", 2.0, 7.5)])
        self.assertEqual(faults.keys(), [])


if __name__ == "__main__":
    unittest.main()
