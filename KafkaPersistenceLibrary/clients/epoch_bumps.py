"""Notices when librdkafka bumps an idempotent producer's epoch, so the verdict can say why records came twice.

Kafka deduplicates an idempotent producer's retries by (producer id, epoch, sequence). librdkafka bumps the
epoch when sends time out while in flight or a partition's sequence goes out of order in a leader change;
what was still outstanding is then sent again under the new epoch, and a batch the broker had already
appended under the old one is appended a second time. librdkafka's maintainers say so
(confluentinc/librdkafka#4953: only transactions give exactly-once in every case). It is a limit of the
client, not a loss or a broker fault, so the verdict reports those duplicates apart from the ones
idempotence should have prevented. The bump is seen in librdkafka's own ``eos`` debug log: about ten
lines per bump, a handful per producer otherwise.
"""

from __future__ import annotations

import logging

from ..durability import SendHistory

BUMPED = "bumped epoch"  # librdkafka's DRAIN line: "All partitions drained, bumped epoch to PID{...}"


class _EpochBumpWatch(logging.Handler):
    """Tells the history about each bump; librdkafka calls it on the thread that serves delivery reports."""

    def __init__(self, history: SendHistory):
        super().__init__(logging.DEBUG)
        self._history = history

    def emit(self, record: logging.LogRecord) -> None:
        if BUMPED in record.getMessage():
            self._history.epoch_bumped()


def epoch_bump_settings(history: SendHistory) -> dict:
    """librdkafka settings that report the producer's epoch bumps to ``history`` (and print nothing)."""
    logger = logging.Logger(f"KafkaPersistenceLibrary.producer.{history.run_id}")  # not registered: no leak
    logger.addHandler(_EpochBumpWatch(history))
    return {"debug": "eos", "logger": logger}
