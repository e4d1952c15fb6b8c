"""What happened to every send, in bounded memory.

One :class:`SendHistory` describes one producer of one run. Columns are
``array.array`` objects indexed by seq (the send's sequence number, also written
into its payload), so a million sends cost about 30 bytes each instead of a
Python object per record.

Thread safety: one thread sends (``new_send`` appends to the columns) and the
producer's callback thread records outcomes (``acked``/``failed``) while another
may mark timeouts (``unknown``). Outcome changes are check-then-set, so they take
one ``threading.Lock``. ``new_send`` does not: only the sending thread appends,
and under CPython's GIL each append and item assignment is atomic, so an outcome
written for an earlier seq is never torn by an append. Taking the lock there
too made the main and callback threads hand it back and forth for every record
(measured: produce ~20% slower). Read-side helpers do not lock: use them after
the producer has flushed.
"""

from __future__ import annotations

import bisect
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass

PENDING, ACKED, FAILED, UNKNOWN = 0, 1, 2, 3
OUTCOME_NAMES = {PENDING: "pending", ACKED: "acked", FAILED: "failed", UNKNOWN: "unknown"}


@dataclass
class Fault:
    """A disturbance of the cluster; times are seconds since the history's start.

    ``down_at`` is when the fault was injected, ``up_at`` when the cluster served
    again (None while it is still down, or when it never came back). ``target``
    says which node(s), ``error`` why the library's recovery failed, if it did.
    """

    kind: str
    down_at: float
    up_at: float | None = None
    target: str = ""
    error: str = ""
    colour: str = ""  # how the timeline marks it: the fault kind's own colour

    @property
    def label(self) -> str:
        return f"{self.kind} {self.target}".strip() + (" (FAILED)" if self.error else "")

    @property
    def downtime(self) -> float | None:
        return None if self.up_at is None else self.up_at - self.down_at


class SendHistory:
    """Outcome, position and timing of every send, indexed by seq."""

    def __init__(self, run_id: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.run_id = run_id
        self._clock = clock
        self.started = clock()
        self._lock = threading.Lock()
        self.outcome = array("b")
        self.partition = array("i")
        self.offset = array("q")
        self.sent_at = array("d")
        self.acked_at = array("d")  # -1 until acknowledged: ack latency per send (the fault table's latency)
        # Ack times in arrival order: already sorted for a monotonic clock, so
        # timelines need no sort (and no list of a million floats).
        self._ack_log = array("d")
        self._ack_log_sorted = True
        self.faults: list[Fault] = []
        # librdkafka's idempotent producer bumped its epoch at these times (clients/epoch_bumps.py); sends below
        # ``bump_horizon`` were outstanding at the last bump, and those reported after it are kept here: the
        # broker cannot deduplicate them across the bump, so the verdict tells their duplicates apart.
        self.epoch_bumps: list[float] = []
        self.bump_horizon = 0
        self.reported_after_bump: set[int] = set()
        self.transactions = None  # a transactions.log.TransactionLog when a transactional producer writes it

    def now(self) -> float:
        """Seconds since the history started."""
        return self._clock() - self.started

    def __len__(self) -> int:
        return len(self.outcome)

    # -- producer side ---------------------------------------------------------

    def new_send(self, at: float | None = None) -> int:
        """Register a send about to happen and return its seq. Call from one thread only."""
        t = self.now() if at is None else at
        seq = len(self.outcome)
        # Every column but ``outcome`` first, so a reader never sees an outcome without its row.
        self.partition.append(-1)
        self.offset.append(-1)
        self.sent_at.append(t)
        self.acked_at.append(-1.0)
        self.outcome.append(PENDING)
        return seq

    def acked(self, seq: int, partition: int, offset: int, at: float | None = None) -> bool:
        """The broker acknowledged ``seq`` at ``partition``/``offset``.

        Allowed from PENDING or UNKNOWN (a late ack after a timeout is still an
        ack). Returns False and changes nothing if the outcome was already final.
        """
        t = self.now() if at is None else at
        with self._lock:
            if self.outcome[seq] not in (PENDING, UNKNOWN):
                return False
            self.outcome[seq] = ACKED
            self.partition[seq] = partition
            self.offset[seq] = offset
            self.acked_at[seq] = t
            if self._ack_log and t < self._ack_log[-1]:
                self._ack_log_sorted = False
            self._ack_log.append(t)
        return True

    def failed(self, seq: int) -> bool:
        """The send definitely failed (error from the client). Final, like ``acked``."""
        with self._lock:
            if self.outcome[seq] not in (PENDING, UNKNOWN):
                return False
            self.outcome[seq] = FAILED
        return True

    def unknown(self, seq: int) -> bool:
        """The outcome is not known (e.g. timed out waiting). Only from PENDING."""
        with self._lock:
            if self.outcome[seq] != PENDING:
                return False
            self.outcome[seq] = UNKNOWN
        return True

    def epoch_bumped(self) -> None:
        """The producer bumped its epoch now: every send made so far and not yet reported may come back twice.

        Called on the thread that serves delivery reports, in their order, so a report served after this
        call belongs to a send that was still outstanding at the bump."""
        self.epoch_bumps.append(self.now())
        self.bump_horizon = len(self.outcome)

    def begin_fault(self, kind: str, at: float | None = None, target: str = "", colour: str = "") -> Fault:
        """Record that a fault of ``kind`` (graceful, kill, ...) on ``target`` starts now."""
        fault = Fault(kind, self.now() if at is None else at, target=target, colour=colour)
        with self._lock:
            self.faults.append(fault)
        return fault

    def end_fault(self, fault: Fault, at: float | None = None) -> None:
        """Record that the cluster serves again after ``fault``."""
        fault.up_at = self.now() if at is None else at

    def fail_fault(self, fault: Fault, error: str) -> None:
        """Record that recovering from ``fault`` failed (the cluster did not serve again)."""
        fault.error = error

    # -- read side (after flush) -----------------------------------------------

    def count(self, outcome: int) -> int:
        return self.outcome.count(outcome)

    def counts(self) -> dict[str, int]:
        """Number of sends per outcome name, e.g. ``{"acked": 998, ...}``."""
        return {name: self.outcome.count(code) for code, name in OUTCOME_NAMES.items()}

    def seqs(self, outcome: int) -> Iterator[int]:
        """Seqs whose outcome is ``outcome``, increasing."""
        return (seq for seq, oc in enumerate(self.outcome) if oc == outcome)

    def acked_records(self) -> Iterator[tuple[int, int, int]]:
        """``(seq, partition, offset)`` of every acknowledged send."""
        part, off = self.partition, self.offset
        return ((seq, part[seq], off[seq]) for seq in self.seqs(ACKED))

    def acked_ends(self) -> dict[int, int]:
        """Partition -> one past its highest acknowledged offset: how far a read-back must get."""
        ends: dict[int, int] = {}
        for _, partition, offset in self.acked_records():
            ends[partition] = max(ends.get(partition, 0), offset + 1)  # offset -1 (not told) adds nothing
        return ends

    def send_times(self, outcome: int) -> list[float]:
        """Send times of the sends with ``outcome`` (for marking failures on a timeline)."""
        sent = self.sent_at
        return [sent[seq] for seq in self.seqs(outcome)]

    def latencies(self, start: float, end: float) -> list[float]:
        """Send-to-ack seconds of the acknowledged sends made in [start, end), sorted."""
        sent, acked_at = self.sent_at, self.acked_at
        low = bisect.bisect_left(sent, start)
        return sorted(acked_at[seq] - sent[seq] for seq in range(low, len(sent))
                      if sent[seq] < end and acked_at[seq] >= 0)

    def ack_times(self) -> array:
        """Ack times, increasing, as an ``array('d')`` copy."""
        with self._lock:
            times = array("d", self._ack_log)
            in_order = self._ack_log_sorted
        return times if in_order else array("d", sorted(times))
