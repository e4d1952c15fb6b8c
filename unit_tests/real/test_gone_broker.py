"""A broker container that crashed or was removed behind the library's back is reported at once, in one line.

Before, every keyword waited its whole timeout (10-60 s) and Restart Broker raised
a raw Docker error, so a suite of N tests after a crash cost N x 10-60 s.
"""

import time
import unittest

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.node import StopMode

AT_ONCE_SECONDS = 2.0


class GoneBrokerTest(unittest.TestCase):
    def setUp(self):
        self.library = KafkaPersistenceLibrary()
        self.addCleanup(self.library.stop_kafka)
        self.library.start_kafka()
        self.library.produce_message("before", "kept")
        self.container = self.library.ctx.cluster.nodes[1]._container

    def every_keyword_fails_at_once(self, expected: str) -> None:
        calls = {
            "Produce Message": lambda: self.library.produce_message("t", "v"),
            "Consume Should Equal": lambda: self.library.consume_should_equal("before", "kept"),
            "Read Messages": lambda: self.library.read_messages("before"),
            "Create Topic": lambda: self.library.create_topic("new"),
            "Produce Records": lambda: self.library.produce_records("t", 100),
            "Start Background Producer": lambda: self.library.start_background_producer("t"),
            "Restart Broker": lambda: self.library.restart_broker(mode="kill"),
            "Stop Broker": lambda: self.library.stop_broker(),
        }
        for name, call in calls.items():
            with self.subTest(keyword=name):
                started = time.monotonic()
                with self.assertRaisesRegex(KafkaPersistenceError, expected):
                    call()
                self.assertLess(time.monotonic() - started, AT_ONCE_SECONDS)

    def test_removed_container(self):
        self.container.remove(force=True)
        self.every_keyword_fails_at_once(
            r"^The broker container kpl-\w+-1 \(node 1\) was removed: 'Start Kafka' starts a new one\.$")

    def test_crashed_container_says_its_exit_code(self):
        self.container.kill(signal="SIGKILL")
        self.container.wait(timeout=30)
        self.every_keyword_fails_at_once(
            r"^The broker container kpl-\w+-1 \(node 1\) exited \(exit code 137\): 'Start Kafka' starts a new one\.$")
        self.assertIn("Kafka Server started", self.library.get_broker_logs(), "its logs can still be had")

    def test_container_removed_while_a_keyword_acts_on_it(self):
        """The keyword's first check passed, then the container went: Docker's 404 becomes one line."""
        node = self.library.ctx.cluster.nodes[1]
        self.container.remove(force=True)
        expected = r"^Could not {} kpl-\w+-1 \(node 1\): the container was removed: 'Start Kafka' starts a new one\.$"
        for action, call in [("stop \\(kill\\)", lambda: node.stop(StopMode.KILL, 5)),
                             ("stop \\(graceful\\)", lambda: node.stop(StopMode.GRACEFUL, 5)),
                             ("start", node.start), ("pause", node.pause), ("resume", node.unpause)]:
            with self.subTest(action=action), self.assertRaisesRegex(KafkaPersistenceError, expected.format(action)):
                call()

    def test_start_kafka_replaces_a_crashed_cluster(self):
        self.container.kill(signal="SIGKILL")
        self.container.wait(timeout=30)
        self.library.start_kafka()
        self.library.produce_message("after", "new cluster")
        self.library.consume_should_equal("after", "new cluster")


if __name__ == "__main__":
    unittest.main()
