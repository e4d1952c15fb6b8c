"""The Kafka client side: produce with acknowledgement, read a topic to its end, create topics.

Everything here talks to a broker at a bootstrap address through kafka-python
and turns its exceptions into one-line messages a tester can act on.
"""

import dataclasses
import re
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import (
    InvalidPartitionsError,
    InvalidTopicError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    TopicAlreadyExistsError,
)

from .errors import KafkaPersistenceError
from .logtext import shown

_LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_TOPIC_LENGTH = 249
# Let the broker, not the client, decide what is too large (message.max.bytes).
CLIENT_MAX_REQUEST_BYTES = 64 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Record:
    """One record as read back: where it is stored and what it holds."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int

    @property
    def value_text(self) -> "str | bytes | None":
        """The value as text when it is UTF-8, else the raw bytes."""
        return as_text(self.value)

    @property
    def key_text(self) -> "str | bytes | None":
        return as_text(self.key)

    def describe(self) -> str:
        return f"{shown(self.value_text)} at partition {self.partition} offset {self.offset}"


def validate_topic(name: str) -> None:
    """Apply Kafka's own topic-name rules before any network call."""
    if not isinstance(name, str) or not name:
        raise KafkaPersistenceError("Topic name is empty: give a name like 'orders'.")
    if name in (".", "..") or len(name) > MAX_TOPIC_LENGTH or not _LEGAL_TOPIC.match(name):
        raise KafkaPersistenceError(
            f"Invalid topic name '{name}': use 1-{MAX_TOPIC_LENGTH} characters of a-z, A-Z, 0-9, '.', '_' and '-' "
            f"(not '.' or '..')."
        )


def to_bytes(value: "str | bytes | bytearray | None", what: str = "value") -> bytes | None:
    """Text is sent as UTF-8; bytes as they are; None stays None (a null value)."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return str(value).encode("utf-8")


def to_headers(headers: "dict | None") -> list[tuple[str, bytes]]:
    if not headers:
        return []
    if not isinstance(headers, dict):
        raise KafkaPersistenceError(f"Headers must be a dictionary like &{{headers}}, got {type(headers).__name__}.")
    return [(str(name), to_bytes(value, "header") or b"") for name, value in headers.items()]


class Producer:
    """An idempotent ``acks=all`` producer kept open for one broker address."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self._producer: KafkaProducer | None = None

    def send(self, topic: str, value: bytes | None, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None, partition: int | None = None,
             timeout: float = 30.0):
        """Send one record and wait for the broker's acknowledgement; return its metadata."""
        try:
            return self._send(topic, value, key, headers, partition, timeout)
        except BaseException:
            # An idempotent producer whose batch was refused keeps refusing what follows
            # (its sequence numbers are out of step): start afresh for the next record.
            self.close()
            raise

    def _send(self, topic, value, key, headers, partition, timeout):
        try:
            producer = self._client(timeout)
            future = producer.send(topic, value=value, key=key, headers=headers or [], partition=partition)
            producer.flush(timeout=timeout)
            return future.get(timeout=timeout)
        except MessageSizeTooLargeError as error:
            raise KafkaPersistenceError(
                f"Record of {len(value or b'') + len(key or b'')} bytes to topic '{topic}' is larger than the broker "
                f"accepts ({error}): send less, or start Kafka with a larger message.max.bytes."
            ) from None
        except InvalidTopicError:
            raise KafkaPersistenceError(f"The broker refused topic name '{topic}' as invalid.") from None
        except (AssertionError, ValueError) as error:  # kafka-python's word for an unknown partition
            raise KafkaPersistenceError(f"Cannot send to topic '{topic}': {error}; "
                                        f"create it with more partitions or send to another.") from None
        except KafkaTimeoutError as error:
            raise KafkaPersistenceError(
                f"Record to topic '{topic}' was not acknowledged within {timeout:g} s ({error}); "
                f"is the broker at {self.bootstrap} up?"
            ) from None
        except KafkaError as error:
            raise KafkaPersistenceError(f"Record to topic '{topic}' was not acknowledged: {error}") from None

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=2)
            except KafkaError:
                pass
            self._producer = None

    def _client(self, timeout: float) -> KafkaProducer:
        if self._producer is None:
            budget_ms = int(timeout * 1000)
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=0,
                max_request_size=CLIENT_MAX_REQUEST_BYTES,
                max_block_ms=budget_ms,
                bootstrap_timeout_ms=budget_ms,
                request_timeout_ms=min(budget_ms, 30000),
                delivery_timeout_ms=max(budget_ms, 30000),
            )
        return self._producer


def read_topic(bootstrap: str, topic: str, timeout: float) -> list[Record] | None:
    """Read every record of ``topic`` from the earliest offset to the end offsets seen at the start.

    A fresh consumer with no group: it commits nothing, so reading twice gives the
    same answer. Returns None when the topic does not exist. Raises when the end
    is not reached within ``timeout`` (never returns a silent partial read).
    """
    deadline = time.monotonic() + timeout
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        allow_auto_create_topics=False,
        request_timeout_ms=max(int(timeout * 1000), 5000) + 1000,
        bootstrap_timeout_ms=int(max(timeout, 1.0) * 1000),
    )
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        if not partitions:
            return None
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        end = consumer.end_offsets(assigned)
        records: list[Record] = []
        while any(consumer.position(tp) < end[tp] for tp in assigned):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                behind = {tp.partition: end[tp] - consumer.position(tp) for tp in assigned}
                raise KafkaPersistenceError(
                    f"Reading topic '{topic}' did not reach its end within {timeout:g} s "
                    f"(read {len(records)} records; still behind per partition: {behind})."
                )
            batch = consumer.poll(timeout_ms=int(min(remaining, 1.0) * 1000))
            for tp, messages in batch.items():
                records.extend(_record(m) for m in messages if m.offset < end[tp])
        records.sort(key=lambda r: (r.partition, r.offset))
        return records
    except KafkaError as error:
        raise KafkaPersistenceError(f"Reading topic '{topic}' from {bootstrap} failed: {error}") from None
    finally:
        consumer.close(autocommit=False)


def create_topic(bootstrap: str, name: str, partitions: int, config: dict[str, str], timeout: float) -> None:
    """Create a topic with replication factor 1; an existing one is an error that says so."""
    if partitions < 1:
        raise KafkaPersistenceError(f"Invalid partitions {partitions}: a topic needs at least 1.")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000),
                             bootstrap_timeout_ms=int(timeout * 1000))
    try:
        admin.create_topics([NewTopic(name, partitions, 1, topic_configs={k: str(v) for k, v in config.items()})],
                            timeout_ms=int(timeout * 1000))
    except TopicAlreadyExistsError:
        raise KafkaPersistenceError(f"Topic '{name}' already exists: use a new name or reuse it as it is.") from None
    except (InvalidPartitionsError, InvalidTopicError, KafkaError) as error:
        raise KafkaPersistenceError(f"Creating topic '{name}' failed: {error}") from None
    finally:
        admin.close()


def _record(message) -> Record:
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=tuple((name, value) for name, value in (message.headers or [])),
        timestamp=message.timestamp,
    )


def as_text(data: bytes | None) -> "str | bytes | None":
    """UTF-8 text when the bytes are text, else the bytes themselves (None stays None)."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data

