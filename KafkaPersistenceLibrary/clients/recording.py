"""Send traceable records and record every send's outcome (Produce Records, the background producer)."""

import threading
import time
import uuid

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from ..durability import PENDING, SendHistory, payload_maker
from .connection import Connection
from .delivery import Acks
from .quiet import quiet_kafka_client_logs

# Producer settings shared by our keyword and the benchmark's raw client, so the
# comparison is between the same client configurations.
PRODUCER_SETTINGS = dict(linger_ms=5, batch_size=512 * 1024, max_in_flight_requests_per_connection=5)
RECONNECT_BACKOFF_MAX_MS = 500  # reach a restarted broker soon (the default grows to 1 s)


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


class RecordingProducer:
    """A producer that writes each send's outcome into a SendHistory.

    Outcomes: acknowledged (partition, offset); failed (the client refused it or
    the broker answered with an error); unknown (timed out, or sent with acks=0:
    it may or may not be stored, which is exactly what the verdict must not assume).
    """

    def __init__(self, connection: Connection, topic: str, history: SendHistory, size: int, keys: int,
                 partition: int | None, delivery_timeout: float, acks: Acks = Acks.ALL, idempotent: bool = True,
                 max_block: "float | None" = None):
        self.topic, self.history, self.keys, self.partition = topic, history, keys, partition
        self._payload = payload_maker(history.run_id, size)  # fails now, with its message, if size is too small
        self._acks = acks
        timeout_ms = int(delivery_timeout * 1000)
        block_ms = int((max_block if max_block is not None else delivery_timeout) * 1000)
        self._producer = KafkaProducer(**connection.kafka_python(
            acks=acks.kafka_python, enable_idempotence=idempotent,
            delivery_timeout_ms=max(timeout_ms, 1000), request_timeout_ms=min(timeout_ms, 30000),
            max_block_ms=block_ms, bootstrap_timeout_ms=timeout_ms,
            reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS, **PRODUCER_SETTINGS))
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
        future.add_both(_Outcome(history, seq, self._acks is Acks.NONE))
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

    __slots__ = ("history", "seq", "unacknowledged")

    def __init__(self, history: SendHistory, seq: int, unacknowledged: bool):
        self.history, self.seq, self.unacknowledged = history, seq, unacknowledged

    def __call__(self, result) -> None:
        if isinstance(result, KafkaTimeoutError) or (self.unacknowledged and not isinstance(result, BaseException)):
            self.history.unknown(self.seq)  # may or may not be stored
        elif isinstance(result, BaseException):
            self.history.failed(self.seq)
        else:
            self.history.acked(self.seq, result.partition, result.offset)


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
