"""The consumer verdict in the Robot log: a table, and a timeline with one row per member beside the broker faults.

Like ``durability/report.py`` it draws on ``matplotlib.figure.Figure`` directly
(no pyplot, no global backend), so it works headless and in parallel runs.
"""

from __future__ import annotations

import html
import io

from ..durability.history import SendHistory
from ..durability.report import verdict_table
from .events import ASSIGNED, COMMITTED, KILLED, PROCESSED, REVOKED, STARTED, STOPPED, MemberEvent
from .verdict import ConsumerVerdict
from .watch import CommittedSample

_RED, _GREEN, _GREY, _BLUE, _ORANGE = "#c62828", "#2e7d32", "#9e9e9e", "#1565c0", "#ef6c00"
_UNCOLOURED_FAULT = "#6a1b9a"
_CELL = "border:1px solid #bbb;padding:2px 8px;"


def _rows(v: ConsumerVerdict) -> list[tuple[str, int, bool, str]]:
    """(label, count, fatal, first examples) for each line of the table."""
    rows = [("acknowledged", v.acknowledged, False, "")]
    if not v.external:
        rows += [
            ("processed (distinct)", v.processed, False, ""),
            ("skipped", v.skipped, v.skipped > 0, ", ".join(v.skipped_examples)),
            ("commits too far", v.committed_too_far, v.committed_too_far > 0, "; ".join(str(c) for c in v.too_far)),
            ("redelivered", v.redelivered, v.exactly_once and v.redelivered > 0, ", ".join(v.redelivered_examples)),
            ("not yet read (lag)", v.not_yet_read, False, ", ".join(v.not_yet_read_examples)),
            ("member kills", v.member_kills, False, ""),
        ]
    else:
        rows.append(("committed past the acknowledged data", v.past_end, v.past_end > 0, ", ".join(v.past_end_examples)))
    rows += [
        ("went backwards", v.went_backwards, False, "; ".join(str(b) for b in v.backwards)),
        ("final lag", v.lag, False, ", ".join(f"p{p}: {n:,}" for p, n in sorted(v.final_lag.items()))),
        ("commits", v.commits, False, f"{v.failed_commits} failed" if v.failed_commits else ""),
        ("committed-offset samples", v.samples, False, f"{v.sample_errors} could not be taken"
         if v.sample_errors else ""),
    ]
    return rows


def verdict_html(v: ConsumerVerdict) -> str:
    """The verdict's table, the causes of skips and the stall after each fault, for ``logger.info(html=True)``."""
    out = verdict_table(v.summary(), v.passed, _rows(v))
    if v.causes:
        out.append("<p>Why records were skipped:</p><ul>"
                   + "".join(f"<li>{html.escape(c)}</li>" for c in v.causes) + "</ul>")
    if v.stalls:
        what = "the committed offset" if v.external else "a member"
        out.append(f'<table style="border-collapse:collapse;margin-top:6px"><tr><th style="{_CELL}">fault</th>'
                   f'<th style="{_CELL}">at</th><th style="{_CELL}">no progress for (until {what} moved on)</th>'
                   "</tr>")
        for stall in v.stalls:
            took = ("no progress until the end" if stall.seconds is None
                    else f"{stall.seconds:.1f} s" + (f" (partition {stall.partition})"
                                                     if stall.partition is not None else ""))
            out.append(f'<tr><td style="{_CELL}">{html.escape(stall.fault)}</td><td style="{_CELL}">'
                       f'{stall.at:.1f} s</td><td style="{_CELL}">{took}</td></tr>')
        out.append("</table>")
    return "\n".join(out)


def timeline_png(history: SendHistory, v: ConsumerVerdict, events: list[MemberEvent],
                 samples: list[CommittedSample]) -> bytes:
    """Top: acknowledged, processed and committed records over time; below: one row per member process
    (assignments as bars, commits as ticks, crashes as crosses); broker faults shaded across both."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    start = history.started
    processes = sorted({(e.member, e.incarnation) for e in events})
    fig = Figure(figsize=(12, 4 + 0.35 * len(processes)), dpi=100, layout="constrained")
    if processes:
        top, rows = fig.subplots(2, 1, sharex=True, height_ratios=[3, max(1.0, 0.5 * len(processes))])
    else:  # a group we only watched: no member rows to draw
        top, rows = fig.subplots(), None
        top.set_xlabel("seconds since start")

    acks = history.ack_times()
    top.step([0.0] + list(acks), range(len(acks) + 1), where="post", color=_GREEN, lw=1.2,
             label="acknowledged (cumulative)")
    processed_times = [e.t - start for e in events if e.kind == PROCESSED
                       for _ in e.data.get("records", [])]
    if processed_times:
        top.step([0.0] + processed_times, range(len(processed_times) + 1), where="post", color=_BLUE, lw=1.2,
                 label="processed (cumulative, redeliveries included)")
    if samples:
        totals = [sum(o or 0 for o in s.offsets.values()) for s in samples]
        top.step([s.t - start for s in samples], totals, where="post", color=_ORANGE, lw=1.2,
                 label="committed offsets (sum, as the cluster said)")
    top.set_ylabel("records")
    top.set_ylim(bottom=0)
    top.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
    top.grid(alpha=0.3)
    verdict_word = "PASSED" if v.passed else "FAILED"
    top.set_title(f"Consumer group '{v.group}': {verdict_word}", color=_GREEN if v.passed else _RED,
                  fontweight="bold")

    if rows is not None:
        _member_rows(rows, history, events, processes)
    for axes in (top, rows) if rows is not None else (top,):
        _fault_spans(axes, history, labelled=axes is top)
    top.legend(loc="lower right", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _fault_spans(axes, history: SendHistory, labelled: bool) -> None:
    """Each broker fault as a shaded span (red when it failed); ``labelled`` axes also name it."""
    for number, fault in enumerate(history.faults):
        colour = _RED if fault.error else (fault.colour or _UNCOLOURED_FAULT)
        end = fault.up_at if fault.up_at is not None else max(fault.down_at, history.now())
        axes.axvspan(fault.down_at, end, color=colour, alpha=0.15)
        if labelled:
            axes.text(fault.down_at, 0.98 - 0.06 * (number % 4), f" {fault.label}", color=colour, va="top",
                      ha="left", fontsize=8, fontweight="bold", transform=axes.get_xaxis_transform())


def _member_rows(rows, history: SendHistory, events: list[MemberEvent], processes: list[tuple[int, int]]) -> None:
    """One row per member process: partitions held as bars, commits as ticks, a start as a triangle, a kill as x."""
    start = history.started
    row_of = {proc: i for i, proc in enumerate(processes)}
    for proc in processes:
        y = row_of[proc]
        held: dict[int, float] = {}
        for e in (e for e in events if (e.member, e.incarnation) == proc):
            t = e.t - start
            if e.kind == ASSIGNED:
                for p in e.data.get("partitions", []):
                    held.setdefault(int(p), t)
            elif e.kind == REVOKED:
                for p in e.data.get("partitions", []):
                    _bar(rows, y, held.pop(int(p), None), t, int(p))
            elif e.kind in (STOPPED, KILLED):
                for p, since in held.items():
                    _bar(rows, y, since, t, p)
                held = {}
                rows.plot([t], [y], marker="x" if e.kind == KILLED else "|", color=_RED if e.kind == KILLED
                          else "black", markersize=10, mew=2)
            elif e.kind == COMMITTED and not e.data.get("error"):
                rows.plot([t], [y + 0.3], marker="|", color=_ORANGE, markersize=6)
            elif e.kind == STARTED:
                rows.plot([t], [y], marker=">", color=_GREEN, markersize=6)
        end = history.now()
        for p, since in held.items():
            _bar(rows, y, since, end, p)
    rows.set_yticks(range(len(processes)), [f"member {m} (process {i})" for m, i in processes], fontsize=8)
    rows.set_ylim(-0.7, max(0.7, len(processes) - 0.3))
    rows.invert_yaxis()
    rows.set_xlabel("seconds since start (bars: partitions held; ticks: commits; x: killed)")


def _bar(axes, y: int, since: float | None, until: float, partition: int) -> None:
    if since is None or until <= since:
        return
    axes.barh(y, until - since, left=since, height=0.5, color=_BLUE, alpha=0.35, edgecolor=_BLUE)
    axes.text(since, y, f" p{partition}", va="center", ha="left", fontsize=7)
