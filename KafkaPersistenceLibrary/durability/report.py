"""Render a verdict for the Robot Framework log: an HTML table and a timeline PNG.

Uses ``matplotlib.figure.Figure`` directly (no pyplot), so nothing touches
matplotlib's global backend or figure registry and it works headless.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from .history import ACKED, FAILED, PENDING, UNKNOWN, SendHistory
from .verdict import Verdict

_RED, _GREEN, _GREY, _ORANGE = "#c62828", "#2e7d32", "#9e9e9e", "#ef6c00"
_UNCOLOURED_FAULT = "#6a1b9a"  # a fault marked without a colour of its own
_CELL = "border:1px solid #bbb;padding:2px 8px;"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _rows(verdict: Verdict) -> list[tuple[str, int, bool, str]]:
    """(label, count, fatal, first examples) for each line of the read-back table."""
    def ex(items: list[Any]) -> str:
        return ", ".join(str(i) for i in items)
    return [
        ("acknowledged", verdict.acknowledged, False, ""),
        ("read back (distinct)", verdict.read, False, ""),
        ("consumed (all records)", verdict.consumed, False, ""),
        ("lost", verdict.lost, verdict.lost > 0, ex(verdict.lost_seqs)),
        ("not at acked offset", verdict.offset_mismatches, verdict.offset_mismatches > 0,
         ex(verdict.offset_mismatch_examples)),
        ("order violations", verdict.order_violations, verdict.order_violations > 0,
         ex(verdict.order_violation_examples)),
        ("duplicated", verdict.duplicated, verdict.idempotent and verdict.duplicated > 0,
         ex(verdict.duplicated_seqs)),
        ("duplicated after an epoch bump", verdict.duplicated_after_epoch_bump, False,
         ex(verdict.duplicated_after_epoch_bump_seqs)),
        ("failed", verdict.failed, False, ""),
        ("failed but read", verdict.failed_but_read,
         verdict.fail_on_failed_read and verdict.failed_but_read > 0,
         ex(verdict.failed_but_read_seqs)),
        ("unknown outcome", verdict.unknown, False, ""),
        ("unknown, read", verdict.unknown_read, False, ""),
        ("foreign (ignored)", verdict.foreign, False, ""),
    ]


def verdict_table(summary: str, passed: bool, rows: list[tuple[str, int, bool, str]]) -> list[str]:
    """A verdict's summary line and its table of (label, count, fatal, first examples), fatal rows in red:
    the producer verdict's and the consumer verdict's look alike."""
    colour = _GREEN if passed else _RED
    out = [f'<p style="color:{colour};font-weight:bold">{html.escape(summary)}</p>',
           '<table style="border-collapse:collapse">',
           f'<tr><th style="{_CELL}">check</th><th style="{_CELL}">count</th>'
           f'<th style="{_CELL}">first examples</th></tr>']
    for label, count, fatal, examples in rows:
        style = _CELL + (f"color:{_RED};font-weight:bold;" if fatal else "")
        out.append(f'<tr><td style="{style}">{html.escape(label)}</td>'
                   f'<td style="{style}text-align:right">{count:,}</td>'
                   f'<td style="{_CELL}">{html.escape(examples)}</td></tr>')
    out.append("</table>")
    return out


def verdict_html(verdict: Verdict, faults_figures: list[dict[str, Any]]) -> str:
    """Two small tables (read-back counts, fault figures) for ``logger.info(html=True)``."""
    return "\n".join(verdict_table(verdict.summary(), verdict.passed, _rows(verdict)) + fault_table(faults_figures))


def fault_table(faults_figures: list[dict[str, Any]]) -> list[str]:
    """The fault figures' table (none without faults): shared by the plain and the transactional verdict."""
    out: list[str] = []
    if faults_figures:
        heads = ["fault", "down at", "up at", "downtime", "first ack after down",
                 "first ack after up", "longest ack gap", "acks/s", "ack latency p50 / p99"]
        out.append('<table style="border-collapse:collapse;margin-top:6px"><tr>'
                   + "".join(f'<th style="{_CELL}">{h}</th>' for h in heads) + "</tr>")
        for row in faults_figures:
            gap = ("-" if row.get("gap") is None else
                   f'{row["gap"]:.3f} s ({row["gap_start"]:.3f} to {row["gap_end"]:.3f})')
            cells = [html.escape(str(row.get("kind", ""))), _seconds(row.get("down_at")),
                     _seconds(row.get("up_at")), _seconds(row.get("downtime")),
                     _seconds(row.get("first_ack_after_down")),
                     _seconds(row.get("first_ack_after_up")), gap,
                     "-" if row.get("throughput") is None else f'{row["throughput"]:.0f}',
                     "-" if row.get("latency_p50") is None else
                     f'{row["latency_p50"] * 1000:.0f} / {row["latency_p99"] * 1000:.0f} ms']
            out.append("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>")
        out.append("</table>")
    return out


def _thin(xs: Any, ys: Any, limit: int = 4000) -> tuple[list[Any], list[Any]]:
    """Keep at most ``limit`` evenly spaced points (plus the last) for plotting speed."""
    step = max(1, len(xs) // limit)
    x, y = list(xs[::step]), list(ys[::step])
    if len(xs) and (not x or x[-1] != xs[-1]):
        x.append(xs[-1])
        y.append(ys[-1])
    return x, y


def timeline_png(history: SendHistory, verdict: Any, path: str | None = None,
                 rows: "list[tuple[str, int, bool, str]] | None" = None,
                 marks: "list[tuple[list[float], str, str, str, float]]" = ()) -> bytes:
    """Acknowledged writes over time with faults marked, next to the read-back bars.

    ``rows`` replace the plain verdict's bars (the transactional verdict has its own);
    ``marks`` add rugs of (times, marker, colour, name, height): e.g. commits and aborts.
    Returns the PNG bytes and also writes them to ``path`` when given.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    thousands = FuncFormatter(lambda value, _pos: f"{value:,.0f}")

    fig = Figure(figsize=(12, 5), dpi=100, layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])

    acks = history.ack_times()
    x, y = _thin(acks, range(1, len(acks) + 1))
    left.step([0.0] + x, [0] + y, where="post", color=_GREEN, lw=1.5, label="acknowledged (cumulative)")
    seen_kinds: set[str] = set()
    for number, fault in enumerate(history.faults):
        colour = _RED if fault.error else (fault.colour or _UNCOLOURED_FAULT)
        label = None if fault.kind in seen_kinds else f"{fault.kind}: down -> serving"
        seen_kinds.add(fault.kind)
        end = fault.up_at if fault.up_at is not None else max(fault.down_at, history.now())
        left.axvspan(fault.down_at, end, color=colour, alpha=0.15, label=label,
                     hatch="//" if fault.error else None)
        left.axvline(fault.down_at, color=colour, lw=1.2)
        # Labels cycle through four heights so that close faults stay readable.
        left.text(fault.down_at, 0.98 - 0.06 * (number % 4), f" {fault.label}", color=colour, va="top",
                  ha="left", fontsize=8, fontweight="bold", transform=left.get_xaxis_transform())
    # Failed / unknown sends as rugs just above the x axis, one band each, so
    # neither hides the other nor the curve.
    for times, marker, colour, name, band in marks:
        if times:
            shown, _ = _thin(sorted(times), sorted(times), 500)
            left.scatter(shown, [band] * len(shown), marker=marker, s=18, zorder=3, color=colour,
                         transform=left.get_xaxis_transform(), label=f"{name} ({len(times)})")
    for outcome, marker, colour, name, band in ((FAILED, "x", _RED, "failed send", 0.03),
                                                (UNKNOWN, "o", _ORANGE, "unknown outcome", 0.08)):
        sent = history.send_times(outcome)
        if outcome == UNKNOWN:
            sent += history.send_times(PENDING)
        if sent:
            sent.sort()
            marks, _ = _thin(sent, sent, 500)
            left.scatter(marks, [band] * len(marks), marker=marker, s=22, zorder=3,
                         transform=left.get_xaxis_transform(), label=f"{name} ({len(sent)})",
                         **({"facecolors": "none", "edgecolors": colour} if marker == "o"
                            else {"color": colour}))
    left.set_xlabel("seconds since start")
    left.set_ylabel("acknowledged writes")
    left.set_title(f"Producer: {history.count(ACKED):,} of {len(history):,} sends acknowledged")
    left.set_ylim(bottom=0)
    left.yaxis.set_major_formatter(thousands)
    left.grid(alpha=0.3)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8)

    rows = list(reversed(_rows(verdict) if rows is None else rows))
    labels = [r[0] for r in rows]
    counts = [r[1] for r in rows]
    colours = [_RED if r[2] else (_GREEN if r[0].startswith(("acknowledged", "read")) else _GREY)
               for r in rows]
    bars = right.barh(labels, counts, color=colours)
    right.bar_label(bars, labels=[f" {c:,}" for c in counts], fontsize=8)
    for tick, row in zip(right.get_yticklabels(), rows, strict=True):
        if row[2]:
            tick.set_color(_RED)
            tick.set_fontweight("bold")
    right.set_xlim(0, max(counts + [1]) * 1.25)
    right.tick_params(axis="y", labelsize=8)
    verdict_word = "PASSED" if verdict.passed else "FAILED"
    right.set_title(f"Read-back: {verdict_word}", color=_GREEN if verdict.passed else _RED,
                    fontweight="bold")
    right.set_xlabel("records")
    right.xaxis.set_major_formatter(thousands)
    right.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    png = buf.getvalue()
    if path is not None:
        with open(path, "wb") as f:
            f.write(png)
    return png


def embed_png_html(png_bytes: bytes, alt: str = "persistence timeline") -> str:
    """An ``<img>`` tag carrying the PNG inline, for ``logger.info(html=True)``."""
    data = base64.b64encode(png_bytes).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" style="max-width:100%">'
