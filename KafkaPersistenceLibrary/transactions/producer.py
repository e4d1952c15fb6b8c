"""A transactional RecordingProducer: traceable sends grouped into transactions, each with its outcome.

librdkafka (confluent-kafka), like the plain producer: its transaction API is the
mature one (KIP-98 since librdkafka 1.4, the one Confluent supports), every call
has a timeout and its errors say whether to retry, abort or give up
(``retriable``, ``txn_requires_abort``, ``fatal``), which is exactly how an
outcome is decided here:

- committed: ``commit_transaction`` returned;
- aborted: ``abort_transaction`` returned, or we aborted on purpose (we never asked
  for a commit, so Kafka must never show it, even if the abort call itself failed);
- in doubt: the commit failed or timed out without a way to know what the
  coordinator did. The client is replaced: the new one's ``init_transactions``
  fences the old one, and the coordinator finishes (or aborts) what it had.
"""

import random
import time

import confluent_kafka

from ..clients.client_errors import reason
from ..clients.connection import Connection
from ..clients.delivery import Acks
from ..clients.recording import ProducerError, RecordingProducer
from ..durability import SendHistory
from .log import TransactionLog
from .outcome import Outcome

# The coordinator aborts a transaction open longer than this: what a killed run left open is gone
# within it (a read_committed reader waits at most this long for it), and a commit under faults has
# this long to finish.
TRANSACTION_TIMEOUT_MS = 30_000
END_SECONDS = 20.0  # one commit or abort, retried within this; then the transaction is in doubt


def transactional_id(run_id: str) -> str:
    """Unique per run (a run id is random), so parallel runs (pabot) never fence each other."""
    return f"kpl-tx-{run_id}"


class TransactionalProducer(RecordingProducer):
    """Sends in transactions of ``log.per_transaction`` records and aborts ``log.abort`` of them on purpose."""

    def __init__(self, connection: Connection, topic: str, history: SendHistory, log: TransactionLog,
                 size: int, keys: int, partition: "int | None", delivery_timeout: float, rng: random.Random,
                 max_block: "float | None" = None):
        super().__init__(connection, topic, history, size, keys, partition, delivery_timeout, Acks.ALL, True,
                         max_block, extra={
                             "transactional.id": log.transactional_id, "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
                             # librdkafka insists: a record may not wait longer than its transaction may last
                             "message.timeout.ms": min(max(int(delivery_timeout * 1000), 1000), TRANSACTION_TIMEOUT_MS),
                         })
        self.log, self._rng = log, rng
        self._ready = False  # False while the client has no transactional producer id (init_transactions)
        self._not_ready = ""  # why, in the client's words
        self._init_transactions()
        if not self._ready:
            super().close()
            raise ProducerError(f"transactions as '{log.transactional_id}' could not start within {END_SECONDS:g} s: "
                                f"{self._not_ready}")

    def send_one(self) -> int:
        if self.log.open is None and not self._begin():
            seq = self.history.new_send()  # never handed over: the client cannot start a transaction now
            self.history.failed(seq)
            return seq
        seq = super().send_one()
        if seq + 1 - self.log.open.first >= self.log.per_transaction:
            self._end(abort=self._rng.random() < self.log.abort)
        return seq

    def flush(self, timeout: float) -> None:
        """Commit the transaction still open (it may hold fewer records), then wait for every outcome."""
        if self.log.open is not None:
            self._end(abort=False)
        super().flush(timeout)

    def close(self) -> None:
        """An open transaction (a send raised) is aborted: it was never committed."""
        if self.log.open is not None:
            self._abort("")
        super().close()

    def _begin(self) -> bool:
        """Begin a transaction; False when no client can (init_transactions keeps failing, e.g. the
        coordinator is still loading after a power cut: each try takes up to END_SECONDS)."""
        if not self._ready:
            self._init_transactions()
            if not self._ready:
                return False
        try:
            self._producer.begin_transaction()
        except confluent_kafka.KafkaException:  # a client left in an error state: a new one
            self._renew()
            if not self._ready:
                return False
            self._producer.begin_transaction()
        self.log.begin(len(self.history), self.history.now())
        return True

    def _end(self, abort: bool) -> None:
        if abort:
            self._producer.flush(END_SECONDS)  # written first: librdkafka drops unsent records on abort
            self._abort("")
            return
        outcome, error = self._commit()
        self.log.end(len(self.history), outcome, self.history.now(), error)

    def _commit(self) -> tuple[Outcome, str]:
        deadline = time.monotonic() + END_SECONDS
        while True:
            try:
                self._producer.commit_transaction(max(0.5, deadline - time.monotonic()))
                return Outcome.COMMITTED, ""
            except confluent_kafka.KafkaException as raised:
                error = raised.args[0]
                if error.txn_requires_abort():  # the commit cannot succeed: abort, and it is aborted
                    return self._abort_after_failed_commit(reason(raised))
                if error.retriable() and not error.fatal() and time.monotonic() < deadline:
                    continue
                self._renew()
                return Outcome.IN_DOUBT, reason(raised)

    def _abort_after_failed_commit(self, why: str) -> tuple[Outcome, str]:
        try:
            self._producer.abort_transaction(END_SECONDS)
            return Outcome.ABORTED, why
        except confluent_kafka.KafkaException as raised:
            self._renew()
            return Outcome.IN_DOUBT, f"{why}; the abort failed too: {reason(raised)}"

    def _abort(self, why: str) -> None:
        try:
            self._producer.abort_transaction(END_SECONDS)
        except confluent_kafka.KafkaException as raised:
            why = why or f"the abort failed ({reason(raised)}); never committed, so still aborted"
            self._renew()
        self.log.end(len(self.history), Outcome.ABORTED, self.history.now(), why)

    def _init_transactions(self) -> None:
        """Get a producer id for the transactional id (fencing an older client); sets ``_ready``."""
        deadline = time.monotonic() + END_SECONDS
        while True:
            try:
                self._producer.init_transactions(max(0.5, deadline - time.monotonic()))
                self._ready = True
                return
            except confluent_kafka.KafkaException as raised:
                self._not_ready = reason(raised)
                if raised.args[0].retriable() and time.monotonic() < deadline:
                    continue
                if not raised.args[0].retriable():  # a fatal state: only a new client may try again
                    self._producer.flush(0)
                    self._producer = confluent_kafka.Producer(self._config)
                return

    def _renew(self) -> None:
        """Replace a client whose transaction state is unknown; the new one fences it (same transactional id)."""
        old = self._producer
        old.purge()
        old.flush(0)  # each purged send gets its outcome (failed, or unknown if it was in flight)
        self._producer = confluent_kafka.Producer(self._config)
        self._ready = False
        self._init_transactions()
