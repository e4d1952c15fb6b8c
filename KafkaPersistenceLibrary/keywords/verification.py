"""Keywords for volume and verdicts: every acknowledged record must survive every fault."""

import enum
import os
import time
from datetime import timedelta

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError
from robot.utils import DotDict

from ..choices import by_value
from ..clients.delivery import Acks, idempotence
from ..clients.read_back import read_back
from ..clients.recording import BackgroundProducer, ProducerError, RecordingProducer, new_run_id
from ..clients.records import validate_topic
from ..durability import Run, SendHistory, check, fault_figures, payload_maker
from ..durability.report import embed_png_html, timeline_png, verdict_html
from ..errors import KafkaPersistenceError, VerificationFailed
from ..timeouts import to_seconds
from ..transactions.producer import END_SECONDS
from ..transactions.run import judge_transactions, transaction_counts, transactional_producer, use_transactions
from ..transactions.settings import Isolation, TransactionSettings, isolation_for, transaction_settings
from .context import LibraryContext
from .one_line import keyword

BACKGROUND_MAX_SECONDS = 3600  # a forgotten background producer stops by itself
BACKGROUND_MAX_BLOCK_SECONDS = 5.0  # one send waits at most this long for buffer space while the cluster is down


class Timeline(enum.Enum):
    """Where `Verify No Acknowledged Records Lost` puts its timeline picture."""

    EMBED = "embed"
    """Inside the log (the default): one self-contained log.html."""
    FILE = "file"
    """As a PNG beside log.html, linked from the log: for long runs with many verdicts."""
    OFF = "off"
    """No picture."""


class VerificationKeywords:
    ctx: LibraryContext

    @keyword(tags=["verdicts"])
    def produce_records(self, topic: str, count: int, size: int = 100, keys: int = 0,
                        partition: "int | None" = None, timeout: timedelta = timedelta(seconds=60),
                        acks: "Acks | str" = Acks.ALL, idempotent: "bool | None" = None, transactional: bool = False,
                        per_transaction: "int | None" = None, abort: "float | None" = None) -> DotDict:
        """Sends ``count`` unique, traceable records and keeps each send's outcome for `Verify No Acknowledged Records Lost`.

        Each value is ``kpl:<run id>:<seq>:`` padded to ``size`` bytes; ``keys``
        spreads records over that many keys (0: no key); ``partition`` pins one
        partition. ``acks`` and ``idempotent`` as in `Produce Message` (``all``
        and idempotent by default). Each send ends acknowledged (with partition
        and offset), failed, or unknown (not acknowledged within ``timeout``, or
        sent with ``acks=0``: it may or may not be stored).

        With ``transactional=True`` the records go in transactions of
        ``per_transaction`` records (100 by default), of which the share
        ``abort`` (0 to 1, default 0) is aborted on purpose after its records were
        written; each transaction ends committed, aborted, or in doubt (the commit
        failed or timed out: the client cannot know). A transactional producer
        needs ``acks=all`` and idempotence. Its transactional id is new for each
        topic's run (``kpl-tx-<run id>``), so parallel runs never fence each other.

        Returns ``acknowledged``, ``failed``, ``unknown``, ``seconds`` and
        ``records_per_second`` for this call; transactional, also ``committed``,
        ``aborted`` and ``in_doubt`` (transactions).

        | `Create Topic`    durability    partitions=3
        | ${sent} =    `Produce Records`    durability    5000    size=200    keys=10
        | Should Be Equal As Integers    ${sent.acknowledged}    5000
        | `Produce Records`    risky    1000    acks=1
        | `Produce Records`    payments    1000    transactional=True    per_transaction=10    abort=0.2
        """
        if count < 1:
            raise KafkaPersistenceError(f"Invalid count {count}: produce at least 1 record.")
        acks = Acks.parse(acks)
        transactions = transaction_settings(transactional, per_transaction, abort, acks, idempotent)
        idempotent = idempotence(acks, idempotent)
        seconds = to_seconds(timeout)
        _check_shape(size, keys)
        run = self._run_for(topic, transactions)
        if run.background is not None:
            raise KafkaPersistenceError(f"A background producer is writing to '{topic}': stop it first, or use "
                                        f"another topic.")
        producer = self._recording_producer(topic, run.history, size, keys, partition, seconds, acks, idempotent,
                                            transactions=transactions)
        before = run.history.counts()
        transactions_before = transaction_counts(run.history)
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
        if transactions is not None:
            after_transactions = transaction_counts(run.history)
            result.update({key.replace(" ", "_"): after_transactions[key] - transactions_before[key]
                           for key in after_transactions})
        logger.info(f"Produced {count} records of {size} bytes to '{topic}' with acks={acks.text} in {took:.2f} s "
                    f"({result.records_per_second} records/s): {result.acknowledged} acknowledged, "
                    f"{result.failed} failed, {result.unknown} unknown"
                    + (f"; transactions: {result.committed} committed, {result.aborted} aborted, "
                       f"{result.in_doubt} in doubt." if transactions is not None else "."))
        return result

    @keyword(tags=["verdicts"])
    def start_background_producer(self, topic: str, size: int = 100, keys: int = 0, rate: float = 1000,
                                  acks: "Acks | str" = Acks.ALL, idempotent: "bool | None" = None,
                                  transactional: bool = False, per_transaction: "int | None" = None,
                                  abort: "float | None" = None, timeout: timedelta = timedelta(seconds=60)) -> None:
        """Keeps producing traceable records to ``topic`` from a thread until `Stop Background Producer`.

        Use it to put faults under load: the verdict then shows how long writes
        stalled during each fault and how soon the first write after it was
        acknowledged. ``rate`` is records per second (0: as fast as possible);
        ``acks`` and ``idempotent`` as in `Produce Message`; ``transactional``,
        ``per_transaction`` and ``abort`` as in `Produce Records` (stopping
        commits the transaction still open). It stops by itself after an hour.
        ``timeout`` is how long a send may wait for its acknowledgement (the
        client retries meanwhile) before it counts as unknown: shorter than an
        outage, sends during it fail instead of waiting it out.

        | `Start Background Producer`    durability    rate=2000
        | `Restart Broker`    mode=kill
        | `Stop Background Producer`    durability
        | `Start Background Producer`    payments    transactional=True    per_transaction=20    abort=0.2
        | `Start Background Producer`    orders    timeout=5s    # sends fail during an outage longer than 5 s
        """
        if rate < 0:
            raise KafkaPersistenceError(f"Invalid rate {rate}: give records per second, or 0 for as fast as possible.")
        acks = Acks.parse(acks)
        transactions = transaction_settings(transactional, per_transaction, abort, acks, idempotent)
        idempotent = idempotence(acks, idempotent)
        _check_shape(size, keys)
        run = self._run_for(topic, transactions)
        if run.background is not None:
            raise KafkaPersistenceError(f"A background producer already writes to '{topic}'.")
        delivery_timeout = to_seconds(timeout, "timeout")
        producer = self._recording_producer(topic, run.history, size, keys, None, delivery_timeout, acks, idempotent,
                                            max_block=BACKGROUND_MAX_BLOCK_SECONDS, transactions=transactions)
        # A send blocks at most BACKGROUND_MAX_BLOCK_SECONDS; a transactional one may also end a transaction.
        longest_step = BACKGROUND_MAX_BLOCK_SECONDS + (2 * END_SECONDS if transactions else 0)
        run.background = BackgroundProducer(producer, rate, BACKGROUND_MAX_SECONDS, longest_step)
        run.background.start()
        logger.info(f"Background producer started on '{topic}' ({rate:g} records/s, {size} bytes each, "
                    f"acks={acks.text}).")

    @keyword(tags=["verdicts"])
    def stop_background_producer(self, topic: str, timeout: timedelta = timedelta(seconds=60)) -> DotDict:
        """Stops the background producer of ``topic`` and waits up to ``timeout`` for outstanding acknowledgements.

        Returns the topic's send counts so far: ``acknowledged``, ``failed``, ``unknown``.

        | ${counts} =    `Stop Background Producer`    durability
        | Should Be True    ${counts.acknowledged} > 0
        """
        seconds = to_seconds(timeout)
        run = self.ctx.runs.get(topic)
        if run is None or run.background is None:
            raise KafkaPersistenceError(f"No background producer writes to '{topic}'; start one with "
                                        f"'Start Background Producer'.")
        error = run.stop_background(seconds)
        if error is not None:
            raise KafkaPersistenceError(f"The background producer of '{topic}' stopped early: {error}")
        counts = run.history.counts()
        logger.info(f"Background producer of '{topic}' stopped: {counts}.")
        return DotDict(acknowledged=counts["acked"], failed=counts["failed"], unknown=counts["unknown"])

    @keyword(tags=["verdicts"])
    def get_transactional_id(self, topic: str) -> str:
        """Returns the transactional id the library's transactional producer of ``topic`` uses in this run.

        For faults at its transaction coordinator (``broker=coordinator    transactional_id=...``).

        | `Start Background Producer`    payments    transactional=True
        | ${id} =    `Get Transactional Id`    payments
        | `Restart Broker`    mode=kill    broker=coordinator    transactional_id=${id}
        """
        self.ctx.require_cluster(alive=False)
        run = self.ctx.runs.get(topic)
        if run is None or run.history.transactions is None:
            raise KafkaPersistenceError(f"No transactional producer wrote to '{topic}' in this run: call "
                                        f"'Produce Records' or 'Start Background Producer' with transactional=True.")
        return run.history.transactions.transactional_id

    @keyword(tags=["verdicts"])
    def verify_no_acknowledged_records_lost(self, topic: str, timeout: timedelta = timedelta(seconds=120),
                                            idempotent: bool = True, message: "str | None" = None,
                                            timeline: "Timeline | str" = Timeline.EMBED,
                                            isolation: "Isolation | str | None" = None,
                                            committed_only: "bool | None" = None) -> DotDict:
        """Reads every partition of ``topic`` from the beginning and fails if any acknowledged record is missing.

        A fresh consumer reads until it has passed the last acknowledged offset
        of each partition (bounded by ``timeout``; a partition whose end stays
        below its acknowledged offsets for 5 s is read as far as it goes).
        Nodes may be down: it waits (within ``timeout``) until each partition
        has a leader on a node that runs, and reads from the brokers that serve;
        a partition still without one at the deadline is named in one line with
        the nodes that are down. The verdict, in the style of Kafka's own
        system tests and Jepsen:
        - *lost* (acknowledged, never read): fails;
        - *not at acknowledged offset*, *order violations*: fail;
        - *duplicated*: fails when ``idempotent`` (the library's producer is, with ``acks=all``);
        - *duplicated after an epoch bump*: reported, never fatal: librdkafka bumped
          the producer's epoch (sends timed out) and sent what was outstanding
          again, which Kafka cannot deduplicate across epochs;
        - failed sends read anyway, unknown outcomes: reported;
        - nothing acknowledged at all (e.g. ``acks=0``): fails, as there is
          nothing to judge.

        What a pass proves: every record the cluster acknowledged to this
        library's producers for ``topic`` was readable afterwards, where it was
        acknowledged, in order. It says nothing about records other producers
        wrote, nor about faults the test did not make.

        A topic written with ``transactional=True`` is judged per transaction,
        by a reader at ``isolation`` (``read_committed`` by default for it,
        ``read_uncommitted`` otherwise):
        - *lost committed* (a committed transaction with a record missing) and
          *torn* (some but not all of a transaction's records visible): fail;
        - *aborted read* (a record of an aborted transaction visible): fails
          when ``committed_only`` (by default: at ``read_committed``); at
          ``read_uncommitted`` the reader sees aborted records and says how many;
        - *in doubt* (the commit failed or timed out): must be visible whole or
          not at all, and the verdict says which;
        - duplicated, not at the acknowledged offset, order: fail as above.
        It proves that Kafka kept every committed transaction whole and hid every
        aborted one from this reader; not that another client's transactions
        were, nor anything about consumer offsets (the copier has its own verdict).

        The log gets a table of the verdict and of each fault (downtime, time
        to first acknowledgement after it, longest stretch without one) and a
        timeline picture (``timeline``: ``embed``, ``file`` beside log.html, or
        ``off``). Returns the counts (``acknowledged``, ``read``, ``lost``,
        ``duplicated``, ...). ``message`` replaces the failure message.

        | `Verify No Acknowledged Records Lost`    durability
        | ${verdict} =    `Verify No Acknowledged Records Lost`    durability    timeout=5 min
        | Should Be Equal As Integers    ${verdict.lost}    0
        | `Verify No Acknowledged Records Lost`    durability    timeline=file
        | `Stop Broker`    broker=leader    topic=durability    mode=kill
        | `Verify No Acknowledged Records Lost`    durability    # read from the brokers left
        | `Verify No Acknowledged Records Lost`    payments    # transactional: read_committed
        | `Verify No Acknowledged Records Lost`    payments    isolation=read_uncommitted
        """
        validate_topic(topic)
        seconds = to_seconds(timeout)
        timeline = by_value(Timeline, timeline, "Invalid timeline")
        isolation_for(isolation, False)  # a misspelt isolation is refused before anything is read
        cluster = self.ctx.require_cluster()
        run = self.ctx.runs.get(topic)
        if run is None or len(run.history) == 0:
            raise KafkaPersistenceError(f"Nothing was produced to '{topic}' with 'Produce Records' or "
                                        f"'Start Background Producer': there is nothing to verify.")
        if run.background is not None:
            raise KafkaPersistenceError(f"The background producer of '{topic}' still runs: call "
                                        f"'Stop Background Producer' first.")
        self.ctx.require_no_random_faults("Verify No Acknowledged Records Lost")
        history = run.history
        level = isolation_for(isolation, history.transactions is not None)
        if committed_only is not None and history.transactions is None:
            raise KafkaPersistenceError(f"committed_only= judges transactions, and '{topic}' was written without "
                                        f"transactional=True: drop committed_only=.")
        started = time.monotonic()
        cluster.wait_for_serving_leaders(topic, started + seconds, seconds)
        remaining = max(1.0, started + seconds - time.monotonic())
        if history.transactions is not None:
            return judge_transactions(cluster.connection, topic, history, level, committed_only, remaining, started,
                                      message, lambda draw: _log_timeline(timeline, topic, draw))
        verdict = check(history, read_back(cluster.connection, topic, history.acked_ends(), remaining,
                                           level.value), idempotent=idempotent)
        took = time.monotonic() - started
        logger.info(verdict_html(verdict, fault_figures(history)), html=True)
        _log_timeline(timeline, topic, lambda: timeline_png(history, verdict))
        logger.info(f"Verified {verdict.consumed} records in {took:.2f} s "
                    f"({verdict.consumed / took if took else 0:.0f} records/s).")
        counts = DotDict(verdict.counts(), seconds=round(took, 3))
        if not verdict.passed:
            raise VerificationFailed(message or verdict.summary(), counts)
        return counts

    def _run_for(self, topic: str, transactions: "TransactionSettings | None" = None) -> Run:
        validate_topic(topic)
        self.ctx.require_cluster()
        run = self.ctx.runs.get(topic)
        if run is None:
            run = self.ctx.runs[topic] = Run(SendHistory(new_run_id()))
        use_transactions(topic, run.history, transactions)
        return run

    def _recording_producer(self, topic, history, size, keys, partition, timeout, acks, idempotent,
                            max_block=None, transactions: "TransactionSettings | None" = None) -> RecordingProducer:
        try:
            if transactions is not None:
                return transactional_producer(self.ctx.require_cluster().connection, topic, history, size, keys,
                                              partition, timeout, self.ctx.random, max_block)
            return RecordingProducer(self.ctx.require_cluster().connection, topic, history, size, keys, partition,
                                     timeout, acks, idempotent, max_block)
        except ProducerError as error:
            raise KafkaPersistenceError(f"Cannot produce to '{topic}': {error}") from None


def _check_shape(size: int, keys: int) -> None:
    """Refuse record shapes that cannot work, before anything connects."""
    if keys < 0:
        raise KafkaPersistenceError(f"Invalid keys {keys}: give the number of distinct keys, or 0 for none.")
    try:
        payload_maker(new_run_id(), size)
    except ValueError as error:
        raise KafkaPersistenceError(f"Invalid size {size}: {error}.") from None


_timeline_files = 0


def _log_timeline(timeline: Timeline, topic: str, draw) -> None:
    """Embed the picture, or write it beside log.html and link it (as SeleniumLibrary does screenshots)."""
    global _timeline_files
    if timeline is Timeline.OFF:
        return
    png = draw()
    if timeline is Timeline.EMBED:
        logger.info(embed_png_html(png), html=True)
        return
    try:
        directory = BuiltIn().get_variable_value("${OUTPUT DIR}")
    except RobotNotRunningError:
        directory = os.getcwd()
    _timeline_files += 1
    name = f"kpl-timeline-{topic}-{os.getpid()}-{_timeline_files}.png"
    with open(os.path.join(directory, name), "wb") as f:
        f.write(png)
    logger.info(f'<a href="{name}"><img src="{name}" width="800px" alt="persistence timeline"></a>', html=True)
