"""The consumer verdict on synthetic member logs: each rule of issue 17, both ways (no Kafka, no files)."""

import random
import unittest
from types import SimpleNamespace

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.clients.connection import Connection
from KafkaPersistenceLibrary.consumers.events import MemberEvent
from KafkaPersistenceLibrary.consumers.report import timeline_png, verdict_html
from KafkaPersistenceLibrary.consumers.verdict import _Unprocessed, judge, judge_external
from KafkaPersistenceLibrary.consumers.watch import CommittedOffsetWatcher, CommittedSample
from KafkaPersistenceLibrary.durability.history import SendHistory
from KafkaPersistenceLibrary.errors import KafkaPersistenceError

START = 100.0


def history(per_partition: dict[int, int], faults=()) -> SendHistory:
    """Acknowledged records 0..n-1 in each partition; faults as (kind, target, down, up) in seconds."""
    h = SendHistory("run1", clock=lambda: START)
    for p, n in per_partition.items():
        for offset in range(n):
            seq = h.new_send(at=0.0)
            h.acked(seq, p, offset, at=0.0)
    for kind, target, down, up in faults:
        h.end_fault(h.begin_fault(kind, at=down, target=target), at=up)
    return h


class Log:
    """Builds one member's events with increasing times."""

    def __init__(self, member: int = 1, incarnation: int = 1, t: float = 1.0):
        self.member, self.incarnation, self.t, self.events = member, incarnation, START + t, []

    def at(self, t: float) -> "Log":
        self.t = START + t
        return self

    def add(self, kind: str, **data) -> "Log":
        self.t += 0.001
        self.events.append(MemberEvent(self.t, kind, self.member, self.incarnation, data))
        return self

    def assigned(self, *partitions):
        return self.add("assigned", partitions=list(partitions))

    def delivered(self, p, offsets):
        return self.add("delivered", records=[[p, o, "run1", o] for o in offsets])

    def processed(self, p, offsets):
        for o in offsets:
            self.add("processed", records=[[p, o]])
        return self

    def commit(self, p, offset):
        return self.add("committing", offsets={str(p): offset}).add("committed", offsets={str(p): offset}, error="")


def merged(*logs: Log) -> list[MemberEvent]:
    return sorted((e for log in logs for e in log.events), key=lambda e: e.t)


class AtLeastOnceTest(unittest.TestCase):
    def test_every_record_processed_then_committed_passes(self):
        log = Log().assigned(0).delivered(0, range(10)).processed(0, range(10)).commit(0, 10)
        v = judge(history({0: 10}), "g", merged(log), [], {0: 10})
        self.assertTrue(v.passed, v.summary())
        self.assertEqual((v.acknowledged, v.processed, v.skipped, v.committed_too_far, v.lag), (10, 10, 0, 0, 0))
        self.assertIn("PASS", v.summary())

    def test_a_killed_member_redelivers_which_is_allowed_unless_exactly_once(self):
        first = Log().assigned(0).delivered(0, range(10)).processed(0, range(10)).add("killed", how="kill")
        second = Log(2, 1, t=5).assigned(0).delivered(0, range(10)).processed(0, range(10)).commit(0, 10)
        v = judge(history({0: 10}), "g", merged(first, second), [], {0: 10})
        self.assertTrue(v.passed, v.summary())
        self.assertEqual((v.redelivered, v.redeliveries, v.member_kills, v.skipped), (10, 10, 1, 0))
        self.assertIn("10 records redelivered (allowed", v.summary())
        strict = judge(history({0: 10}), "g", merged(first, second), [], {0: 10}, exactly_once=True)
        self.assertFalse(strict.passed)
        self.assertIn("10 records processed more than once with exactly_once", strict.summary())

    def test_records_beyond_the_last_commit_are_lag_not_loss(self):
        log = Log().assigned(0).delivered(0, range(10)).processed(0, range(10)).commit(0, 10)
        v = judge(history({0: 25}), "g", merged(log), [], {0: 10})
        self.assertTrue(v.passed, v.summary())
        self.assertEqual((v.not_yet_read, v.lag, v.skipped), (15, 15, 0))
        self.assertIn("15 records not yet read (lag, not lost)", v.summary())

    def test_a_group_that_processed_nothing_has_nothing_to_judge(self):
        v = judge(history({0: 5}), "g", merged(Log().assigned(0)), [], {0: None})
        self.assertFalse(v.passed)
        self.assertIn("no member of group 'g' processed any record", v.summary())


class SkipTest(unittest.TestCase):
    def before_processing_kill(self):
        """Member 1 commits 10 before processing, processes 0..4, is killed; member 2 resumes at 10."""
        first = (Log().assigned(0).delivered(0, range(10)).commit(0, 10).processed(0, range(5))
                 .add("killed", how="kill"))
        second = Log(2, 1, t=5).assigned(0).delivered(0, range(10, 20)).processed(0, range(10, 20)).commit(0, 20)
        return merged(first, second)

    def test_a_commit_before_processing_and_a_kill_skip_records_and_name_the_commit(self):
        v = judge(history({0: 20}), "g", self.before_processing_kill(), [], {0: 20})
        self.assertFalse(v.passed)
        self.assertEqual((v.skipped, v.processed, v.committed_too_far, v.too_far_records), (5, 15, 1, 10))
        self.assertEqual(v.skipped_examples[0], "p0@5 (seq 5)")
        self.assertEqual(str(v.too_far[0]), "member 1 (process 1) committed partition 0 up to offset 10 at 1.0 s "
                                            "while 10 records from offset 0 were not processed")
        summary = v.summary()
        self.assertIn("FAIL: 5 acknowledged records skipped (first: p0@5 (seq 5)", summary)
        self.assertIn("because member 1 (process 1) committed partition 0 up to offset 10", summary)

    def test_a_commit_before_processing_goes_too_far_even_without_a_crash(self):
        log = Log().assigned(0).delivered(0, range(10)).commit(0, 10).processed(0, range(10))
        v = judge(history({0: 10}), "g", merged(log), [], {0: 10})
        self.assertEqual((v.skipped, v.committed_too_far), (0, 1))
        self.assertFalse(v.passed)

    def test_a_lost_committed_offset_and_a_reset_to_latest_skip_with_the_cause(self):
        h = history({0: 25}, faults=[("power-loss", "node 1", 3.0, 6.0)])
        first = (Log().assigned(0).delivered(0, range(10)).processed(0, range(10)).commit(0, 10)
                 .add("stopped", how="graceful"))
        second = Log(1, 2, t=7).assigned(0).delivered(0, range(20, 25)).processed(0, range(20, 25)).commit(0, 25)
        samples = [CommittedSample(START + 2.0, {0: 10}), CommittedSample(START + 6.5, {0: None}),
                   CommittedSample(START + 8.0, {0: 25})]
        v = judge(h, "g", merged(first, second), samples, {0: 25})
        self.assertFalse(v.passed)
        self.assertEqual((v.skipped, v.committed_too_far, v.went_backwards), (10, 0, 1))
        self.assertEqual(str(v.backwards[0]), "the committed offset of partition 0 went from 10 to none across "
                                              "power-loss node 1 at 6.5 s")
        self.assertIn("because the committed offset of partition 0 went from 10 to none across power-loss node 1",
                      v.summary())
        self.assertIn("member 1 (process 2) was handed partition 0 at offset 20", v.summary())

    def test_the_same_with_the_offset_kept_passes(self):
        first = (Log().assigned(0).delivered(0, range(10)).processed(0, range(10)).commit(0, 10)
                 .add("stopped", how="graceful"))
        second = Log(1, 2, t=7).assigned(0).delivered(0, range(10, 25)).processed(0, range(10, 25)).commit(0, 25)
        samples = [CommittedSample(START + 2.0, {0: 10}), CommittedSample(START + 6.5, {0: 10})]
        v = judge(history({0: 25}), "g", merged(first, second), samples, {0: 25})
        self.assertTrue(v.passed, v.summary())
        self.assertEqual((v.skipped, v.went_backwards, v.processed), (0, 0, 25))


class BackwardsTest(unittest.TestCase):
    def test_deliveries_going_back_within_one_assignment_are_reported(self):
        log = (Log().assigned(0).delivered(0, range(5)).delivered(0, [3, 4, 5]).processed(0, range(6))
               .commit(0, 6))
        v = judge(history({0: 6}), "g", merged(log), [], {0: 6})
        self.assertTrue(v.passed, v.summary())
        self.assertEqual(v.went_backwards, 1)
        self.assertIn("the delivered offset of partition 0 went from 4 to 3", str(v.backwards[0]))

    def test_a_new_assignment_may_start_lower(self):
        log = (Log().assigned(0).delivered(0, range(5)).processed(0, range(5)).add("revoked", partitions=[0])
               .assigned(0).delivered(0, range(3, 6)).processed(0, range(3, 6)).commit(0, 6))
        v = judge(history({0: 6}), "g", merged(log), [], {0: 6})
        self.assertEqual(v.went_backwards, 0)
        self.assertEqual(v.redelivered, 2)


class ExternalTest(unittest.TestCase):
    def test_steady_progress_passes_with_lag_and_stalls(self):
        h = history({0: 100, 1: 100}, faults=[("kill", "node 2", 2.0, 4.0)])
        samples = [CommittedSample(START + t, {0: o, 1: o}) for t, o in ((1, 10), (2, 20), (3, 20), (5, 60),
                                                                           (6, 90))]
        v = judge_external(h, "app", samples, {0: 90, 1: 90})
        self.assertTrue(v.passed, v.summary())
        self.assertEqual((v.lag, v.went_backwards, v.past_end), (20, 0, 0))
        self.assertEqual(v.final_lag, {0: 10, 1: 10})
        self.assertEqual(len(v.stalls), 1)
        self.assertAlmostEqual(v.stalls[0].seconds, 3.0)

    def test_backwards_commits_are_reported_with_how_far(self):
        samples = [CommittedSample(START + 1, {0: 50}), CommittedSample(START + 2, {0: 20}),
                   CommittedSample(START + 3, {0: 100})]
        v = judge_external(history({0: 100}), "app", samples, {0: 100})
        self.assertTrue(v.passed, v.summary())
        self.assertEqual(v.went_backwards, 1)
        self.assertEqual(v.backwards[0].records, 30)
        self.assertIn("went from 50 to 20", v.summary())

    def test_a_commit_past_the_acknowledged_data_fails(self):
        samples = [CommittedSample(START + 1, {0: 50}), CommittedSample(START + 2, {0: 500})]
        v = judge_external(history({0: 100}), "app", samples, {0: 500})
        self.assertFalse(v.passed)
        self.assertIn("partition 0 at 500, acknowledged data ends at 100", v.summary())

    def test_a_group_that_never_committed_has_nothing_to_judge(self):
        v = judge_external(history({0: 10}), "app", [CommittedSample(START + 1, {0: None})], {0: None})
        self.assertFalse(v.passed)
        self.assertIn("committed no offset", v.summary())
        self.assertIn("no sample", judge_external(history({0: 10}), "app", [], None).summary())


class UnprocessedTest(unittest.TestCase):
    def test_matches_a_plain_set_whatever_the_order(self):
        rng = random.Random(7)
        offsets = sorted(rng.sample(range(400), 250))
        track, done = _Unprocessed(offsets), set()
        for o in rng.sample(offsets, 200):
            track.processed(o)
            done.add(o)
            low, high = sorted(rng.sample(range(-5, 410), 2))
            self.assertEqual(track.unprocessed_between(low, high),
                             [x for x in offsets if low <= x < high and x not in done])


class ReportTest(unittest.TestCase):
    def test_the_table_and_the_picture_show_a_failed_group(self):
        h = history({0: 20}, faults=[("kill", "node 1", 0.5, 2.0)])
        events = SkipTest().before_processing_kill()
        v = judge(h, "g", events, [CommittedSample(START + 1.5, {0: 10})], {0: 20})
        table = verdict_html(v)
        self.assertIn("commits too far", table)
        self.assertIn("member 1 (process 1) committed partition 0 up to offset 10", table)
        self.assertIn("kill node 1", table)
        png = timeline_png(h, v, events, [CommittedSample(START + 1.5, {0: 10})])
        self.assertTrue(png.startswith(b"\x89PNG"))
        self.assertTrue(timeline_png(h, judge_external(h, "app", [], None), [], []).startswith(b"\x89PNG"))


class KeywordErrorsTest(unittest.TestCase):
    """Each mistake is one line, before anything connects."""

    def setUp(self):
        self.library = KafkaPersistenceLibrary()
        self.library.ctx.cluster = SimpleNamespace(connection=Connection("127.0.0.1:1"))  # never asked here
        self.addCleanup(setattr, self.library.ctx, "cluster", None)  # nothing for the exit cleanup to remove

    def verify(self, **kwargs):
        return self.library.verify_consumer_group_missed_nothing(**{"topic": "orders", "group": "app", **kwargs})

    def assert_error(self, pattern: str, call, **kwargs):
        with self.assertRaises(KafkaPersistenceError) as raised:
            call(**kwargs)
        self.assertRegex(str(raised.exception), pattern)
        self.assertNotIn("\n", str(raised.exception))

    def test_an_unknown_group(self):
        self.assert_error(r"^No consumer group 'app' is known: start one with 'Start Background Consumer', or watch "
                          r"your application's group with 'Watch Consumer Group' before the faults\.$", self.verify)
        self.library.ctx.watched_groups["other"] = CommittedOffsetWatcher(Connection("127.0.0.1:1"), "other", "x")
        self.assert_error(r"^No consumer group 'app' is known \(known: 'other'\)", self.verify)

    def test_a_group_of_another_topic(self):
        self.library.ctx.watched_groups["app"] = CommittedOffsetWatcher(Connection("127.0.0.1:1"), "app", "payments")
        self.assert_error(r"^Consumer group 'app' reads 'payments', not 'orders'\.$", self.verify)

    def test_no_producer_history_for_the_topic(self):
        self.library.ctx.watched_groups["app"] = CommittedOffsetWatcher(Connection("127.0.0.1:1"), "app", "orders")
        self.assert_error(r"^Nothing was produced to 'orders' with 'Produce Records' or 'Start Background Producer': "
                          r"the consumer verdict judges a group against what that producer had acknowledged\.$",
                          self.verify)

    def test_bad_arguments(self):
        self.assert_error(r"^Invalid timeline 'pdf': use one of embed, file, off", self.verify, timeline="pdf")
        self.assert_error(r"^Invalid group '': name the consumer group", self.library.watch_consumer_group,
                          group=" ", topic="orders")
        self.library.ctx.cluster = None
        self.assert_error(r"^No Kafka broker is running: call 'Start Kafka' first", self.library.watch_consumer_group,
                          group="app", topic="orders")


if __name__ == "__main__":
    unittest.main()
