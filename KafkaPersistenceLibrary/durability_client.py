"""The Kafka side of durability checking: send traceable records, recording every outcome,
and read a topic back to its end as a stream (payloads are never kept).

The pure logic (history, verdict, report) lives in ``durability/``; this module
is what connects it to a broker.
"""

import threading
import time
import uuid
from typing import Iterator

import confluent_kafka
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from .durability import PENDING, SendHistory, payload_maker
from .errors import KafkaPersistenceError
from .kafka_logging import quiet_kafka_client_logs

# Producer settings shared by our keyword and the benchmark's raw client, so the
# comparison is between the same client configurations.
PRODUCER_SETTINGS = dict(acks="all", enable_idempotence=True, linger_ms=5, batch_size=512 * 1024,
                         max_in_flight_requests_per_connection=5)


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


class RecordingProducer:
    """An idempotent acks=all producer that writes each send's outcome into a SendHistory.

    Outcomes: acknowledged (partition, offset); failed (the client refused it or
    the broker answered with an error); unknown (timed out: it may or may not be
    stored, which is exactly what the verdict must not assume).
    """

    def __init__(self, bootstrap: str, topic: str, history: SendHistory, size: int, keys: int,
                 partition: int | None, delivery_timeout: float):
        self.topic, self.history, self.keys, self.partition = topic, history, keys, partition
        self._payload = payload_maker(history.run_id, size)  # fails now, with its message, if size is too small
        timeout_ms = int(delivery_timeout * 1000)
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, delivery_timeout_ms=max(timeout_ms, 1000),
                                       request_timeout_ms=min(timeout_ms, 30000), max_block_ms=timeout_ms,
                                       bootstrap_timeout_ms=timeout_ms,
                                       **PRODUCER_SETTINGS)
        try:
            self._producer.partitions_for(topic)  # connect and learn the topic before the first record
        except KafkaError:
            self.close()
            raise

    def send_one(self) -> int:
        history = self.history
        seq = history.new_send()
        key = str(seq % self.keys).encode() if self.keys else None
        try:
            future = self._producer.send(self.topic, self._payload(seq), key=key, partition=self.partition)
        except KafkaError:  # KafkaTimeoutError here: never handed over (buffer full while the broker was down)
            history.failed(seq)
            return seq
        future.add_both(_Outcome(history, seq))
        return seq

    def flush(self, timeout: float) -> None:
        """Wait for outstanding sends; those still pending afterwards are marked unknown.

        kafka-python's flush() can return before the per-record callbacks ran, so we
        also wait (bounded) until the history has no pending send left.
        """
        deadline = time.monotonic() + timeout
        try:
            self._producer.flush(timeout=timeout)
        except KafkaTimeoutError:
            pass
        while self.history.count(PENDING) and time.monotonic() < deadline:
            time.sleep(0.01)
        for seq in self.history.seqs(PENDING):
            self.history.unknown(seq)

    def close(self) -> None:
        try:
            self._producer.close(timeout=2)
        except KafkaError:
            pass


class _Outcome:
    """Called once with a send's result: metadata (acknowledged) or an exception.

    One small object per send instead of two closures: this runs on kafka-python's
    I/O thread for every record, so it is kept cheap.
    """

    __slots__ = ("history", "seq")

    def __init__(self, history: SendHistory, seq: int):
        self.history, self.seq = history, seq

    def __call__(self, result) -> None:
        if isinstance(result, KafkaTimeoutError):
            self.history.unknown(self.seq)  # may or may not be stored
        elif isinstance(result, BaseException):
            self.history.failed(self.seq)
        else:
            self.history.acked(self.seq, result.partition, result.offset)


class BackgroundProducer:
    """Keeps producing from a thread until stopped, so restarts happen under load."""

    def __init__(self, producer: RecordingProducer, rate: float, max_seconds: float):
        self._producer = producer
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._max_seconds = max_seconds
        self._stop = threading.Event()
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="kpl-background-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        next_at = started
        try:
            with quiet_kafka_client_logs():
                while not self._stop.is_set() and time.monotonic() - started < self._max_seconds:
                    self._producer.send_one()
                    if self._interval:
                        next_at += self._interval
                        delay = next_at - time.monotonic()
                        if delay > 0:
                            self._stop.wait(delay)
                        else:
                            next_at = time.monotonic()  # behind (e.g. blocked while down): do not burst
        except Exception as error:  # surfaced by stop(); a thread has no one else to tell
            self.error = error

    def stop(self, flush_timeout: float) -> None:
        self._stop.set()
        self._thread.join(timeout=flush_timeout + 60)
        self._producer.flush(flush_timeout)
        self._producer.close()


def read_back(bootstrap: str, topic: str, min_end_offsets: dict[int, int], timeout: float
              ) -> Iterator[tuple[int, int, bytes | None]]:
    """Yield (partition, offset, value) of every record, from the beginning of each partition
    until past both its end offset and the last acknowledged offset, bounded by ``timeout``.

    If the broker's end stays below an acknowledged offset until the deadline, the
    read stops there and the verdict counts what is missing as lost; a read that did
    not even reach the broker's end is an error (no verdict from half a topic).

    Uses confluent-kafka (librdkafka) rather than kafka-python: record decoding is
    what bounds verification, and it measured ~1.7x faster here (benchmarks/).
    """
    deadline = time.monotonic() + timeout
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"kafka-persistence-verify-{uuid.uuid4().hex[:8]}",  # required, never joined: we assign
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "allow.auto.create.topics": False,
        "fetch.max.bytes": 64 * 1024 * 1024,
        "max.partition.fetch.bytes": 8 * 1024 * 1024,
        "log_level": 2,
    })
    try:
        partitions = _partitions(consumer, topic, bootstrap, timeout)
        ends = {p: _end_offset(consumer, topic, p, timeout) for p in partitions}
        target = {p: max(ends[p], min_end_offsets.get(p, 0)) for p in partitions}
        position = dict.fromkeys(partitions, 0)
        consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                         for p in partitions])
        pending = {p for p in partitions if target[p] > 0}
        while pending:
            if time.monotonic() > deadline:
                _give_up_or_stop(consumer, topic, pending, position, target, timeout)
                return
            for message in consumer.consume(num_messages=10000, timeout=0.5):
                if message.error() is not None:
                    if message.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaPersistenceError(f"Reading '{topic}' back failed: {message.error().str()}")
                partition, offset = message.partition(), message.offset()
                position[partition] = offset + 1
                yield partition, offset, message.value()
            pending = {p for p in pending if position[p] < target[p]}
    finally:
        consumer.close()


def _partitions(consumer, topic: str, bootstrap: str, timeout: float) -> list[int]:
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    except confluent_kafka.KafkaException as error:
        raise KafkaPersistenceError(f"Reading '{topic}' back from {bootstrap} failed: {error}") from None
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise KafkaPersistenceError(f"Topic '{topic}' does not exist on {bootstrap}: nothing to verify.")
    return sorted(metadata.partitions)


def _end_offset(consumer, topic: str, partition: int, timeout: float) -> int:
    _, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, partition), timeout=timeout)
    return high


def _give_up_or_stop(consumer, topic, pending, position, target, timeout) -> None:
    """At the deadline: fine if we read all the broker has (the rest is lost); else an error."""
    short = {p: target[p] - position[p] for p in pending}
    unread = [p for p in pending if position[p] < _end_offset(consumer, topic, p, 10)]
    if unread:
        raise KafkaPersistenceError(
            f"Reading '{topic}' back did not reach the broker's end within {timeout:g} s; "
            f"records still unread per partition: {short}.")
