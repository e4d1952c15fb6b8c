"""The transactional verdict in the Robot log: its table, the fault table, commits and aborts on the timeline."""

from __future__ import annotations

from typing import Any

from ..durability.history import SendHistory
from ..durability.report import fault_table, timeline_png, verdict_table
from .log import TransactionLog
from .outcome import Outcome
from .verdict import TransactionVerdict

_MARKS = ((Outcome.COMMITTED, "|", "#2e7d32", "commit", 0.95), (Outcome.ABORTED, "|", "#757575", "abort", 0.91),
          (Outcome.IN_DOUBT, "D", "#ef6c00", "in doubt", 0.87))


def rows(v: TransactionVerdict) -> list[tuple[str, int, bool, str]]:
    """(label, count, fatal, first examples) per line, as the plain verdict's table has them."""
    def ex(items: list[Any]) -> str:
        return ", ".join(str(i) for i in items)
    return [
        ("transactions committed", v.committed, v.committed == 0, ""),
        ("committed records", v.committed_records, False, ""),
        ("transactions aborted", v.aborted, False, ""),
        ("transactions in doubt", v.in_doubt, False, ex(v.in_doubt_examples)),
        ("read back (distinct)", v.read, False, ""),
        ("consumed (all records)", v.consumed, False, ""),
        ("lost committed records", v.lost_committed, v.lost_committed > 0, ex(v.lost_examples)),
        ("torn transactions", v.torn, v.torn > 0, ex(v.torn_examples)),
        (f"aborted reads ({v.isolation})", v.aborted_reads, v.committed_only and v.aborted_reads > 0,
         ex(v.aborted_read_examples)),
        ("in doubt, visible", v.in_doubt_visible, False, ""),
        ("in doubt, not visible", v.in_doubt_invisible, False, ""),
        ("duplicated", v.duplicated, v.duplicated > 0, ex(v.duplicated_seqs)),
        ("not at acked offset", v.offset_mismatches, v.offset_mismatches > 0, ex(v.offset_mismatch_examples)),
        ("order violations", v.order_violations, v.order_violations > 0, ex(v.order_violation_examples)),
        ("foreign (ignored)", v.foreign, False, ""),
    ]


def transaction_html(v: TransactionVerdict, faults_figures: list[dict[str, Any]]) -> str:
    return "\n".join(verdict_table(v.summary(), v.passed, rows(v)) + fault_table(faults_figures))


def transaction_timeline_png(history: SendHistory, log: TransactionLog, v: TransactionVerdict) -> bytes:
    """The producer's timeline with a rug per outcome where each transaction ended."""
    marks = [([t.ended_at for t in log.transactions if t.outcome is outcome and t.ended_at is not None],
              marker, colour, name, height) for outcome, marker, colour, name, height in _MARKS]
    return timeline_png(history, v, rows=rows(v), marks=marks)
