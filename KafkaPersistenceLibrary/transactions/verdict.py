"""Judge a read-back of a transactional history per transaction (pure).

Each record read is tied to its send by its payload (seq), each send to its
transaction by the log. Then, per transaction, from how many of its records
were read (``seen`` of ``size``):

- committed: all must be seen. Missing ones are *lost committed* (fatal); a
  transaction with some but not all seen is also *torn* (fatal).
- aborted: none may be seen by a committed-only reader (*aborted read*, fatal);
  a ``read_uncommitted`` reader sees them and the verdict says how many.
- in doubt (the commit failed or timed out): all or none, reported which; some
  but not all is *torn* (fatal).

Besides: a record read twice is *duplicated* (fatal: a transactional producer is
idempotent), and a committed record read elsewhere than where it was acknowledged,
or offsets going backwards in a partition, are fatal as in the plain verdict.
Nothing committed at all is fatal too (nothing to judge).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from ..durability.history import ACKED, SendHistory
from ..durability.payload import seq_parser
from .log import TransactionLog
from .outcome import Outcome

EXAMPLES = 20
READ_COMMITTED, READ_UNCOMMITTED = "read_committed", "read_uncommitted"


@dataclass
class TransactionVerdict:
    isolation: str = READ_COMMITTED
    committed_only: bool = True
    transactions: int = 0
    committed: int = 0
    aborted: int = 0
    in_doubt: int = 0
    committed_records: int = 0
    aborted_records: int = 0  # records of aborted transactions the producer had written (acknowledged)
    read: int = 0  # distinct sends of this run read back
    consumed: int = 0
    lost_committed: int = 0  # records of committed transactions never read
    lost_committed_transactions: int = 0
    torn: int = 0  # transactions (committed or in doubt) with some but not all records read
    aborted_reads: int = 0  # records of aborted transactions read
    aborted_read_transactions: int = 0
    in_doubt_visible: int = 0
    in_doubt_invisible: int = 0
    duplicated: int = 0
    offset_mismatches: int = 0
    order_violations: int = 0
    outside_transactions: int = 0  # sends not in any transaction (none, unless a send raised before one began)
    foreign: int = 0
    lost_examples: list[str] = field(default_factory=list)
    torn_examples: list[str] = field(default_factory=list)
    aborted_read_examples: list[str] = field(default_factory=list)
    in_doubt_examples: list[str] = field(default_factory=list)
    duplicated_seqs: list[int] = field(default_factory=list)
    offset_mismatch_examples: list[str] = field(default_factory=list)
    order_violation_examples: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.fatal()

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}

    def fatal(self) -> list[str]:
        out = []
        if self.committed == 0:
            out.append("no transaction was committed, so there is nothing to judge")
        if self.lost_committed:
            out.append(_phrase(self.lost_committed, f"records of {self.lost_committed_transactions} committed "
                                                    f"transactions lost", self.lost_examples))
        if self.torn:
            out.append(_phrase(self.torn, "torn transactions (some but not all records visible)",
                               self.torn_examples))
        if self.aborted_reads and self.committed_only:
            out.append(_phrase(self.aborted_reads, f"aborted reads (records of {self.aborted_read_transactions} "
                                                   f"aborted transactions visible at {self.isolation})",
                               self.aborted_read_examples))
        if self.duplicated:
            out.append(_phrase(self.duplicated, "records duplicated despite idempotence", self.duplicated_seqs))
        if self.offset_mismatches:
            out.append(_phrase(self.offset_mismatches, "committed records not at their acknowledged offset",
                               self.offset_mismatch_examples))
        if self.order_violations:
            out.append(_phrase(self.order_violations, "order violations", self.order_violation_examples))
        return out

    def summary(self) -> str:
        parts = self.fatal()
        if parts:
            parts[0] = "FAIL: " + parts[0]
        else:
            parts.append(f"PASS: all {self.committed} committed transactions ({self.committed_records} records) "
                         f"read whole at {self.isolation}")
        if self.aborted_reads and not self.committed_only:
            parts.append(f"{self.aborted_reads} of {self.aborted_records} records of aborted transactions read "
                         f"(expected at {self.isolation})")
        if self.in_doubt:
            parts.append(f"{self.in_doubt} transactions in doubt: {self.in_doubt_visible} visible whole, "
                         f"{self.in_doubt_invisible} not visible")
        if self.foreign:
            parts.append(f"{self.foreign} foreign records ignored")
        parts_counts = (f"transactions: {self.committed} committed, {self.aborted} aborted, {self.in_doubt} in doubt; "
                        f"read {self.read} distinct, consumed {self.consumed}")
        return "; ".join(parts) + "; " + parts_counts + "."


COUNTS = tuple(f.name for f in fields(TransactionVerdict) if f.type in (int, "int"))


def _phrase(count: int, what: str, examples: list[Any]) -> str:
    return f"{count} {what} (first {len(examples)}: {', '.join(str(e) for e in examples)})"


def _example(items: list, item) -> None:
    if len(items) < EXAMPLES:
        items.append(item)


def check_transactions(history: SendHistory, log: TransactionLog, consumed: Iterable[tuple[int, int, bytes | None]],
                       isolation: str = READ_COMMITTED, committed_only: bool | None = None) -> TransactionVerdict:
    """Compare one fresh reader's records (streamed, in read order) with ``history`` and its transaction ``log``.

    ``committed_only`` (default: True at read_committed, False at read_uncommitted)
    makes records of aborted transactions fatal.
    """
    if committed_only is None:
        committed_only = isolation == READ_COMMITTED
    v = TransactionVerdict(isolation=isolation, committed_only=committed_only)
    n = len(history)
    seq_of = seq_parser(history.run_id)
    reads = bytearray(n)
    where: dict[int, tuple[int, int]] = {}  # seq -> (partition, offset) of its first read, for the offset check
    last_offset: dict[int, int] = {}
    for partition, offset, value in consumed:
        v.consumed += 1
        previous = last_offset.get(partition, -1)
        if offset <= previous:
            v.order_violations += 1
            _example(v.order_violation_examples, f"p{partition}: offset {offset} read after offset {previous}")
            continue
        last_offset[partition] = offset
        seq = seq_of(value)
        if seq is None or seq >= n:
            v.foreign += 1
            continue
        if reads[seq] == 1:
            v.duplicated += 1
            _example(v.duplicated_seqs, seq)
        if reads[seq] < 255:
            reads[seq] += 1
        where.setdefault(seq, (partition, offset))
    v.read = n - reads.count(0)
    in_transactions = 0
    for txn in log.transactions:
        if txn.outcome is None:
            continue
        _judge(v, history, txn, reads, where)
        in_transactions += txn.size
    v.outside_transactions = n - in_transactions
    return v


def _judge(v: TransactionVerdict, history: SendHistory, txn, reads: bytearray, where: dict) -> None:
    seqs = range(txn.first, txn.end)
    seen = sum(1 for seq in seqs if reads[seq])
    name = f"#{txn.number} (seqs {txn.first}-{txn.end - 1})"
    v.transactions += 1
    if txn.outcome is Outcome.COMMITTED:
        v.committed += 1
        v.committed_records += txn.size
        if seen < txn.size:
            v.lost_committed += txn.size - seen
            v.lost_committed_transactions += 1
            _example(v.lost_examples, f"{name}: {txn.size - seen} of {txn.size} missing")
            if seen:
                v.torn += 1
                _example(v.torn_examples, f"committed {name}: {seen} of {txn.size} visible")
        for seq in seqs:
            if reads[seq] and history.outcome[seq] == ACKED and history.offset[seq] >= 0 \
                    and where[seq] != (history.partition[seq], history.offset[seq]):
                v.offset_mismatches += 1
                _example(v.offset_mismatch_examples, f"seq {seq} acked at p{history.partition[seq]}@"
                                                     f"{history.offset[seq]}, read at p{where[seq][0]}@{where[seq][1]}")
    elif txn.outcome is Outcome.ABORTED:
        v.aborted += 1
        v.aborted_records += sum(1 for seq in seqs if history.outcome[seq] == ACKED)
        if seen:
            v.aborted_reads += seen
            v.aborted_read_transactions += 1
            _example(v.aborted_read_examples, f"{name}: {seen} of {txn.size} visible")
    else:
        v.in_doubt += 1
        if seen == txn.size:
            v.in_doubt_visible += 1
            _example(v.in_doubt_examples, f"{name}: visible ({txn.error})")
        elif seen == 0:
            v.in_doubt_invisible += 1
            _example(v.in_doubt_examples, f"{name}: not visible ({txn.error})")
        else:
            v.torn += 1
            _example(v.torn_examples, f"in doubt {name}: {seen} of {txn.size} visible")
