"""The copy verdict in the Robot log: its table, and a timeline with one row per copier member process.

The table is the producer and consumer verdicts' (``durability/report.verdict_table``);
the member rows are the consumer report's (partitions held, commits, starts, kills),
with each transaction's abort and each held batch marked on them. Drawn on
``matplotlib.figure.Figure`` directly (no pyplot), so it works headless and in parallel runs.
"""

from __future__ import annotations

import html
import io

from ..consumers.events import ABORTED, COMMITTED, HOLDING, MemberEvent
from ..consumers.report import _fault_spans, _member_rows
from ..durability.history import SendHistory
from ..durability.report import verdict_table
from .copy_verdict import CopyVerdict

_RED, _GREEN, _BLUE, _ORANGE = "#c62828", "#2e7d32", "#1565c0", "#ef6c00"


def _rows(v: CopyVerdict) -> list[tuple[str, int, bool, str]]:
    rows = [
        ("acknowledged in the source", v.acknowledged, not v.acknowledged, ""),
        ("copied (distinct)", v.copied, False, ""),
        ("copies read (read_committed)", v.copies, False, ""),
        ("missing", v.missing, v.missing > 0, ", ".join(v.missing_examples)),
        ("duplicated", v.duplicated, v.exactly_once and v.duplicated > 0, "; ".join(v.duplicated_examples)),
        ("extra copies", v.extra_copies, v.exactly_once and v.extra_copies > 0, ""),
    ]
    if v.transactional:
        rows += [
            ("aborted reads", v.aborted_reads, v.aborted_reads > 0, "; ".join(v.aborted_read_examples)),
            ("torn transactions", v.torn, v.torn > 0, "; ".join(v.torn_examples)),
            ("committed transactions lost", v.lost_committed, v.lost_committed > 0, ""),
            ("transactions committed", v.committed_batches, False, ""),
            ("transactions aborted", v.aborted_batches, False, ""),
            ("transactions in doubt", v.in_doubt_batches, False, "; ".join(v.in_doubt_examples)),
        ]
    rows += [
        ("copies of sends not acknowledged", v.not_acknowledged_copied, False, ""),
        ("copies of unknown batches", v.unknown_batch, False, ""),
        ("foreign records (ignored)", v.foreign, False, ""),
        ("member kills", v.member_kills, False, ""),
    ]
    return rows


def verdict_html(v: CopyVerdict) -> str:
    out = verdict_table(v.summary(), v.passed, _rows(v))
    if v.causes:
        out.append("<p>Why records are missing:</p><ul>"
                   + "".join(f"<li>{html.escape(c)}</li>" for c in v.causes) + "</ul>")
    return "\n".join(out)


def timeline_png(history: SendHistory, v: CopyVerdict, events: list[MemberEvent]) -> bytes:
    """Top: source records acknowledged and copies committed over time; below: one row per member process
    (partitions held, commits, aborts, a held batch, kills); broker faults shaded across both."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    start = history.started
    processes = sorted({(e.member, e.incarnation) for e in events})
    fig = Figure(figsize=(12, 4 + 0.35 * len(processes)), dpi=100, layout="constrained")
    top, rows = fig.subplots(2, 1, sharex=True, height_ratios=[3, max(1.0, 0.5 * len(processes))])

    acks = history.ack_times()
    top.step([0.0] + list(acks), range(len(acks) + 1), where="post", color=_GREEN, lw=1.2,
             label="source records acknowledged (cumulative)")
    copied_at, copied, sizes = [0.0], [0], _batch_sizes(events)
    for e in events:
        if e.kind == COMMITTED and not e.data.get("error"):
            copied_at.append(e.t - start)
            copied.append(copied[-1] + sizes.get((e.member, e.incarnation, e.data.get("batch")), 0))
    top.step(copied_at, copied, where="post", color=_BLUE, lw=1.2, label="copies committed (cumulative)")
    top.set_ylabel("records")
    top.set_ylim(bottom=0)
    top.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
    top.grid(alpha=0.3)
    top.set_title(f"Copier '{v.source}' -> '{v.target}': {'PASSED' if v.passed else 'FAILED'}",
                  color=_GREEN if v.passed else _RED, fontweight="bold")

    if processes:
        _member_rows(rows, history, events, processes)
        row_of = {proc: i for i, proc in enumerate(processes)}
        for e in events:
            y = row_of[(e.member, e.incarnation)]
            if e.kind == ABORTED:
                rows.plot([e.t - start], [y + 0.3], marker="|", color=_RED, markersize=9, mew=2)
            elif e.kind == HOLDING:
                rows.plot([e.t - start], [y - 0.3], marker="v", color=_RED, markersize=6)
        rows.set_xlabel("seconds since start (bars: partitions held; orange ticks: commits; red ticks: aborts; "
                        "v: held before its commit; x: killed)")
    for axes in (top, rows):
        _fault_spans(axes, history, labelled=axes is top)
    top.legend(loc="lower right", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _batch_sizes(events: list[MemberEvent]) -> dict[tuple, int]:
    return {(e.member, e.incarnation, e.data.get("batch")): int(e.data.get("records", 0))
            for e in events if e.kind == "produced"}
