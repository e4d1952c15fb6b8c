"""Measure speed and memory of the durability logic at a million records.

Run: ``python -m KafkaPersistenceLibrary.durability.measure [records] [payload_size]``.
Kept out of the unit tests because it takes several seconds. Timings run without
tracemalloc (it slows Python down); memory is measured in a second pass.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator

from .history import SendHistory
from .payload import make_payload, parse_payload
from .verdict import check, fault_figures

PARTITIONS = 6


def _fill(n: int) -> SendHistory:
    """A history of ``n`` acknowledged sends spread round-robin over the partitions."""
    history = SendHistory("measure")
    for seq in range(n):
        history.new_send()
        history.acked(seq, seq % PARTITIONS, seq // PARTITIONS)
    return history


def _read_back(n: int, size: int) -> Iterator[tuple[int, int, bytes]]:
    """What a consumer would return: streamed, partitions interleaved."""
    for seq in range(n):
        yield seq % PARTITIONS, seq // PARTITIONS, make_payload("measure", seq, size)


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def measure(n: int = 1_000_000, size: int = 100) -> list[tuple[str, int, float, float | None]]:
    """Rows of (stage, records, seconds, bytes per record or None)."""
    rows: list[tuple[str, int, float, float | None]] = []
    values = [make_payload("measure", seq, size) for seq in range(min(n, 200_000))]
    _, secs = _timed(lambda: [parse_payload(v) for v in values])
    rows.append(("parse_payload", len(values), secs, None))
    values = None  # free them before the next stage

    history, secs = _timed(lambda: _fill(n))
    rows.append(("history fill (new_send+acked)", n, secs, None))
    consumed = list(_read_back(n, size))  # pre-built so only check() is timed
    verdict, secs = _timed(lambda: check(history, consumed))
    assert verdict.passed and verdict.read == n, verdict.summary()
    rows.append(("check", n, secs, None))
    consumed = None
    _, secs = _timed(lambda: fault_figures(history))
    rows.append(("fault_figures", n, secs, None))
    del history

    # Memory: history kept + peak of check() streaming its input (the payload of the
    # record in hand is counted, not a list of all of them).
    tracemalloc.start()
    history = _fill(n)
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    check(history, _read_back(n, size))
    fault_figures(history)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows.append(("memory: history kept", n, 0.0, kept / n))
    rows.append(("memory: history + check peak", n, 0.0, peak / n))
    return rows


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 1_000_000
    size = int(argv[1]) if len(argv) > 1 else 100
    print(f"{'stage':32} {'records':>9} {'seconds':>8} {'records/s':>11} {'bytes/record':>12}")
    for stage, records, secs, per_record in measure(n, size):
        rate = f"{records / secs:,.0f}" if secs else "-"
        mem = f"{per_record:.1f}" if per_record is not None else "-"
        print(f"{stage:32} {records:>9,} {secs:>8.2f} {rate:>11} {mem:>12}")
    print(f"Python {sys.version.split()[0]}, payload {size} bytes, {PARTITIONS} partitions")


if __name__ == "__main__":
    main(sys.argv[1:])
