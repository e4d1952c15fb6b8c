"""Consumer groups of our own through real faults (issue 17): member processes, their kills, the coordinator.

One 3-broker cluster for the class. Case 1 (leader, member and coordinator kills with
``commit=after-processing``: nothing skipped, redeliveries counted and allowed) and case 2
(``commit=before-processing`` and a member killed while it holds fetched, unprocessed
records: the verdict fails and names them; the same steps after processing pass).
Case 1 with KIP-848's protocol (issue case 4) runs in ``robot_tests/consumers.robot``, whose long
form (``--variable ROUNDS:3``) makes case 1's three leader and three member kills with both protocols.
"""

import os
import time
import unittest

from KafkaPersistenceLibrary import KafkaPersistenceError, VerificationFailed
from KafkaPersistenceLibrary.consumers.events import COMMITTED, DELIVERED, PROCESSED
from unit_tests.real.broker_case import ClusterTestCase


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class ConsumerGroupFaultsTest(ClusterTestCase):
    """What a group of member processes does through broker, member and coordinator kills."""

    def tearDown(self):
        self.library.ctx.forget_consumer_groups()

    def case_one(self, protocol: str, rounds: int) -> dict:
        """Issue case 1: leader kills and member kills in turn, then the coordinator's; judged by the verdict."""
        topic = self.topic(partitions=3)
        group = f"billing-{protocol}"
        self.library.start_background_producer(topic, rate=300)
        self.library.start_background_consumer(topic, group=group, members=2, protocol=protocol)
        for index in range(rounds):
            self.library.restart_broker(mode="kill", broker="leader", topic=topic, partition=index % 3)
            # the producer may stall for seconds after a broker comes back (its reconnect backoff): a member
            # killed while it has nothing new holds nothing unacknowledged, and would prove nothing
            wait_until_processing(self.library.ctx.consumer_groups[group], records=50)
            self.library.restart_consumer(group=group, member="random", mode="kill")
        coordinator = self.library.restart_broker(mode="kill", broker="coordinator", group=group)
        time.sleep(1)
        self.library.stop_background_producer(topic)
        counts = self.library.stop_background_consumer(topic, group=group)
        watcher = self.library.ctx.consumer_groups[group].watcher
        self.assertTrue(counts.caught_up, (counts, watcher.errors[-3:], watcher.samples[-3:], len(watcher.errors)))
        self.assertEqual(counts.member_kills, rounds)
        verdict = self.library.verify_consumer_group_missed_nothing(topic, group=group, timeline="off")
        self.assertEqual(verdict.skipped, 0, verdict)
        self.assertEqual(verdict.committed_too_far, 0, verdict)
        # No assertion that the kills redelivered something: that depends on whether a kill lands between a
        # member's processing and its commit (in one CI run on Kafka 4.4.0 none of 3 did: 16,450 processed, 0
        # redelivered, 0 skipped). Case 2 below makes that moment deterministic and asserts the redelivery.
        self.assertIn(coordinator.node, (1, 2, 3))
        return verdict

    def test_case_1_leader_member_and_coordinator_kills_skip_nothing(self):
        self.case_one("classic", rounds=3)

    def kill_while_holding(self, commit: str) -> str:
        """Issue case 2's steps: one member, slow processing, killed in the middle of a fetched batch."""
        topic = self.topic(partitions=1)
        group = f"audit-{commit}"
        self.library.produce_records(topic, 600)
        self.library.start_background_consumer(topic, group=group, commit=commit, processing="50 ms")
        consumer_group = self.library.ctx.consumer_groups[group]
        deadline = time.monotonic() + 60
        while not holds_unprocessed(consumer_group.events(), commit):
            self.assertLess(time.monotonic(), deadline, "the member never held 10 fetched, unprocessed records")
            time.sleep(0.05)
        self.library.stop_consumer(group=group, member=1, mode="kill")
        self.library.start_consumer(group=group)
        counts = self.library.stop_background_consumer(topic, group=group)
        self.assertTrue(counts.caught_up, (counts, consumer_group.watcher.errors[-3:], consumer_group.watcher.samples[-3:]))
        return topic, group

    def test_case_2_a_commit_before_processing_skips_records_and_the_verdict_says_which(self):
        topic, group = self.kill_while_holding("before-processing")
        with self.assertRaises(VerificationFailed) as failed:
            self.library.verify_consumer_group_missed_nothing(topic, group=group, timeline="off")
        message = str(failed.exception)
        self.assertRegex(message, r"skipped")
        self.assertRegex(message, r"member 1 \(process 1\)")
        self.assertRegex(message, r"too far")

    def test_case_2_the_same_steps_committing_after_processing_pass(self):
        topic, group = self.kill_while_holding("after-processing")
        verdict = self.library.verify_consumer_group_missed_nothing(topic, group=group, timeline="off")
        self.assertEqual(verdict.skipped, 0, verdict)
        self.assertGreater(verdict.redelivered, 0, verdict)

    def test_errors_are_one_line(self):
        topic = self.topic()
        self.library.start_background_consumer(topic, group="known", start_from="latest")
        cases = [
            (lambda: self.library.restart_consumer(group="nobody"),
             "No consumer group 'nobody' was started: call 'Start Background Consumer' first (started: 'known')."),
            (lambda: self.library.restart_consumer(group="known", member=3),
             "Group 'known' has no member 3: it has members 1."),
            (lambda: self.library.restart_consumer(group="known", member="first"),
             "Invalid member 'first': use a member number (1-1), random or all."),
            (lambda: self.library.restart_consumer(group="known", mode="gently"),
             "Invalid mode 'gently': use one of graceful, kill."),
            (lambda: self.library.start_background_consumer(topic, group="known"),
             "Consumer group 'known' runs already: stop it with 'Stop Background Consumer' first, or use another "
             "group."),
            (lambda: self.library.start_consumer(group="known"),
             "No member of group 'known' is stopped: 'Start Consumer' brings back what 'Stop Consumer' stopped."),
            (lambda: self.library.stop_background_consumer("other", group="known"),
             "Consumer group 'known' reads '" + topic + "', not 'other'."),
            (lambda: self.library.start_background_consumer("absent", group="other"),
             f"Topic 'absent' does not exist on {self.bootstrap}: create it with 'Create Topic' first (members do "
             f"not create topics)."),
            (lambda: self.library.restart_broker(mode="kill", broker="coordinator"),
             "broker=coordinator needs what it coordinates: give group= (a consumer group) or transactional_id=."),
        ]
        for call, message in cases:
            with self.subTest(message=message), self.assertRaises(KafkaPersistenceError) as raised:
                call()
            self.assertEqual(str(raised.exception), message)

    def test_coordinator_of_a_transactional_id_and_role_memory(self):
        stopped = self.library.stop_broker(broker="coordinator", transactional_id="tx-1", mode="kill")
        self.assertIn(stopped.node, (1, 2, 3))
        started = self.library.start_broker(broker="coordinator", transactional_id="tx-1")
        self.assertEqual(started.node, stopped.node, "Start Broker brings back the node stopped as the coordinator")

    def test_members_go_with_the_cluster(self):
        topic = self.topic()
        self.library.start_background_consumer(topic, group="leaving", members=2)
        consumer_group = self.library.ctx.consumer_groups["leaving"]
        pids = [p.process.pid for p in consumer_group.processes.values()]
        directory = consumer_group.directory
        self.assertTrue(all(alive(pid) for pid in pids))
        self.library.ctx.forget_consumer_groups()
        self.assertFalse(any(alive(pid) for pid in pids), "a member outlived its group")
        self.assertFalse(os.path.exists(directory), "the group's logs outlived it")


def wait_until_processing(consumer_group, records: int, timeout: float = 60) -> None:
    """Until the group has processed ``records`` more records than now."""
    def processed() -> int:
        return sum(len(e.data["records"]) for e in consumer_group.events() if e.kind == PROCESSED)

    wanted = processed() + records
    deadline = time.monotonic() + timeout
    while processed() < wanted:
        if time.monotonic() >= deadline:
            raise AssertionError(f"the group processed fewer than {records} records in {timeout:g} s")
        time.sleep(0.1)


def holds_unprocessed(events, commit: str, at_least: int = 10) -> bool:
    """True while the member has processed some of its last batch and still holds ``at_least`` records of it
    (with before-processing: after the batch was committed)."""
    last = max((i for i, e in enumerate(events) if e.kind == DELIVERED), default=None)
    if last is None:
        return False
    batch = {(p, o) for p, o, *_ in events[last].data["records"]}
    later = events[last + 1:]
    if commit == "before-processing" and not any(e.kind == COMMITTED and not e.data.get("error") for e in later):
        return False
    done = {(p, o) for e in later if e.kind == PROCESSED for p, o in e.data["records"]}
    return len(done & batch) >= 1 and len(batch - done) >= at_least


if __name__ == "__main__":
    unittest.main()
