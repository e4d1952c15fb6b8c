"""A group's committed offsets over time, sampled from outside through the admin API.

The verdict needs to know what the cluster itself held as the group's position,
not only what members said they committed: a commit the cluster loses (a power
cut of ``__consumer_offsets``) or rolls back shows only here. A thread asks the
cluster every ``interval`` seconds; a sample it cannot take (a coordinator just
killed, no leader yet) is written down in ``errors`` and the next one is tried.
Nothing it meets is raised into the caller, and ``stop()`` returns within a
bounded time.
"""

from __future__ import annotations

import dataclasses
import threading
import time

from kafka import KafkaAdminClient, TopicPartition
from kafka.errors import KafkaError

from ..clients.admin import admin_client, broker_reason
from ..clients.connection import Connection

REQUEST_TIMEOUT_SECONDS = 2.0
STOP_TIMEOUT_SECONDS = REQUEST_TIMEOUT_SECONDS * 2 + 1.0
MAX_ERRORS_KEPT = 1000


@dataclasses.dataclass(frozen=True)
class CommittedSample:
    """What the cluster held at ``t`` (monotonic, when the request left): partition -> committed next offset,
    None when the group has none for it."""

    t: float
    offsets: dict[int, int | None]


@dataclasses.dataclass(frozen=True)
class SampleError:
    """A sample that could not be taken at ``t``, and why."""

    t: float
    reason: str


class CommittedOffsetWatcher:
    """Samples ``group``'s committed offsets for every partition of ``topic`` until stopped."""

    def __init__(self, connection: Connection, group: str, topic: str, interval: float = 0.2):
        self.connection = connection
        self.group = group
        self.topic = topic
        self.interval = interval
        self.samples: list[CommittedSample] = []
        self.errors: list[SampleError] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._admin: KafkaAdminClient | None = None
        self._lock = threading.Lock()  # the thread and sample_now() share one client; kafka-python's is not thread-safe
        self._partitions: list[int] = []

    def start(self) -> CommittedOffsetWatcher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"watch-{self.group}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Ends the sampling; waits at most one request's time for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def sample_now(self) -> CommittedSample | None:
        """One sample taken at once (also after ``stop``), appended to ``samples``; None when it failed."""
        return self._take()

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self._take()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))
        with self._lock:
            self._drop_client()

    def _take(self) -> CommittedSample | None:
        try:
            sample = self._ask()
        except Exception as error:  # noqa: BLE001 - a fault makes sampling fail for a while; never raised
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append(SampleError(time.monotonic(), _why(error)))
            return None
        self.samples.append(sample)
        return sample

    def _client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = admin_client(self.connection, REQUEST_TIMEOUT_SECONDS)
        return self._admin

    def _drop_client(self) -> None:
        """After a failure: the next sample asks afresh (a client may hold a dead connection to a killed node)."""
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                admin.close()
            except Exception:  # noqa: BLE001 - closing a broken client must not stop the watcher
                pass

    def _topic_partitions(self, client) -> list[int]:
        """The topic's partitions, asked once; ``client`` is kafka-python's admin client or any confluent-kafka
        client (a subclass may sample with one), both asked without creating the topic."""
        if not self._partitions:
            if hasattr(client, "describe_topics"):
                described = [t for t in client.describe_topics([self.topic])
                             if t["name"] == self.topic and t.get("error_code", 0) == 0]
                found = [p["partition_index"] for p in described[0]["partitions"]] if described else []
            else:  # every topic's metadata: asking for the one topic would create it on a broker that auto-creates
                metadata = client.list_topics(timeout=REQUEST_TIMEOUT_SECONDS).topics.get(self.topic)
                found = list(metadata.partitions) if metadata is not None and metadata.error is None else []
            if not found:
                raise LookupError(f"topic '{self.topic}' has no partitions in the cluster's metadata yet")
            self._partitions = sorted(found)
        return self._partitions

    def _ask(self) -> CommittedSample:
        # kafka-python, not confluent-kafka: librdkafka 2.16's ListConsumerGroupOffsets crashes the whole process
        # (SIGSEGV in rd_kafka_handle_OffsetFetch -> rd_kafka_cgrp_op: an admin client has no group handle) when
        # the coordinator answers with an error, which is what a coordinator being loaded or killed does.
        with self._lock:
            try:
                admin = self._client()
                partitions = self._topic_partitions(admin)
                # The time the question left, not the answer's: a commit a member reports done after this moment may
                # or may not be in the answer, one reported before it is; a sample never looks older than an event.
                t = time.monotonic()
                answer = admin.list_group_offsets({self.group: [TopicPartition(self.topic, p) for p in partitions]})
            except Exception:
                self._drop_client()
                raise
        offsets: dict[int, int | None] = {p: None for p in partitions}
        for tp, committed in answer.get(self.group, {}).items():
            if tp.topic == self.topic and tp.partition in offsets:
                offsets[tp.partition] = committed.offset if committed.offset >= 0 else None
        return CommittedSample(t, offsets)


def _why(error: BaseException) -> str:
    if isinstance(error, KafkaError):
        return broker_reason(error)
    if isinstance(error, LookupError):
        return str(error.args[0]) if error.args else "not found"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__
