"""Send traceable records and record every send's outcome (Produce Records, the background producer)."""

import threading
import time
import uuid

import confluent_kafka

from ..durability import PENDING, SendHistory, payload_maker
from .connection import Connection
from .delivery import Acks
from .epoch_bumps import epoch_bump_settings

# Batching shared by our keyword and the benchmark's raw clients, so the comparison is
# between the same client configurations (librdkafka names).
BATCHING = {"linger.ms": 5, "batch.size": 512 * 1024}
POLL_EVERY = 256  # sends between two polls that hand delivery reports to their callbacks
# Outcomes that say a send may have been written: the client timed out, or dropped it in flight.
_INDETERMINATE = {confluent_kafka.KafkaError._MSG_TIMED_OUT, confluent_kafka.KafkaError._PURGE_INFLIGHT}


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


class ProducerError(Exception):
    """The producer could not connect or learn the topic; the message says why."""


class RecordingProducer:
    """A librdkafka producer that writes each send's outcome into a SendHistory.

    Outcomes: acknowledged (partition, offset); failed (the client refused it, the
    broker answered with an error, or it was dropped before it was sent); unknown
    (timed out or dropped in flight, or sent with acks=0: it may or may not be
    stored, which is exactly what the verdict must not assume).

    librdkafka rather than kafka-python: it sends from its own C threads and reports
    each record in a small callback, so recording every outcome costs little
    beside the send itself (benchmarks/ measure it against Kafka's Java producer).
    A record the broker refused with a retriable error (e.g. not enough in-sync
    replicas) is retried until the delivery timeout and then reported as timed
    out, so it counts as unknown: the client cannot tell what the broker kept.
    """

    def __init__(self, connection: Connection, topic: str, history: SendHistory, size: int, keys: int,
                 partition: int | None, delivery_timeout: float, acks: Acks = Acks.ALL, idempotent: bool = True,
                 max_block: "float | None" = None, extra: "dict | None" = None):
        self.topic, self.history, self.keys = topic, history, keys
        self._partition = -1 if partition is None else partition
        self._payload = payload_maker(history.run_id, size)  # fails now, with its message, if size is too small
        self._unacknowledged = acks is Acks.NONE
        self._max_block = delivery_timeout if max_block is None else max_block
        timeout_ms = max(int(delivery_timeout * 1000), 1000)
        self._config = connection.librdkafka({  # kept: a transactional producer may need a new client
            "acks": acks.text, "enable.idempotence": idempotent,
            "message.timeout.ms": timeout_ms, "request.timeout.ms": min(timeout_ms, 30000),
            "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 1000,
            "queue.buffering.max.messages": 200_000, "log_level": 0, **BATCHING,
            **epoch_bump_settings(history), **(extra or {}),
        })
        self._producer = confluent_kafka.Producer(self._config)
        self._sends = 0
        try:  # connect before the first record, so that a produce rate does not count the bootstrap
            self._producer.list_topics(timeout=min(delivery_timeout, 30.0))
        except confluent_kafka.KafkaException as error:
            RecordingProducer.close(self)  # not self.close(): a subclass's close needs what its __init__ sets later
            raise ProducerError(f"no connection to {connection.bootstrap}: {error.args[0].str()}") from None

    def send_one(self) -> int:
        history = self.history
        seq = history.new_send()
        key = str(seq % self.keys).encode() if self.keys else None
        outcome = _Outcome(history, seq, self._unacknowledged)
        try:
            self._producer.produce(self.topic, self._payload(seq), key, self._partition, on_delivery=outcome)
        except BufferError:  # the queue is full (the cluster is down): wait for room, bounded
            if not self._produce_when_room(seq, key, outcome):
                history.failed(seq)  # never handed over
        except confluent_kafka.KafkaException:
            history.failed(seq)
        self._sends += 1
        if self._sends % POLL_EVERY == 0:
            self._producer.poll(0)
        return seq

    def _produce_when_room(self, seq: int, key, outcome) -> bool:
        deadline = time.monotonic() + self._max_block
        while time.monotonic() < deadline:
            self._producer.poll(0.05)
            try:
                self._producer.produce(self.topic, self._payload(seq), key, self._partition, on_delivery=outcome)
                return True
            except BufferError:
                continue
        return False

    def flush(self, timeout: float) -> None:
        """Wait for outstanding sends; those still pending afterwards are marked unknown."""
        self._producer.flush(timeout)
        for seq in self.history.seqs(PENDING):
            self.history.unknown(seq)

    def serve(self, seconds: float) -> None:
        """Hand delivery reports to their callbacks for up to ``seconds`` (instead of sleeping)."""
        self._producer.poll(seconds)

    def close(self) -> None:
        """Drop what is still queued (reported, so each send gets an outcome) and let go of the client."""
        self._producer.purge()
        self._producer.flush(0)


class _Outcome:
    """Called once with a send's delivery report: an error, or the partition and offset.

    One small object per send: librdkafka reports every record through it, so it is kept cheap.
    """

    __slots__ = ("history", "seq", "unacknowledged")

    def __init__(self, history: SendHistory, seq: int, unacknowledged: bool):
        self.history, self.seq, self.unacknowledged = history, seq, unacknowledged

    def __call__(self, error, message) -> None:
        if self.seq < self.history.bump_horizon:  # outstanding at an epoch bump: may be stored twice
            self.history.reported_after_bump.add(self.seq)
        if error is None:
            if self.unacknowledged:
                self.history.unknown(self.seq)  # acks=0: sent, never acknowledged
            else:
                # When the broker's acknowledgement arrived, not when this report was served by a poll.
                at = self.history.sent_at[self.seq] + (message.latency() or 0.0)
                # An idempotent producer's retry the broker already had (DUPLICATE_SEQUENCE_NUMBER) is
                # acknowledged without an offset: stored, position unknown (seen after leader kills in CI).
                offset = message.offset()
                self.history.acked(self.seq, message.partition(), -1 if offset is None or offset < 0 else offset,
                                   at=at)
        elif error.code() in _INDETERMINATE:
            self.history.unknown(self.seq)  # may or may not be stored
        else:
            self.history.failed(self.seq)


class BackgroundProducer:
    """Keeps producing from a thread until stopped, so faults happen under load.

    Each send blocks at most ``max_block`` of the producer (its buffer full while the
    cluster is down), so ``stop`` can always wait for the thread before it flushes:
    the producer is never flushed or closed while the thread still sends.
    """

    def __init__(self, producer: RecordingProducer, rate: float, max_seconds: float, max_block: float):
        self._producer = producer
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._max_seconds = max_seconds
        self._max_block = max_block
        self._stop = threading.Event()
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="kpl-background-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        next_at = started
        try:
            while not self._stop.is_set() and time.monotonic() - started < self._max_seconds:
                self._producer.send_one()
                if self._interval:
                    next_at += self._interval
                    if next_at <= time.monotonic():
                        next_at = time.monotonic()  # behind (e.g. blocked while down): do not burst
                    while not self._stop.is_set() and (delay := next_at - time.monotonic()) > 0:
                        self._producer.serve(min(delay, 0.2))  # waits, recording acknowledgements as they come
        except Exception as error:  # noqa: BLE001 - surfaced by stop(); a thread has no one else to tell
            self.error = error

    def stop(self, flush_timeout: float) -> None:
        self._stop.set()
        self._thread.join(timeout=self._max_block + 10)
        if self._thread.is_alive():  # cannot happen with a bounded send; never flush under a running sender
            self.error = self.error or RuntimeError("the sending thread did not stop")
            return
        self._producer.flush(flush_timeout)
        self._producer.close()
