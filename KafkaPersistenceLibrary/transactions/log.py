"""Which sends made up which transaction, and how each transaction ended (pure).

A transactional producer sends one transaction at a time from one thread, so a
transaction is a contiguous range of seqs: a few numbers per transaction, nothing
per record. A record's transaction is found by bisection.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

from .outcome import Outcome


@dataclass
class Transaction:
    """Seqs ``first`` .. ``end - 1``; times are seconds since the history's start."""

    number: int
    first: int
    began_at: float
    end: int = -1  # -1 while open
    outcome: Outcome | None = None  # None while open
    ended_at: float | None = None
    error: str = ""  # why a commit did not simply succeed (the client's words)

    @property
    def size(self) -> int:
        return max(0, self.end - self.first)


class TransactionLog:
    """The transactions of one history, in order."""

    def __init__(self, transactional_id: str, per_transaction: int, abort: float):
        self.transactional_id = transactional_id
        self.per_transaction = per_transaction
        self.abort = abort
        self.transactions: list[Transaction] = []
        self._firsts: list[int] = []
        self._lock = threading.Lock()

    @property
    def open(self) -> Transaction | None:
        last = self.transactions[-1] if self.transactions else None
        return last if last is not None and last.outcome is None else None

    def begin(self, first: int, at: float) -> Transaction:
        if self.open is not None:
            raise RuntimeError("a transaction is already open")
        with self._lock:
            txn = Transaction(len(self.transactions), first, at)
            self.transactions.append(txn)
            self._firsts.append(first)
        return txn

    def end(self, end: int, outcome: Outcome, at: float, error: str = "") -> Transaction:
        txn = self.open
        if txn is None:
            raise RuntimeError("no transaction is open")
        txn.end, txn.outcome, txn.ended_at, txn.error = end, outcome, at, error
        return txn

    def of(self, seq: int) -> Transaction | None:
        """The transaction ``seq`` was sent in (None: sent outside any, or not sent)."""
        index = bisect.bisect_right(self._firsts, seq) - 1
        if index < 0:
            return None
        txn = self.transactions[index]
        return txn if txn.first <= seq < (txn.end if txn.end >= 0 else seq + 1) else None

    def counts(self) -> dict[str, int]:
        """Transactions per outcome, e.g. ``{"committed": 40, "aborted": 9, "in doubt": 1}``."""
        out = {o.value: 0 for o in Outcome}
        for txn in self.transactions:
            if txn.outcome is not None:
                out[txn.outcome.value] += 1
        return out
