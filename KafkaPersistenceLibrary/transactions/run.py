"""A topic's transactional run as the verdict keywords use it: its log, its producer, its read and verdict."""

import random
import time

from robot.api import logger
from robot.utils import DotDict

from ..clients.connection import Connection
from ..clients.read_back import read_back
from ..durability import SendHistory, fault_figures
from ..errors import KafkaPersistenceError, VerificationFailed
from .log import TransactionLog
from .outcome import Outcome
from .producer import TransactionalProducer, transactional_id
from .report import transaction_html, transaction_timeline_png
from .settings import Isolation, TransactionSettings
from .verdict import check_transactions


def use_transactions(topic: str, history: SendHistory, settings: "TransactionSettings | None") -> None:
    """Give a new history its transaction log; refuse mixing plain and transactional sends in one run."""
    if settings is None:
        if history.transactions is not None:
            raise KafkaPersistenceError(f"'{topic}' is written with transactional=True in this run: keep "
                                        f"transactional=True, or use another topic.")
        return
    if history.transactions is None:
        if len(history):
            raise KafkaPersistenceError(f"'{topic}' already holds records sent without transactions in this run: "
                                        f"use another topic for transactional=True.")
        history.transactions = TransactionLog(transactional_id(history.run_id), settings.per_transaction,
                                              settings.abort)
    history.transactions.per_transaction = settings.per_transaction
    history.transactions.abort = settings.abort


def transactional_producer(connection: Connection, topic: str, history: SendHistory, size: int, keys: int,
                           partition: "int | None", timeout: float, rng: random.Random,
                           max_block: "float | None") -> TransactionalProducer:
    """A producer for the history's transaction log; which transactions it aborts is drawn from ``rng``."""
    return TransactionalProducer(connection, topic, history, history.transactions, size, keys, partition, timeout,
                                 random.Random(rng.randrange(2**32)), max_block)


def transaction_counts(history: SendHistory) -> dict[str, int]:
    """Transactions per outcome so far (all 0 for a plain history)."""
    if history.transactions is None:
        return {o.value: 0 for o in Outcome}
    return history.transactions.counts()


def judge_transactions(connection: Connection, topic: str, history: SendHistory, isolation: Isolation,
                       committed_only: "bool | None", timeout: float, started: float, message: "str | None",
                       log_timeline) -> DotDict:
    """Read ``topic`` at ``isolation``, judge it per transaction, log table and timeline; fail as the verdict says."""
    log = history.transactions
    consumed = read_back(connection, topic, history.acked_ends(), timeout, isolation.value)
    verdict = check_transactions(history, log, consumed, isolation.value, committed_only)
    took = time.monotonic() - started
    logger.info(transaction_html(verdict, fault_figures(history)), html=True)
    log_timeline(lambda: transaction_timeline_png(history, log, verdict))
    logger.info(f"Verified {verdict.consumed} records of {verdict.transactions} transactions at {isolation.value} "
                f"in {took:.2f} s.")
    counts = DotDict(verdict.counts(), seconds=round(took, 3))
    if not verdict.passed:
        raise VerificationFailed(message or verdict.summary(), counts)
    return counts
