"""Add up unittest's and Robot's results into CI's closing line; a skipped test counts as failed."""

import re
import sys
from pathlib import Path


def unittest_counts(log: Path) -> tuple[int, int, int]:
    text = log.read_text(errors="replace") if log.exists() else ""
    ran = re.findall(r"^Ran (\d+) tests? in", text, re.M)
    if not ran:
        return 0, 1, 0  # the runner did not even finish: count it as a failure
    total = int(ran[-1])
    tail = text[text.rfind("Ran "):]
    failed = sum(int(n) for n in re.findall(r"(?:failures|errors|unexpected successes)=(\d+)", tail))
    skipped = sum(int(n) for n in re.findall(r"(?:skipped|expected failures)=(\d+)", tail))
    return total - failed - skipped, failed, skipped


def robot_counts(output: Path) -> tuple[int, int, int]:
    if not output.exists():
        return 0, 1, 0
    from robot.api import ExecutionResult

    stats = ExecutionResult(str(output)).statistics.total
    return stats.passed, stats.failed, stats.skipped


def main() -> int:
    """Arguments: the unittest logs (one per shard), then Robot's output.xml."""
    shards = [unittest_counts(Path(log)) for log in sys.argv[1:-1]]
    unit = tuple(sum(counts) for counts in zip(*shards, strict=True)) if shards else (0, 1, 0)
    robot = robot_counts(Path(sys.argv[-1]))
    passed = unit[0] + robot[0]
    failed = unit[1] + robot[1] + unit[2] + robot[2]
    print(f"unittest: {unit[0]} passed, {unit[1]} failed, {unit[2]} skipped; "
          f"robot: {robot[0]} passed, {robot[1]} failed, {robot[2]} skipped (skips count as failures)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
