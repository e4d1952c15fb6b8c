"""Keywords for volume and verdicts: every acknowledged record must survive every restart."""

import dataclasses
import time
from datetime import timedelta

from kafka.errors import KafkaError
from robot.api import logger
from robot.api.deco import keyword
from robot.utils import DotDict

from ..durability import SendHistory, check, fault_figures
from ..durability.report import embed_png_html, timeline_png, verdict_html
from ..durability_client import BackgroundProducer, RecordingProducer, new_run_id, read_back
from ..errors import KafkaPersistenceError, VerificationFailed
from ..kafka_client import validate_topic
from ..timeouts import to_seconds
from .context import LibraryContext

BACKGROUND_MAX_SECONDS = 3600  # a forgotten background producer stops by itself


@dataclasses.dataclass
class DurabilityRun:
    """The send history of one topic, and its background producer while one runs."""

    history: SendHistory
    background: BackgroundProducer | None = None


class DurabilityKeywords:
    ctx: LibraryContext

    @keyword
    def produce_records(self, topic: str, count: int, size: int = 100, keys: int = 0,
                        partition: "int | None" = None, timeout: timedelta = timedelta(seconds=60)) -> DotDict:
        """Sends ``count`` unique, traceable records and records each send's outcome for `Verify No Acknowledged Records Lost`.

        Each value is ``kpl:<run id>:<seq>:`` padded to ``size`` bytes; ``keys``
        spreads records over that many keys (0: no key); ``partition`` pins one
        partition. The producer is idempotent with ``acks=all``. Each send ends
        acknowledged (with partition and offset), failed, or unknown (not
        acknowledged within ``timeout``: it may or may not be stored).

        Returns ``acknowledged``, ``failed``, ``unknown``, ``seconds`` and
        ``records_per_second`` for this call.

        | `Create Topic`    durability    partitions=3
        | ${sent} =    `Produce Records`    durability    5000    size=200    keys=10
        | Should Be Equal As Integers    ${sent.acknowledged}    5000
        """
        if count < 1:
            raise KafkaPersistenceError(f"Invalid count {count}: produce at least 1 record.")
        run = self._run_for(topic)
        if run.background is not None:
            raise KafkaPersistenceError(f"A background producer is writing to '{topic}': stop it first, or use "
                                        f"another topic.")
        seconds = to_seconds(timeout)
        producer = self._recording_producer(topic, run.history, size, keys, partition, seconds)
        before = run.history.counts()
        started = time.monotonic()
        try:
            for _ in range(count):
                producer.send_one()
            producer.flush(seconds)
            took = time.monotonic() - started  # until every outcome is known; closing is not producing
        finally:
            producer.close()
        after = run.history.counts()
        result = DotDict(acknowledged=after["acked"] - before["acked"], failed=after["failed"] - before["failed"],
                         unknown=after["unknown"] - before["unknown"],
                         seconds=round(took, 3), records_per_second=round(count / took if took else 0.0))
        logger.info(f"Produced {count} records of {size} bytes to '{topic}' in {took:.2f} s "
                    f"({result.records_per_second} records/s): {result.acknowledged} acknowledged, "
                    f"{result.failed} failed, {result.unknown} unknown.")
        return result

    @keyword
    def start_background_producer(self, topic: str, size: int = 100, keys: int = 0, rate: float = 1000) -> None:
        """Keeps producing traceable records to ``topic`` from a thread until `Stop Background Producer`.

        Use it to put restarts under load: the verdict then shows how long
        writes stalled during each restart and how soon the first write after it
        was acknowledged. ``rate`` is records per second (0: as fast as possible).
        It stops by itself after an hour.

        | `Start Background Producer`    durability    rate=2000
        | `Restart Broker`    mode=kill
        | `Stop Background Producer`    durability
        """
        run = self._run_for(topic)
        if run.background is not None:
            raise KafkaPersistenceError(f"A background producer already writes to '{topic}'.")
        if rate < 0:
            raise KafkaPersistenceError(f"Invalid rate {rate}: give records per second, or 0 for as fast as possible.")
        producer = self._recording_producer(topic, run.history, size, keys, None, 60.0)
        run.background = BackgroundProducer(producer, rate, BACKGROUND_MAX_SECONDS)
        run.background.start()
        logger.info(f"Background producer started on '{topic}' ({rate:g} records/s, {size} bytes each).")

    @keyword
    def stop_background_producer(self, topic: str, timeout: timedelta = timedelta(seconds=60)) -> DotDict:
        """Stops the background producer of ``topic`` and waits up to ``timeout`` for outstanding acknowledgements.

        Returns the topic's send counts so far: ``acknowledged``, ``failed``, ``unknown``.

        | ${counts} =    `Stop Background Producer`    durability
        | Should Be True    ${counts.acknowledged} > 0
        """
        run = self.ctx.durability_runs.get(topic)
        if run is None or run.background is None:
            raise KafkaPersistenceError(f"No background producer writes to '{topic}'; start one with "
                                        f"'Start Background Producer'.")
        background, run.background = run.background, None
        background.stop(to_seconds(timeout))
        if background.error is not None:
            raise KafkaPersistenceError(f"The background producer of '{topic}' stopped early: {background.error}")
        counts = run.history.counts()
        logger.info(f"Background producer of '{topic}' stopped: {counts}.")
        return DotDict(acknowledged=counts["acked"], failed=counts["failed"], unknown=counts["unknown"])

    @keyword
    def verify_no_acknowledged_records_lost(self, topic: str, timeout: timedelta = timedelta(seconds=120),
                                            idempotent: bool = True) -> DotDict:
        """Reads every partition of ``topic`` from the beginning and fails if any acknowledged record is missing.

        A fresh consumer reads until it has passed the last acknowledged offset
        of each partition (bounded by ``timeout``). The verdict, in the style of
        Kafka's own system tests and Jepsen:
        - *lost* (acknowledged, never read): fails;
        - *not at acknowledged offset*, *order violations*: fail;
        - *duplicated*: fails when ``idempotent`` (the library's producer is);
        - failed sends read anyway, unknown outcomes: reported.

        The log gets a table of the verdict and of each restart (downtime, time
        to first acknowledgement after it, longest stretch without one) and a
        timeline picture. Returns the counts (``acknowledged``, ``read``,
        ``lost``, ``duplicated``, ...).

        | `Verify No Acknowledged Records Lost`    durability
        | ${verdict} =    `Verify No Acknowledged Records Lost`    durability    timeout=5 min
        | Should Be Equal As Integers    ${verdict.lost}    0
        """
        validate_topic(topic)
        broker = self.ctx.require_broker()
        run = self.ctx.durability_runs.get(topic)
        if run is None or len(run.history) == 0:
            raise KafkaPersistenceError(f"Nothing was produced to '{topic}' with 'Produce Records' or "
                                        f"'Start Background Producer': there is nothing to verify.")
        if run.background is not None:
            raise KafkaPersistenceError(f"The background producer of '{topic}' still runs: call "
                                        f"'Stop Background Producer' first.")
        history = run.history
        last_acked = {}
        for _, partition, offset in history.acked_records():
            last_acked[partition] = max(last_acked.get(partition, 0), offset + 1)
        started = time.monotonic()
        verdict = check(history, read_back(broker.bootstrap, topic, last_acked, to_seconds(timeout)),
                        idempotent=idempotent)
        took = time.monotonic() - started
        figures = fault_figures(history)
        logger.info(verdict_html(verdict, figures), html=True)
        logger.info(embed_png_html(timeline_png(history, verdict)), html=True)
        logger.info(f"Verified {verdict.consumed} records in {took:.2f} s "
                    f"({verdict.consumed / took if took else 0:.0f} records/s).")
        if not verdict.passed:
            raise VerificationFailed(verdict.summary())
        return DotDict({name: getattr(verdict, name) for name in (
            "acknowledged", "read", "consumed", "lost", "duplicated", "offset_mismatches", "order_violations",
            "failed", "failed_but_read", "unknown", "unknown_read", "foreign")}, seconds=round(took, 3))

    def _run_for(self, topic: str) -> DurabilityRun:
        validate_topic(topic)
        self.ctx.require_broker()
        run = self.ctx.durability_runs.get(topic)
        if run is None:
            run = self.ctx.durability_runs[topic] = DurabilityRun(SendHistory(new_run_id()))
        return run

    def _recording_producer(self, topic, history, size, keys, partition, timeout) -> RecordingProducer:
        if keys < 0:
            raise KafkaPersistenceError(f"Invalid keys {keys}: give the number of distinct keys, or 0 for none.")
        try:
            return RecordingProducer(self.ctx.require_broker().bootstrap, topic, history, size, keys, partition,
                                     timeout)
        except ValueError as error:
            raise KafkaPersistenceError(f"Invalid size {size}: {error}.") from None
        except KafkaError as error:
            raise KafkaPersistenceError(f"Cannot produce to '{topic}': {error}") from None
