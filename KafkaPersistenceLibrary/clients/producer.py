"""Send one record and wait for its acknowledgement, with one-line errors (Produce Message)."""

import time

from kafka import KafkaProducer
from kafka.errors import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidTopicError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasAfterAppendError,
    NotEnoughReplicasError,
)

from ..errors import KafkaPersistenceError
from .connection import Connection
from .delivery import Acks
from .kafka_python_fix import close_producer

# Let the broker, not the client, decide what is too large (message.max.bytes).
CLIENT_MAX_REQUEST_BYTES = 64 * 1024 * 1024
RECONNECT_BACKOFF_MAX_MS = 500  # reach a restarted broker soon (the default grows to 1 s)


class NotAcknowledgedInTime(KafkaPersistenceError):
    """No acknowledgement within the timeout; the caller may find out why from the cluster's state."""


class Producer:
    """A kafka-python producer kept open while the same settings are asked for."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self._producer: KafkaProducer | None = None
        self._settings: tuple = ()

    def send(self, topic: str, value: bytes | None, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None, partition: int | None = None,
             timeout: float = 30.0, acks: Acks = Acks.ALL, idempotent: bool = True):
        """Send one record and wait for the broker's acknowledgement; return its metadata."""
        if value is None and key is None:
            raise KafkaPersistenceError(
                f"A record to topic '{topic}' needs a key or a value: a null value (a tombstone) deletes "
                f"the records of its key, so give key=...")
        deadline = time.monotonic() + timeout
        try:
            producer = self._client(timeout, acks, idempotent)
            future = producer.send(topic, value=value, key=key, headers=headers or [], partition=partition)
            return future.get(timeout=max(0.0, deadline - time.monotonic()))
        except BaseException as error:  # noqa: BLE001 - closed and re-raised, explained where we can
            # An idempotent producer whose batch was refused keeps refusing what follows
            # (its sequence numbers are out of step): start afresh for the next record.
            self.close()
            raise _explained(error, topic, value, key, timeout, self.connection.bootstrap) from None

    def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            close_producer(producer, timeout=2)

    def _client(self, timeout: float, acks: Acks, idempotent: bool) -> KafkaProducer:
        settings = (timeout, acks, idempotent)
        if self._producer is not None and settings != self._settings:
            self.close()  # a later call with another timeout must get that timeout, not the first one's
        if self._producer is None:
            budget_ms = int(timeout * 1000)
            self._producer = KafkaProducer(**self.connection.kafka_python(
                acks=acks.kafka_python,
                enable_idempotence=idempotent,
                linger_ms=0,
                max_request_size=CLIENT_MAX_REQUEST_BYTES,
                max_block_ms=budget_ms,
                bootstrap_timeout_ms=budget_ms,
                request_timeout_ms=min(budget_ms, 30000),
                delivery_timeout_ms=max(budget_ms, 30000),
                reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
            ))
            self._settings = settings
        return self._producer


def _explained(error: BaseException, topic: str, value, key, timeout: float, bootstrap: str) -> BaseException:
    """The one-line error a tester can act on; anything unexpected passes through unchanged."""
    if isinstance(error, MessageSizeTooLargeError):
        return KafkaPersistenceError(
            f"Record of {len(value or b'') + len(key or b'')} bytes to topic '{topic}' is larger than the broker "
            f"accepts ({error}): send less, or start Kafka with a larger message.max.bytes.")
    if isinstance(error, InvalidTopicError):
        return KafkaPersistenceError(f"The broker refused topic name '{topic}' as invalid.")
    if isinstance(error, ValueError) and "Unrecognized partition" in str(error):
        return KafkaPersistenceError(f"Cannot send to topic '{topic}': {error}; "
                                     f"create it with more partitions or send to another.")
    if isinstance(error, (NotEnoughReplicasError, NotEnoughReplicasAfterAppendError)):
        return KafkaPersistenceError(
            f"Record to topic '{topic}' was refused: not enough in-sync replicas (fewer than min.insync.replicas "
            f"are in sync, so acks=all cannot be met). Start the stopped brokers, or send with acks=1.")
    if isinstance(error, (CorruptRecordError, InvalidRecordError)) and key is None:
        return KafkaPersistenceError(
            f"Record to topic '{topic}' was refused: the topic is compacted (cleanup.policy=compact), so every "
            f"record needs a key: give key=...")
    if isinstance(error, KafkaTimeoutError):
        return NotAcknowledgedInTime(
            f"Record to topic '{topic}' was not acknowledged within {timeout:g} s ({error}); "
            f"is the broker at {bootstrap} up?")
    if isinstance(error, KafkaError):
        return KafkaPersistenceError(f"Record to topic '{topic}' was not acknowledged: {error}")
    return error
