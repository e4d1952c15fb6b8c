"""One copier member (consume, transform, produce) as its own OS process, so that killing it is a real crash.

Run by :class:`~.copier.Copier` as ``python -m KafkaPersistenceLibrary.transactions.copier_member``;
the consumer's and the producer's configurations (security included) arrive as JSON
on stdin, never on the command line where ``ps`` would show a password. The member
joins the copier's consumer group on the source topic, copies each batch to the
target and writes every step to its event log (``consumers/events.py``) before it
acts on it:

- ``exactly-once``: one transaction per batch holds the batch's copies and its
  input offsets (``send_offsets_to_transaction``), the way Kafka's own
  transactional copier works; the transactional id (``<group>-<member>``) stays
  the same across restarts of the member, so the new process fences the old one
  and the coordinator aborts what the old one left open;
- ``at-least-once``: produce the batch, wait until every copy is acknowledged,
  then commit the input offsets (a crash in between copies the batch again).

A copy is the source record's key and value, unchanged (the value keeps
``kpl:<run id>:<seq>:``, so the verdict ties it to the producer's history), with
two headers: ``kpl-copy`` (``<member>.<process>.<batch>``: which batch, so which
transaction, wrote it) and ``kpl-source`` (``<partition>@<offset>`` it came from).

SIGTERM is a graceful stop: finish the batch in hand, commit it, close (which
leaves the group) and write ``stopped``. SIGUSR1 asks the member to hold its next
batch between produce and commit (``holding``) until it is killed: the worst
moment to crash, on demand. The member exits by itself when its owner process is
gone (a killed test run), so it never outlives it. A client call still waiting after
30 s is named on stderr (and again when it returns), and the copier's messages about
the member repeat it: librdkafka 2.16 can wait past a call's own timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time

import confluent_kafka

from ..broker.labels import process_start
from ..consumers.events import (
    ABORTED,
    ASSIGNED,
    BEGAN,
    COMMITTED,
    COMMITTING,
    DELIVERED,
    HOLDING,
    PRODUCED,
    REVOKED,
    STARTED,
    STOPPED,
    EventLog,
)
from ..durability.payload import parse_payload

MARKER = "KafkaPersistenceLibrary.transactions.copier_member"  # how a sweep knows our processes in /proc
EXACTLY_ONCE, AT_LEAST_ONCE = "exactly-once", "at-least-once"
COPY_HEADER, SOURCE_HEADER = "kpl-copy", "kpl-source"
POLL_SECONDS = 0.2
OWNER_CHECK_SECONDS = 0.5
CALL_SECONDS = 10.0  # one transactional call (init, send offsets, commit, abort); retried while retriable
RETRY_SECONDS = 120.0  # how long a retriable call is asked again before the member gives up on it
HOLD_SECONDS = 30.0  # a batch held before its commit goes on by itself after this (the test should have killed us)
WAITING_SECONDS = 30.0  # a client call still waiting after this is named on stderr (librdkafka may ignore timeouts)
WAITING, RETURNED = "copier member still waiting in", "copier member returned from"  # copier.py reads these lines


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=MARKER)
    parser.add_argument("--log", required=True)
    parser.add_argument("--member", type=int, required=True)
    parser.add_argument("--incarnation", type=int, required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--mode", choices=(EXACTLY_ONCE, AT_LEAST_ONCE), required=True)
    parser.add_argument("--batch", type=int, required=True, help="records per batch (transaction) at most")
    parser.add_argument("--transactional-id", default="")
    parser.add_argument("--owner-pid", type=int, required=True)
    parser.add_argument("--owner-started", required=True)
    return parser.parse_args(argv)


class Gone(Exception):
    """The owner process died, or a call kept failing: the member stops where it is."""


class CopierMember:
    """The copy loop of one member, writing its events as it goes."""

    def __init__(self, options: argparse.Namespace, config: dict):
        self.options = options
        self.exactly_once = options.mode == EXACTLY_ONCE
        self.log = EventLog(options.log, options.member, options.incarnation)
        self.stopping = False
        self.hold_next = False
        self.batch = 0
        self.failed_deliveries = 0
        self.owner_checked = 0.0
        self.calling: tuple[str, float] | None = None  # the client call the main thread is in, and since when
        self.watched = threading.Event()  # set: the call watcher ends (the process's exit ends it anyway)
        debug = _debug()  # librdkafka's own debug log into the member's stderr file, when investigating
        self.producer_config = {**config["producer"], **debug}
        self.consumer = confluent_kafka.Consumer({**config["consumer"], "group.id": options.group,
                                                  "enable.auto.commit": False, "isolation.level": "read_committed",
                                                  **debug})
        self.producer = confluent_kafka.Producer(self.producer_config)

    def run(self) -> None:
        threading.Thread(target=self._watch_calls, name="watch-calls", daemon=True).start()
        try:
            if self.exactly_once:  # fences the member's previous process and aborts what it left open
                self._call(lambda: self.producer.init_transactions(CALL_SECONDS), "init_transactions")
            # written once the member can copy, so a restart returns only then and a test's next fault does
            # not land inside init_transactions
            self.log.write(STARTED, pid=os.getpid(), group=self.options.group, topic=self.options.source,
                           target=self.options.target, mode=self.options.mode,
                           transactional_id=self.options.transactional_id)
            self.consumer.subscribe([self.options.source], on_assign=self._assigned, on_revoke=self._revoked,
                                    on_lost=self._lost)
            while not self.stopping and self._owner_alive():
                records = [r for r in self.consumer.consume(self.options.batch, POLL_SECONDS) if r.error() is None]
                if records:
                    self._copy(records)
        except Gone:
            return
        if self.stopping:
            self.consumer.close()  # leaves the group
            self.producer.flush(CALL_SECONDS)
            self.log.write(STOPPED, how="graceful")

    # -- one batch -----------------------------------------------------------------------

    def _copy(self, records) -> None:
        self.batch += 1
        batch = self.batch
        tag = f"{self.options.member}.{self.options.incarnation}.{batch}".encode()
        self.log.write(DELIVERED, batch=batch, records=[[r.partition(), r.offset(), *_ours(r.value())]
                                                        for r in records])
        starts, offsets = _starts(records), _next_offsets(records)
        if self.exactly_once:
            self._copy_in_transaction(batch, tag, records, starts, offsets)
        else:
            self._copy_then_commit(batch, tag, records, starts, offsets)

    def _copy_in_transaction(self, batch, tag, records, starts, offsets) -> None:
        try:
            self.producer.begin_transaction()
            self.log.write(BEGAN, batch=batch)
            self._produce(records, tag)
            self.log.write(PRODUCED, batch=batch, records=len(records), failed=0)
            partitions = [confluent_kafka.TopicPartition(self.options.source, p, o) for p, o in offsets.items()]
            metadata = self.consumer.consumer_group_metadata()
            self._call(lambda: self.producer.send_offsets_to_transaction(partitions, metadata, CALL_SECONDS),
                       "send_offsets_to_transaction")
            self._hold_if_asked(batch)
            self.log.write(COMMITTING, batch=batch, offsets=offsets)
            self._call(lambda: self.producer.commit_transaction(CALL_SECONDS), "commit_transaction")
        except confluent_kafka.KafkaException as failure:
            self._abort(batch, starts, _error(failure))
            return
        self.log.write(COMMITTED, batch=batch, offsets=offsets, error="")

    def _abort(self, batch: int, starts: dict[int, int], why: "confluent_kafka.KafkaError") -> None:
        """Abort the batch's transaction (a fatal producer is replaced: the new one's init aborts it), then read
        the batch again."""
        error = ""
        if why.fatal():
            self.producer = confluent_kafka.Producer(self.producer_config)
            self._call(lambda: self.producer.init_transactions(CALL_SECONDS), "init_transactions")
        else:
            try:
                self._call(lambda: self.producer.abort_transaction(CALL_SECONDS), "abort_transaction")
            except confluent_kafka.KafkaException as failure:
                error = str(_error(failure))
        self.log.write(ABORTED, batch=batch, error=error, why=str(why))
        self._rewind(starts)

    def _copy_then_commit(self, batch, tag, records, starts, offsets) -> None:
        self.failed_deliveries = 0
        self._produce(records, tag, on_delivery=self._delivered)
        with self._waiting("flush"):
            left = self.producer.flush(RETRY_SECONDS)
        failed = self.failed_deliveries + left
        self.log.write(PRODUCED, batch=batch, records=len(records), failed=failed)
        if failed:
            self.log.write(ABORTED, batch=batch, error="", why=f"{failed} copies not acknowledged")
            self._rewind(starts)
            return
        self._hold_if_asked(batch)
        self.log.write(COMMITTING, batch=batch, offsets=offsets)
        partitions = [confluent_kafka.TopicPartition(self.options.source, p, o) for p, o in offsets.items()]
        error = ""
        try:
            with self._waiting("commit"):
                result = self.consumer.commit(offsets=partitions, asynchronous=False) or []
            error = "; ".join(f"{tp.partition}: {tp.error}" for tp in result if tp.error)
        except confluent_kafka.KafkaException as failure:
            error = str(_error(failure))
        self.log.write(COMMITTED, batch=batch, offsets=offsets, error=error)

    def _produce(self, records, tag: bytes, on_delivery=None) -> None:
        for record in records:
            headers = list(record.headers() or []) + [
                (COPY_HEADER, tag), (SOURCE_HEADER, f"{record.partition()}@{record.offset()}".encode())]
            while True:
                try:
                    self.producer.produce(self.options.target, value=record.value(), key=record.key(),
                                          headers=headers, on_delivery=on_delivery)
                    break
                except BufferError:
                    self.producer.poll(0.1)  # the local queue is full: let deliveries drain it
        self.producer.poll(0)

    def _delivered(self, error, message) -> None:
        if error is not None:
            self.failed_deliveries += 1

    def _hold_if_asked(self, batch: int) -> None:
        """Between produce and commit, on request: wait here for the kill (a bounded wait, then go on)."""
        if not self.hold_next:
            return
        self.hold_next = False
        self.log.write(HOLDING, batch=batch)
        deadline = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < deadline and not self.stopping:
            if not self._owner_alive():
                raise Gone()
            time.sleep(0.05)

    def _rewind(self, starts: dict[int, int]) -> None:
        """Read the batch again: back to its first offset in each partition the member still holds."""
        held = {tp.partition for tp in self.consumer.assignment()}
        for partition, offset in starts.items():
            if partition in held:
                try:
                    self.consumer.seek(confluent_kafka.TopicPartition(self.options.source, partition, offset))
                except confluent_kafka.KafkaException:
                    pass  # being revoked: the next owner starts from the committed offset anyway

    def _call(self, call, name: str) -> None:
        """A transactional call, asked again while librdkafka says it may be (a coordinator moving, a timeout)."""
        deadline = time.monotonic() + RETRY_SECONDS
        with self._waiting(name):
            while True:
                try:
                    call()
                    return
                except confluent_kafka.KafkaException as failure:
                    error = _error(failure)
                    if not error.retriable() or time.monotonic() >= deadline:
                        raise
                if not self._owner_alive(force=True):
                    raise Gone()
                time.sleep(0.2)

    @contextlib.contextmanager
    def _waiting(self, name: str):
        """Marks the main thread as inside client call ``name`` (for :meth:`_watch_calls`)."""
        self.calling = (name, time.monotonic())
        try:
            yield
        finally:
            self.calling = None

    def _watch_calls(self) -> None:
        """Name on stderr a client call that has not returned after WAITING_SECONDS, and when it does, so that a
        test waiting for this member can say where it is (librdkafka 2.16 can wait past a call's timeout)."""
        reported = None
        while not self.watched.wait(1.0):
            calling = self.calling
            if reported is not None and calling is not reported:
                print(f"{RETURNED} {reported[0]} after {time.monotonic() - reported[1]:.0f} s", file=sys.stderr,
                      flush=True)
                reported = None
            if calling is not None and reported is None and time.monotonic() - calling[1] > WAITING_SECONDS:
                print(f"{WAITING} {calling[0]} for {WAITING_SECONDS:g} s", file=sys.stderr, flush=True)
                reported = calling

    # -- the group -------------------------------------------------------------------------

    def _assigned(self, consumer, partitions) -> None:
        self.log.write(ASSIGNED, partitions=sorted(tp.partition for tp in partitions))

    def _revoked(self, consumer, partitions) -> None:
        self.log.write(REVOKED, partitions=sorted(tp.partition for tp in partitions), lost=False)

    def _lost(self, consumer, partitions) -> None:
        self.log.write(REVOKED, partitions=sorted(tp.partition for tp in partitions), lost=True)

    def _owner_alive(self, force: bool = False) -> bool:
        now = time.monotonic()
        if not force and now - self.owner_checked < OWNER_CHECK_SECONDS:
            return True
        self.owner_checked = now
        return process_start(self.options.owner_pid) == self.options.owner_started


def _debug() -> dict:
    """``KPL_COPIER_DEBUG=eos,cgrp,...`` turns on librdkafka's debug contexts (for investigating, not for tests)."""
    contexts = os.environ.get("KPL_COPIER_DEBUG", "").strip()
    return {"debug": contexts, "log_level": 7} if contexts else {}


def _error(failure: Exception) -> "confluent_kafka.KafkaError":
    error = failure.args[0] if failure.args else None
    return error if isinstance(error, confluent_kafka.KafkaError) else confluent_kafka.KafkaError(
        confluent_kafka.KafkaError._FAIL, str(failure))


def _ours(value: bytes | None) -> list:
    parsed = parse_payload(value)
    return [parsed[0], parsed[1]] if parsed else [None, None]


def _starts(records) -> dict[int, int]:
    starts: dict[int, int] = {}
    for record in records:
        starts.setdefault(record.partition(), record.offset())
    return starts


def _next_offsets(records) -> dict[int, int]:
    offsets: dict[int, int] = {}
    for record in records:
        offsets[record.partition()] = max(offsets.get(record.partition(), 0), record.offset() + 1)
    return offsets


def main(argv: list[str]) -> int:
    options = arguments(argv)
    holder: list[CopierMember] = []

    def graceful(signum, frame):
        if holder:
            holder[0].stopping = True
        else:
            sys.exit(0)

    def hold(signum, frame):
        if holder:
            holder[0].hold_next = True

    # handlers before anything else: the parent may signal as soon as the process exists
    signal.signal(signal.SIGTERM, graceful)
    signal.signal(signal.SIGUSR1, hold)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the owner decides when a member stops
    config = json.loads(sys.stdin.read() or "{}")
    holder.append(CopierMember(options, config))
    holder[0].run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
