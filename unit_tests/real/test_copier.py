"""A copier of our own through real member and broker kills (issue 18, cases 2 and 3).

One 3-broker cluster for the class. Case 2: an exactly-once copier with 2 members, 3
member kills (each between the member's produce and its commit: the worst moment), a
kill of the leader of a source partition and a kill of the coordinator of the copier's
group, in turn: 0 missing, 0 duplicated. Case 3: the same faults at-least-once: the
exactly-once verdict fails and counts at least every copy the killed members had
produced and not committed; judged at-least-once, the same target passes with the same
count. And a run killed with SIGKILL leaves no member (they exit by themselves) and no
logs (the next sweep).
"""

import subprocess
import sys
import textwrap
import time
import unittest
from pathlib import Path

from KafkaPersistenceLibrary import KafkaPersistenceError, VerificationFailed
from KafkaPersistenceLibrary.consumers.events import HOLDING, PRODUCED
from KafkaPersistenceLibrary.transactions.copier import sweep_orphans
from unit_tests.real.broker_case import ClusterTestCase
from unit_tests.real.test_consumer_leaks import wait_until
from unit_tests.real.test_copier_leaks import directories_of, members_of

ROOT = Path(__file__).resolve().parents[2]

MEMBER_KILLS = 3


class CopierFaultsTest(ClusterTestCase):
    """What a copier of two member processes does through member kills before a commit and broker kills."""

    def tearDown(self):
        self.library.ctx.forget_copiers()

    def copy_through_faults(self, mode: str) -> tuple[str, str, str, int]:
        """Case 2's member and broker kills; returns the topics, the group and how many copies the killed members
        held."""
        source, target = self.topic(partitions=3), self.topic(partitions=3)
        group = f"copier-{mode}"
        self.library.start_background_producer(source, rate=200)
        started = self.library.start_copier(source, target, group=group, mode=mode, members=2)
        self.assertEqual(started.transactional_ids, [f"{group}-1", f"{group}-2"] if mode == "exactly-once" else [])
        brokers = [lambda: self.library.restart_broker(mode="kill", broker="leader", topic=source, partition=1),
                   lambda: self.library.restart_broker(mode="kill", broker="coordinator", group=group)]
        for kill in range(MEMBER_KILLS):  # member, leader, member, coordinator, member
            self.library.restart_copier(member=kill % 2 + 1, mode="kill", when="before-commit")
            if kill < len(brokers):
                brokers[kill]()
        time.sleep(1)
        self.library.stop_background_producer(source)
        counts = self.library.stop_copier(group, timeout="5 min")  # a loaded machine commits slowly
        self.assertTrue(counts.caught_up, counts)
        self.assertEqual(counts.member_kills, MEMBER_KILLS, "every member stopped gracefully at the end")
        events = self.library.ctx.copiers[group].events()
        held = {(e.member, e.incarnation, e.data["batch"]) for e in events if e.kind == HOLDING}
        self.assertEqual(len(held), MEMBER_KILLS)
        held_copies = sum(e.data["records"] for e in events
                          if e.kind == PRODUCED and (e.member, e.incarnation, e.data["batch"]) in held)
        return source, target, group, held_copies

    def test_case_2_exactly_once_copies_every_record_once_through_member_and_broker_kills(self):
        source, target, group, held = self.copy_through_faults("exactly-once")
        verdict = self.library.verify_copied_exactly_once(source, target, timeline="off")
        self.assertEqual((verdict.missing, verdict.duplicated, verdict.aborted_reads, verdict.torn), (0, 0, 0, 0),
                         verdict)
        self.assertGreater(verdict.acknowledged, 1000, verdict)
        self.assertGreaterEqual(verdict.aborted_batches, MEMBER_KILLS, "each killed member's held transaction")
        self.assertGreater(held, 0)

    def test_case_3_at_least_once_duplicates_what_a_killed_member_had_produced_and_the_verdict_counts_them(self):
        source, target, group, held = self.copy_through_faults("at-least-once")
        with self.assertRaises(VerificationFailed) as failed:
            self.library.verify_copied_exactly_once(source, target, timeline="off")
        counts = failed.exception.counts
        self.assertRegex(str(failed.exception), r"^FAIL: [\d,]+ records copied more than once")
        self.assertEqual(counts["missing"], 0, counts)
        self.assertGreaterEqual(counts["extra_copies"], held, f"the killed members held {held} copies: {counts}")
        lenient = self.library.verify_copied_exactly_once(source, target, guarantee="at-least-once", timeline="off")
        self.assertEqual((lenient.missing, lenient.duplicated), (0, counts["duplicated"]), lenient)

    def test_members_of_a_killed_run_exit_by_themselves_and_the_next_run_sweeps_their_logs(self):
        source, target = self.topic(partitions=2), self.topic(partitions=2)
        script = textwrap.dedent(f"""
            import time
            from KafkaPersistenceLibrary.clients.connection import Connection
            from KafkaPersistenceLibrary.transactions.copier import Copier, CopyMode
            copier = Copier(Connection({self.bootstrap!r}), "orphans", {source!r}, {target!r}, CopyMode.EXACTLY_ONCE,
                            2, 100)
            copier.start(partitions=2, ready_timeout=120)
            print("GO", flush=True)
            time.sleep(600)
        """)
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.addCleanup(process.kill)
        self.addCleanup(process.stdout.close)
        self.assertEqual(process.stdout.readline().strip(), "GO")
        self.assertEqual(len(members_of(process.pid)), 2)
        process.kill()
        process.wait(10)
        self.assertTrue(wait_until(lambda: not members_of(process.pid), 10), f"left: {members_of(process.pid)}")
        sweep_orphans()
        self.assertEqual(directories_of(process.pid), [])

    def test_errors_are_one_line(self):
        source = self.topic()
        cases = [
            (lambda: self.library.verify_copied_exactly_once(source, "copy"),
             f"No copier copied '{source}' to 'copy': start one with 'Start Copier' before the faults, and verify "
             f"after 'Stop Copier'."),
            (lambda: self.library.start_copier("absent", source, group="g"),
             f"The copier's source topic 'absent' does not exist on {self.bootstrap}: create it with 'Create Topic' "
             f"first (a copier creates no topics)."),
            (lambda: self.library.start_copier(source, "absent", group="g"),
             f"The copier's target topic 'absent' does not exist on {self.bootstrap}: create it with 'Create Topic' "
             f"first (a copier creates no topics)."),
            (lambda: self.library.restart_copier(group="nobody"),
             "No copier 'nobody' was started: call 'Start Copier' first."),
        ]
        for call, message in cases:
            with self.subTest(message=message), self.assertRaises(KafkaPersistenceError) as raised:
                call()
            self.assertEqual(str(raised.exception), message)


if __name__ == "__main__":
    unittest.main()
