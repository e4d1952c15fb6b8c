"""The consumer verdict on real brokers (issue 17, case 3): offsets a power cut loses, caught where the producer
verdict passes; and an application's commit past the data, caught from outside. Case 5 (an application's
process watched through kills) is ``robot_tests/external_consumer.robot``, with the Process library."""

import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

from kafka import TopicPartition
from kafka.errors import NoError
from kafka.structs import OffsetAndMetadata

from KafkaPersistenceLibrary.clients.admin import with_admin
from KafkaPersistenceLibrary.consumers.verdict import judge
from KafkaPersistenceLibrary.errors import VerificationFailed
from unit_tests.real.broker_case import BrokerTestCase

EXTERNAL_CONSUMER = Path(__file__).with_name("external_consumer.py")
WAIT_SECONDS = 60


class GroupsForgotten(BrokerTestCase):
    """Each test's groups go with it: members killed, watchers stopped."""

    def setUp(self):
        self.addCleanup(self.forget_groups)

    def forget_groups(self):
        self.library.ctx.forget_consumer_groups()
        for watcher in self.library.ctx.watched_groups.values():
            watcher.stop()
        self.library.ctx.watched_groups = {}

    def group_runs_from_zero(self, group: str, topic: str) -> None:
        """The group has been running before: it holds a committed offset (0), so its start position
        (auto.offset.reset) applies only once that offset is gone."""
        connection = self.library.ctx.require_cluster().connection
        deadline = time.monotonic() + WAIT_SECONDS
        while True:  # a coordinator still loading the offsets topic answers NOT_COORDINATOR for a while
            answer = with_admin(connection, WAIT_SECONDS, lambda admin: admin.alter_group_offsets(
                group, {TopicPartition(topic, 0): OffsetAndMetadata(0, "", None)}))
            if list(answer.values()) == [NoError] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(list(answer.values()), [NoError])

    def lose_the_committed_offset(self, *start_from: str):
        """Issue 17, case 3, for one group per start position at once: 1,000 records processed and committed,
        1,000 more produced, a power cut, the groups back under a background producer.

        Returns (topic, {start position: group}, acknowledged records).
        """
        lib = self.library
        topic = f"{self._testMethodName}-{os.getpid()}"
        groups = {position: f"{position}-{topic}" for position in start_from}
        lib.create_topic(topic, **{"flush.messages": "1"})  # the data is fsynced per record: nothing of it is lost
        for position, group in groups.items():
            self.group_runs_from_zero(group, topic)
            lib.start_background_consumer(topic, group=group, start_from=position)
        lib.produce_records(topic, 1000)
        for group in groups.values():
            caught_up, lag = lib.ctx.consumer_groups[group].wait_caught_up({0: 1000}, WAIT_SECONDS)
            self.assertTrue(caught_up, f"{group} did not commit 1,000 within {WAIT_SECONDS} s: {lag}")
            lib.stop_consumer(group, member="all")
        lib.produce_records(topic, 1000)
        lib.restart_broker(mode="power-loss")
        for group in groups.values():
            lib.start_consumer(group)
        # A producer that goes on: records sent before a member found its start position after the cut
        # are behind it (with latest), the rest it reads; wait until each group committed some of them.
        lib.start_background_producer(topic, rate=200)
        deadline = time.monotonic() + WAIT_SECONDS
        for group in groups.values():
            watcher = lib.ctx.consumer_groups[group].watcher
            while not any((s.offsets.get(0) or 0) > 2000 for s in watcher.samples[-5:]):
                self.assertLess(time.monotonic(), deadline, f"{group} committed nothing past 2,000 after the cut")
                time.sleep(0.2)
        lib.stop_background_producer(topic)
        for group in groups.values():
            lib.stop_background_consumer(topic, group=group, timeout=WAIT_SECONDS)
        produced = lib.verify_no_acknowledged_records_lost(topic, timeline="off")
        self.assertGreater(produced["acknowledged"], 2000)
        self.assertEqual(produced["lost"], 0)
        return topic, groups, produced["acknowledged"]


class PowerLossOfCommittedOffsetsTest(GroupsForgotten):
    """One node with power loss and Kafka's default flush settings: ``__consumer_offsets`` is not fsynced."""

    START = {"power_loss": True, "offsets.topic.num.partitions": "1"}  # one offsets partition: a quicker recovery

    def test_a_lost_offset_skips_with_latest_and_redelivers_with_earliest_the_producer_verdict_passes(self):
        topic, groups, acknowledged = self.lose_the_committed_offset("latest", "earliest")
        with self.assertRaises(VerificationFailed) as failed:
            self.library.verify_consumer_group_missed_nothing(topic, group=groups["latest"], timeline="off")
        message = str(failed.exception)
        self.assertRegex(message, r"^FAIL: 1,\d{3} acknowledged records skipped \(first: p0@1000 \(seq 1000\)")
        self.assertIn("the committed offset of partition 0 went from 1,000 to none across power-loss node 1",
                      message)
        self.assertRegex(message, r"member 1 \(process 2\) was handed partition 0 at offset 2,\d{3}")
        counts = failed.exception.counts
        self.assertGreaterEqual(counts["skipped"], 1000)
        self.assertEqual(counts["committed_too_far"], 0)
        self.assertEqual(counts["skipped"] + counts["processed"], acknowledged)

        verdict = self.library.verify_consumer_group_missed_nothing(topic, group=groups["earliest"], timeline="off")
        self.assertEqual((verdict["skipped"], verdict["redelivered"], verdict["processed"]), (0, 1000, acknowledged))
        self.assertGreaterEqual(verdict["went_backwards"], 1)


class FlushEverythingTest(GroupsForgotten):
    """The broker-wide ``log.flush.interval.messages=1`` covers ``__consumer_offsets`` too."""

    START = {"power_loss": True, "log.flush.interval.messages": "1", "offsets.topic.num.partitions": "1"}

    def test_the_committed_offset_survives_and_the_verdict_passes(self):
        topic, groups, acknowledged = self.lose_the_committed_offset("latest")
        verdict = self.library.verify_consumer_group_missed_nothing(topic, group=groups["latest"], timeline="off")
        details = self.details(topic, groups["latest"])
        self.assertEqual((verdict["skipped"], verdict["redelivered"], verdict["processed"]), (0, 0, acknowledged),
                         details.summary())
        # The committed offset was never lost (the case-3 cause). One run of seven with two CPU burners beside it
        # reported one other backwards move here (its kind was not captured then): reported by the verdict, not
        # asserted; the message below says which if the loss ever shows.
        self.assertEqual([str(b) for b in details.backwards if b.what == "committed offset" and b.after is None], [],
                         details.summary())

    def details(self, topic: str, group: str):
        """The verdict itself (the keyword returns counts only): what went backwards, what was skipped."""
        consumer_group = self.library.ctx.consumer_groups[group]
        watcher = consumer_group.watcher
        return judge(self.library.ctx.runs[topic].history, group, consumer_group.events(), list(watcher.samples),
                     None, len(watcher.errors))

    def test_an_application_commit_past_the_data_fails(self):
        lib = self.library
        topic, group = f"ahead-{os.getpid()}", f"ahead-{os.getpid()}"
        lib.create_topic(topic)
        lib.watch_consumer_group(group=group, topic=topic)
        lib.produce_records(topic, 500)
        self.start_application(topic, group, "--ahead-after", "100")
        with self.assertRaises(VerificationFailed) as failed:
            lib.verify_consumer_group_missed_nothing(topic, group=group, timeout="30 s", timeline="off")
        self.assertRegex(str(failed.exception), r"FAIL: committed offsets past the end of the acknowledged data "
                                                r"\(partition 0 at \d+, acknowledged data ends at 500\)")

    def start_application(self, topic: str, group: str, *flags: str) -> subprocess.Popen:
        application = subprocess.Popen([sys.executable, str(EXTERNAL_CONSUMER), self.bootstrap, topic, group,
                                        "--max-seconds", "120", *flags], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        self.addCleanup(application.wait, 10)
        self.addCleanup(application.kill)
        return application


if __name__ == "__main__":
    unittest.main()
