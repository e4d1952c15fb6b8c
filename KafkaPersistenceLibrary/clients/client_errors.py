"""The Kafka clients' exceptions, as the library treats them: retried while a fault settles, else one line.

A broker that was just killed, a leader that was just elected, a controller that
was just paused: for a few seconds every client call may fail with an error
that goes away by itself (no leader yet, not the leader, the new leader's high
watermark not caught up, a connection refused, one request timed out). Every
keyword retries those within its own timeout (:func:`retrying`); what is not
retriable, or still fails at the deadline, becomes one line of ours
(:func:`one_line`), never a client's exception type.
"""

import time

import confluent_kafka
from kafka.errors import KafkaConnectionError, KafkaError, NodeNotReadyError, UnknownBrokerIdError

RETRY_PAUSE_SECONDS = 0.2

_E = confluent_kafka.KafkaError
# librdkafka's KafkaError.retriable() is set only on errors the producer itself retried; these are the
# codes that a fault makes for a while and that go away once the cluster has settled.
RETRIABLE_CODES = frozenset({
    _E._TRANSPORT, _E._ALL_BROKERS_DOWN, _E._TIMED_OUT, _E._TIMED_OUT_QUEUE, _E._DESTROY_BROKER,
    _E._WAIT_COORD, _E._NODE_UPDATE, _E._RESOLVE, _E._UNKNOWN_PARTITION,
    _E.OFFSET_NOT_AVAILABLE, _E.LEADER_NOT_AVAILABLE, _E.NOT_LEADER_FOR_PARTITION, _E.REQUEST_TIMED_OUT,
    _E.UNKNOWN_TOPIC_OR_PART, _E.FENCED_LEADER_EPOCH, _E.UNKNOWN_LEADER_EPOCH, _E.NOT_COORDINATOR,
    _E.COORDINATOR_NOT_AVAILABLE, _E.COORDINATOR_LOAD_IN_PROGRESS, _E.NETWORK_EXCEPTION,
    _E.BROKER_NOT_AVAILABLE, _E.REPLICA_NOT_AVAILABLE, _E.KAFKA_STORAGE_ERROR, _E.NOT_ENOUGH_REPLICAS,
})
CLIENT_ERRORS = (confluent_kafka.KafkaException, KafkaError)


def is_retriable(error: BaseException) -> bool:
    """True for an error of either Kafka client that a settling cluster makes and that may pass."""
    if isinstance(error, confluent_kafka.KafkaException):
        kafka_error = error.args[0] if error.args else None
        return isinstance(kafka_error, _E) and (kafka_error.retriable() or kafka_error.code() in RETRIABLE_CODES)
    if isinstance(error, confluent_kafka.KafkaError):
        return error.retriable() or error.code() in RETRIABLE_CODES
    if isinstance(error, (KafkaConnectionError, NodeNotReadyError, UnknownBrokerIdError)):
        return True  # UnknownBrokerIdError: this client's metadata does not list a broker that just came back
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))


def reason(error: BaseException) -> str:
    """What the client said, in one short line: "OFFSET_NOT_AVAILABLE: Leader high watermark is not caught up"."""
    if isinstance(error, confluent_kafka.KafkaException) and error.args and isinstance(error.args[0], _E):
        error = error.args[0]
    if isinstance(error, _E):
        text = error.str()
        return f"{error.name()}: {text.split(': ', 1)[-1]}" if ": " in text else f"{error.name()}: {text}"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    if text.startswith(name):  # kafka-python's errors say their own name first
        return text[:300]
    return f"{name}: {text[:300]}" if text else name


def retrying(call, deadline: float, retriable=is_retriable):
    """``call()`` again and again while it fails retriably and ``deadline`` (monotonic) is ahead.

    The last error is raised as it was when the deadline has passed: the caller
    turns it into its own sentence (what it tried, for how long).
    """
    while True:
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - filtered right here, re-raised otherwise
            if not retriable(error) or time.monotonic() + RETRY_PAUSE_SECONDS >= deadline:
                raise
        time.sleep(RETRY_PAUSE_SECONDS)


def one_line(keyword_name: str, error: BaseException) -> "str | None":
    """The sentence a Kafka client's exception becomes when it escapes a keyword; None for other errors."""
    if not isinstance(error, CLIENT_ERRORS):
        return None
    advice = ("the cluster did not settle in time: wait until it serves ('Wait Until Replicas In Sync'), or give "
              "the keyword a longer timeout" if is_retriable(error) else "see the broker logs ('Get Broker Logs')")
    return f"'{keyword_name}' failed: the Kafka client said {reason(error)}; {advice}."
