"""Create Topic asks again while KRaft has fenced every broker for a moment (seen in CI after a clock jump)."""

import unittest
from unittest import mock

from kafka.errors import InvalidReplicationFactorError

from KafkaPersistenceLibrary.clients import admin
from KafkaPersistenceLibrary.clients.connection import Connection
from KafkaPersistenceLibrary.errors import KafkaPersistenceError

FENCED = "Unable to replicate the partition 1 time(s): All brokers are currently fenced, or have all their log " \
         "directories cordoned."


def _answer(message: str) -> InvalidReplicationFactorError:
    """The error as kafka-python raises it: the broker's message inside the response's repr."""
    return InvalidReplicationFactorError(f"CreateTopicsResponse_v3(topic_errors=[(topic='t', error_code=38, "
                                         f"error_message='{message}')])")


class _Admin:
    """What create_topic calls of kafka-python's admin client: answers with the given errors, then succeeds."""

    def __init__(self, errors):
        self.errors, self.calls = list(errors), 0

    def create_topics(self, topics, timeout_ms):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)

    def close(self):
        pass


class CreateTopicRetryTest(unittest.TestCase):
    def create(self, fake: _Admin, timeout: float = 5.0) -> None:
        with mock.patch.object(admin, "admin_client", return_value=fake), \
                mock.patch.object(admin, "FENCED_PAUSE_SECONDS", 0.01):
            admin.create_topic(Connection("127.0.0.1:1"), "t", 1, 1, {}, timeout)

    def test_every_broker_fenced_is_asked_again(self):
        fake = _Admin([_answer(FENCED)] * 3)
        self.create(fake)
        self.assertEqual(fake.calls, 4)

    def test_still_fenced_at_the_timeout_is_one_line(self):
        fake = _Admin([_answer(FENCED)] * 10_000)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Creating topic 't' failed: .*currently fenced"):
            self.create(fake, timeout=0.2)

    def test_a_replication_factor_too_large_is_not_asked_again(self):
        fake = _Admin([_answer("Unable to replicate the partition 3 time(s): The target replication factor of 3 "
                               "cannot be reached because only 1 broker(s) are registered.")])
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Creating topic 't' failed: .*only 1 broker"):
            self.create(fake)
        self.assertEqual(fake.calls, 1)


if __name__ == "__main__":
    unittest.main()
