"""One consumer group member as its own OS process, so that killing it is a real crash.

Run by :class:`~.group.ConsumerGroup` as ``python -m KafkaPersistenceLibrary.consumers.member``;
the client configuration (security included) arrives as JSON on stdin, never on the
command line where ``ps`` would show a password. The member subscribes to one topic
with librdkafka, handles records the way ``--commit`` says, and writes every
delivery, processing, commit, assignment and revocation to its event log
(``events.py``) before it acts on it.

Commit modes, as applications do it:

- ``after-processing``: process, then commit what was processed, synchronously, once a
  second and at every revocation and stop (at least once: a crash redelivers up to a
  second of records, as periodic committers do);
- ``before-processing``: commit what a poll fetched, then process it (a crash in
  between skips what was committed and not processed: the bug the verdict catches);
- ``auto``: librdkafka's auto commit (every second, of what polls returned).

SIGTERM is a graceful stop: finish the batch in hand, commit what was processed,
close (which leaves the group) and write ``stopped``. The member also exits by
itself when its owner process is gone (a killed test run), so it never outlives it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import confluent_kafka

from ..broker.labels import process_start
from ..durability.payload import parse_payload
from .events import ASSIGNED, COMMITTED, COMMITTING, DELIVERED, PROCESSED, REVOKED, STARTED, STOPPED, EventLog

MARKER = "KafkaPersistenceLibrary.consumers.member"  # how a sweep knows our processes in /proc
AFTER, BEFORE, AUTO = "after-processing", "before-processing", "auto"
BATCH = 100  # records one poll may return; fewer with slow processing (batch_size)
BATCH_SECONDS = 1.0  # a slow member polls at least this often, so it answers a rebalance in time
POLL_SECONDS = 0.2
OWNER_CHECK_SECONDS = 0.5
COMMIT_EVERY_SECONDS = 1.0  # after-processing: how often processed offsets are committed


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=MARKER)
    parser.add_argument("--log", required=True)
    parser.add_argument("--member", type=int, required=True)
    parser.add_argument("--incarnation", type=int, required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--commit", choices=(AFTER, BEFORE, AUTO), required=True)
    parser.add_argument("--processing", type=float, default=0.0, help="seconds per record")
    parser.add_argument("--owner-pid", type=int, required=True)
    parser.add_argument("--owner-started", required=True)
    return parser.parse_args(argv)


class Member:
    """The poll loop of one member, writing its events as it goes."""

    def __init__(self, options: argparse.Namespace, config: dict):
        self.options = options
        self.log = EventLog(options.log, options.member, options.incarnation)
        self.stopping = False
        self.processed: dict[int, int] = {}  # partition -> next offset after the last processed record
        self.committed: dict[int, int] = {}  # what this member last committed
        self.owner_checked = 0.0
        self.last_commit = time.monotonic()
        self.batch = batch_size(options.processing)
        if options.commit == AUTO:
            config = {**config, "enable.auto.commit": True, "on_commit": self._auto_committed}
        else:
            config = {**config, "enable.auto.commit": False}
        self.consumer = confluent_kafka.Consumer({**config, "group.id": options.group})

    def run(self) -> None:
        self.log.write(STARTED, pid=os.getpid(), group=self.options.group, topic=self.options.topic,
                       commit=self.options.commit)
        self.consumer.subscribe([self.options.topic], on_assign=self._assigned, on_revoke=self._revoked,
                                on_lost=self._lost)
        while not self.stopping and self._owner_alive():
            records = [r for r in self.consumer.consume(self.batch, POLL_SECONDS) if r.error() is None]
            if records:
                self.log.write(DELIVERED, records=[[r.partition(), r.offset(), *_ours(r.value())] for r in records])
                if self.options.commit == BEFORE:
                    self._commit(_next_offsets(records))
                self._process(records)
            if self.options.commit == AFTER and time.monotonic() - self.last_commit >= COMMIT_EVERY_SECONDS:
                self._commit_processed()
        if self.stopping:
            if self.options.commit == AFTER:
                self._commit_processed()
            self.consumer.close()  # revokes (commits in the callback) and leaves the group
            self.log.write(STOPPED, how="graceful")

    def _process(self, records) -> None:
        for record in records:  # a graceful stop finishes the batch in hand, as a well-behaved application does
            if self.options.processing:
                time.sleep(self.options.processing)
            self.log.write(PROCESSED, records=[[record.partition(), record.offset()]])
            self.processed[record.partition()] = record.offset() + 1

    def _commit_processed(self) -> None:
        self.last_commit = time.monotonic()
        self._commit({p: o for p, o in self.processed.items() if self.committed.get(p) != o})

    def _commit(self, offsets: dict[int, int]) -> None:
        if not offsets:
            return
        self.log.write(COMMITTING, offsets=offsets)
        partitions = [confluent_kafka.TopicPartition(self.options.topic, p, o) for p, o in offsets.items()]
        error = ""
        try:
            result = self.consumer.commit(offsets=partitions, asynchronous=False) or []
            error = "; ".join(f"{tp.partition}: {tp.error}" for tp in result if tp.error)
        except confluent_kafka.KafkaException as failure:
            error = str(failure.args[0] if failure.args else failure)
        if not error:
            self.committed.update(offsets)
        self.log.write(COMMITTED, offsets=offsets, error=error)

    def _assigned(self, consumer, partitions) -> None:
        self.log.write(ASSIGNED, partitions=sorted(tp.partition for tp in partitions))

    def _revoked(self, consumer, partitions) -> None:
        mine = {tp.partition for tp in partitions}
        if self.options.commit == AFTER:
            self._commit({p: o for p, o in self.processed.items() if p in mine and self.committed.get(p) != o})
        self.log.write(REVOKED, partitions=sorted(mine), lost=False)
        for partition in mine:
            self.processed.pop(partition, None)

    def _lost(self, consumer, partitions) -> None:
        mine = {tp.partition for tp in partitions}
        self.log.write(REVOKED, partitions=sorted(mine), lost=True)
        for partition in mine:
            self.processed.pop(partition, None)

    def _auto_committed(self, error, partitions) -> None:
        offsets = {tp.partition: tp.offset for tp in partitions if tp.offset >= 0 and tp.topic == self.options.topic}
        if offsets or error:
            self.log.write(COMMITTED, offsets=offsets, error=str(error) if error else "")

    def _owner_alive(self) -> bool:
        now = time.monotonic()
        if now - self.owner_checked < OWNER_CHECK_SECONDS:
            return True
        self.owner_checked = now
        return process_start(self.options.owner_pid) == self.options.owner_started


def batch_size(processing: float) -> int:
    """Records per poll: about a second of work (as an application tunes ``max.poll.records``).

    A member busy with a long batch does not poll, and a rebalance waits for it: with
    ``processing=1 s`` and 100 records a batch, a second member would wait 100 s for partitions.
    """
    if processing <= 0:
        return BATCH
    return max(1, min(BATCH, int(BATCH_SECONDS / processing)))


def _ours(value: bytes | None) -> list:
    parsed = parse_payload(value)
    return [parsed[0], parsed[1]] if parsed else [None, None]


def _next_offsets(records) -> dict[int, int]:
    offsets: dict[int, int] = {}
    for record in records:
        offsets[record.partition()] = max(offsets.get(record.partition(), 0), record.offset() + 1)
    return offsets


def main(argv: list[str]) -> int:
    options = arguments(argv)
    config = json.loads(sys.stdin.read() or "{}")
    member = Member(options, config)

    def graceful(signum, frame):
        member.stopping = True

    signal.signal(signal.SIGTERM, graceful)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the owner decides when a member stops
    member.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
