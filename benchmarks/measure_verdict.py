"""Measure speed and memory of the durability logic (no broker) at a million records.

Run: ``python benchmarks/measure_verdict.py [records] [payload_size]``.
Kept out of the unit tests because it takes several seconds. Timings run without
tracemalloc (it slows Python down); memory is measured in a second pass.
``run_benchmarks.py`` uses :func:`check_seconds` and :func:`bytes_per_record`.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: use this checkout's library, not an installed one
    sys.path.insert(0, str(ROOT))

from KafkaPersistenceLibrary.durability import SendHistory, check, fault_figures  # noqa: E402
from KafkaPersistenceLibrary.durability.payload import make_payload, parse_payload  # noqa: E402

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


def check_seconds(n: int, size: int = 100) -> float:
    """Seconds of ``check()`` alone on ``n`` acknowledged records read back in order (input pre-built)."""
    history = _fill(n)
    consumed = list(_read_back(n, size))  # pre-built so only check() is timed
    verdict, secs = _timed(lambda: check(history, consumed))
    assert verdict.passed and verdict.read == n, verdict.summary()
    return secs


def bytes_per_record(n: int, size: int = 100) -> dict[str, float]:
    """Bytes per record of the history kept, and the peak while ``check()`` streams its input.

    The payload of the record in hand is counted, not a list of all of them."""
    tracemalloc.start()
    try:
        history = _fill(n)
        kept, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        check(history, _read_back(n, size))
        fault_figures(history)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"history kept": kept / n, "history + check peak": peak / n}


def measure(n: int = 1_000_000, size: int = 100) -> list[tuple[str, int, float, float | None]]:
    """Rows of (stage, records, seconds, bytes per record or None)."""
    rows: list[tuple[str, int, float, float | None]] = []
    values = [make_payload("measure", seq, size) for seq in range(min(n, 200_000))]
    _, secs = _timed(lambda: [parse_payload(v) for v in values])
    rows.append(("parse_payload", len(values), secs, None))
    values = None  # free them before the next stage

    history, secs = _timed(lambda: _fill(n))
    rows.append(("history fill (new_send+acked)", n, secs, None))
    _, secs = _timed(lambda: fault_figures(history))
    rows.append(("fault_figures", n, secs, None))
    history = None  # free it before the next stage
    rows.append(("check", n, check_seconds(n, size), None))

    for stage, per_record in bytes_per_record(n, size).items():
        rows.append((f"memory: {stage}", n, 0.0, per_record))
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
