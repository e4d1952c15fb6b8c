"""No exception of a Kafka or Docker client leaves a keyword: the library's @keyword words it in one line."""

import inspect
import unittest

import confluent_kafka
from docker.errors import APIError
from kafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from KafkaPersistenceLibrary import KafkaPersistenceError
from KafkaPersistenceLibrary.clients.client_errors import is_retriable, reason
from KafkaPersistenceLibrary.keywords.one_line import keyword


@keyword(tags=["test"])
def verify_something(topic: str, timeout: float = 1.0):
    raise RAISED


class OneLineTest(unittest.TestCase):
    def fails_with(self, error: BaseException) -> str:
        global RAISED
        RAISED = error
        with self.assertRaises(KafkaPersistenceError) as raised:
            verify_something("t")
        return str(raised.exception)

    def test_kafka_client_errors_become_one_line(self):
        watermark = confluent_kafka.KafkaException(confluent_kafka.KafkaError(
            confluent_kafka.KafkaError.OFFSET_NOT_AVAILABLE, "Failed to get watermark offsets"))
        self.assertEqual(self.fails_with(watermark),
                         "'Verify Something' failed: the Kafka client said OFFSET_NOT_AVAILABLE: Failed to get "
                         "watermark offsets; the cluster did not settle in time: wait until it serves ('Wait Until "
                         "Replicas In Sync'), or give the keyword a longer timeout.")
        self.assertIn("see the broker logs", self.fails_with(TopicAuthorizationFailedError()))

    def test_docker_errors_become_one_line(self):
        message = self.fails_with(APIError("500 Server Error: Cannot pause container: unable to freeze"))
        self.assertEqual(message, "'Verify Something' failed: Docker said 500 Server Error: Cannot pause container: "
                                  "unable to freeze")

    def test_other_errors_pass_through(self):
        global RAISED
        RAISED = ValueError("a bug of ours")
        with self.assertRaises(ValueError):
            verify_something("t")

    def test_the_keyword_keeps_its_signature(self):
        self.assertEqual(list(inspect.signature(verify_something).parameters), ["topic", "timeout"])
        self.assertEqual(verify_something.robot_name, None)
        self.assertEqual(verify_something.robot_tags, ["test"])

    def test_what_is_retried(self):
        self.assertTrue(is_retriable(confluent_kafka.KafkaException(confluent_kafka.KafkaError(
            confluent_kafka.KafkaError._DESTROY_BROKER))))
        self.assertTrue(is_retriable(KafkaConnectionError("111 ECONNREFUSED")))
        self.assertFalse(is_retriable(TopicAuthorizationFailedError()))
        self.assertFalse(is_retriable(ValueError()))
        self.assertEqual(reason(KafkaConnectionError("111 ECONNREFUSED")), "KafkaConnectionError: 111 ECONNREFUSED")


RAISED: BaseException = RuntimeError()

if __name__ == "__main__":
    unittest.main()
