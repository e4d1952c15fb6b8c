"""Read a topic from its beginning to its end, as a test's expectation needs it."""

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from ..errors import KafkaPersistenceError
from .client_errors import reason, retrying
from .connection import Connection
from .records import Record

READ_UNCOMMITTED = "read_uncommitted"
READ_COMMITTED = "read_committed"


def read_topic(connection: Connection, topic: str, timeout: float,
               isolation: str = READ_UNCOMMITTED) -> list[Record] | None:
    """Read every record of ``topic`` from the earliest offset to the end offsets seen at the start.

    A fresh consumer with no group: it commits nothing, so reading twice gives the
    same answer. Returns None when the topic does not exist. Raises when the end
    is not reached within ``timeout`` (never returns a silent partial read). A read
    that fails while the cluster settles (a broker just killed, no leader yet) is
    started again, until ``timeout``.

    ``isolation`` is Kafka's isolation.level. At ``read_committed`` the end is the
    last stable offset, which an open transaction holds back: the read waits until
    every transaction open at the start has ended (committed, aborted, or aborted by
    the coordinator after transaction.timeout.ms), so it never stops short silently.
    """
    deadline = time.monotonic() + timeout
    try:
        return retrying(lambda: _read(connection, topic, deadline, timeout, isolation), deadline)
    except KafkaError as error:
        raise KafkaPersistenceError(f"Reading topic '{topic}' from {connection.bootstrap} failed: "
                                    f"{reason(error)}") from None


def _consumer(connection: Connection, deadline: float, isolation: str) -> KafkaConsumer:
    budget = max(1.0, deadline - time.monotonic())  # this attempt's share of the caller's timeout
    return KafkaConsumer(**connection.kafka_python(
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        allow_auto_create_topics=False,
        isolation_level=isolation,
        request_timeout_ms=max(int(budget * 1000), 5000) + 1000,
        bootstrap_timeout_ms=int(budget * 1000),
    ))


def _read(connection: Connection, topic: str, deadline: float, timeout: float,
          isolation: str) -> list[Record] | None:
    consumer = _consumer(connection, deadline, isolation)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        if not partitions:
            return None
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        end = consumer.end_offsets(assigned)
        if isolation == READ_COMMITTED:
            end = _stable_end(connection, topic, consumer, assigned, end, deadline, timeout)
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
    finally:
        consumer.close(autocommit=False)


def _stable_end(connection: Connection, topic: str, consumer: KafkaConsumer, assigned: list,
                stable: dict, deadline: float, timeout: float) -> dict:
    """Wait until the last stable offsets reach the log ends seen now: no transaction open at the start stays open.

    Without the wait a read_committed read would end at a transaction still open and
    report its records (and every committed one after it) as missing.
    """
    probe = _consumer(connection, deadline, READ_UNCOMMITTED)
    try:
        log_end = probe.end_offsets(assigned)
    finally:
        probe.close(autocommit=False)
    while any(stable[tp] < log_end[tp] for tp in assigned):
        if time.monotonic() >= deadline:
            held = {tp.partition: f"{stable[tp]} < {log_end[tp]}" for tp in assigned if stable[tp] < log_end[tp]}
            raise KafkaPersistenceError(
                f"Reading topic '{topic}' at read_committed did not reach its end within {timeout:g} s: "
                f"an open transaction holds the last stable offset below the log end (per partition: {held}). "
                f"A transactional producer is still inside a transaction or died in one; stop it, or wait "
                f"for the coordinator to abort it after transaction.timeout.ms."
            )
        time.sleep(0.2)
        stable = consumer.end_offsets(assigned)
    return stable


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
