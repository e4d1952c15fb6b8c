"""Run the unit tests like ``python -m unittest -v``, one shard of them, and time each module.

CI runs the real-broker tests in shards side by side: most of a real test is waiting (brokers
starting, faults held, session timeouts), so two shards take little more than half the time.
A shard is a set of whole test modules (a class's shared cluster stays in one process), chosen
greedily from the module times of an earlier run (``.ci/durations.tsv``) so the shards take
about equally long. Every module is in exactly one shard, a new module too (it counts as
``UNKNOWN_SECONDS``). Each run writes its own module times, to refresh that file from.

    python .ci/timed_unittest.py --shard 1/2 --times results/durations-1.tsv
"""

import argparse
import sys
import time
import unittest
from collections import defaultdict
from pathlib import Path

UNKNOWN_SECONDS = 60.0


class TimedResult(unittest.TextTestResult):
    """Each test's time counts from the end of the one before: class set-up is included."""

    module_seconds: dict = defaultdict(float)
    last_stop = time.monotonic()

    def stopTest(self, test):
        super().stopTest(test)
        now = time.monotonic()
        TimedResult.module_seconds[type(test).__module__] += now - TimedResult.last_stop
        TimedResult.last_stop = now


def flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from flatten(item)
        else:
            yield item


def known_seconds(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    seconds = {}
    for line in path.read_text().splitlines():
        value, _, module = line.partition("\t")
        if module:
            seconds[module.strip()] = float(value)
    return seconds


def shard_of(modules: list[str], weights: dict[str, float], count: int) -> dict[str, int]:
    """Longest module first, each into the shard with the least time so far (1-based)."""
    totals = [0.0] * count
    assignment = {}
    for module in sorted(modules, key=lambda m: (-weights.get(m, UNKNOWN_SECONDS), m)):
        shard = min(range(count), key=lambda i: (totals[i], i))
        totals[shard] += weights.get(module, UNKNOWN_SECONDS)
        assignment[module] = shard + 1
    return assignment


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("start_dir", nargs="?", default=".")
    parser.add_argument("--shard", default="1/1", help="k/n: run the k-th of n shards")
    parser.add_argument("--weights", default=".ci/durations.tsv", type=Path)
    parser.add_argument("--times", required=True, type=Path, help="where to write module times")
    args = parser.parse_args(argv)
    index, count = (int(part) for part in args.shard.split("/"))

    sys.path.insert(0, ".")
    tests = list(flatten(unittest.TestLoader().discover(args.start_dir, top_level_dir=".")))
    modules = list(dict.fromkeys(type(test).__module__ for test in tests))
    assignment = shard_of(modules, known_seconds(args.weights), count)
    chosen = unittest.TestSuite(test for test in tests if assignment[type(test).__module__] == index)
    print(f"[shard {index}/{count}] {chosen.countTestCases()} tests in "
          f"{sum(1 for m in modules if assignment[m] == index)} modules", flush=True)

    result = unittest.TextTestRunner(verbosity=2, resultclass=TimedResult).run(chosen)
    args.times.parent.mkdir(parents=True, exist_ok=True)
    with args.times.open("w") as handle:
        for module, seconds in sorted(TimedResult.module_seconds.items(), key=lambda kv: -kv[1]):
            handle.write(f"{seconds:8.1f}\t{module}\n")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
