"""Compare what a topic holds with what the test expected, and explain any difference.

Pure logic, so the wording of every failure is pinned by fast unit tests.

The failure message leads with the counts and the first differences only: Robot
cuts messages longer than 40 lines, so a full table of a large topic would hide
the one record that differs. The full table goes into the log instead.
"""

import dataclasses

from .clients.records import Record
from .text import shown

SHOWN_DIFFERENCES = 10


@dataclasses.dataclass
class Comparison:
    matches: bool
    can_still_match: bool  # only when the topic holds a strict prefix of what is expected
    explanation: str  # short: counts and the first differences
    table: str = ""  # every position, ok or not, for the log


def _same(expected, record: Record) -> bool:
    if isinstance(expected, (bytes, bytearray)):
        return record.value == bytes(expected)
    if expected is None:
        return record.value is None
    return record.value is not None and record.value_text == str(expected)


def compare(topic: str, expected: list, records: list[Record] | None) -> Comparison:
    """Records are immutable once written, so only "too few so far" is worth waiting for."""
    if records is None:
        return Comparison(False, True, f"Topic '{topic}' does not exist; expected {len(expected)} "
                                       f"record(s): {_list(expected)}.")
    if not records:
        if not expected:
            return Comparison(True, False, "")
        return Comparison(False, True, f"Topic '{topic}' is empty; expected {len(expected)} "
                                       f"record(s): {_list(expected)}.")
    rows: list[tuple[str, str]] = []  # (status, line)
    for index in range(max(len(expected), len(records))):
        if index >= len(records):
            rows.append(("missing", f"  #{index}  missing   expected {shown(expected[index])}"))
        elif index >= len(expected):
            rows.append(("extra", f"  #{index}  extra     found {records[index].describe()}"))
        elif _same(expected[index], records[index]):
            rows.append(("ok", f"  #{index}  ok        {records[index].describe()}"))
        else:
            rows.append(("differs", f"  #{index}  differs   expected {shown(expected[index])}, "
                                    f"found {records[index].describe()}"))
    counts = {status: sum(1 for s, _ in rows if s == status) for status in ("ok", "differs", "missing", "extra")}
    if counts["ok"] == len(rows):
        return Comparison(True, False, "")
    problems = [line for status, line in rows if status != "ok"]
    lines = [f"Topic '{topic}' holds {len(records)} record(s), expected {len(expected)}: "
             f"{counts['ok']} match, {counts['differs']} differ, {counts['missing']} missing, "
             f"{counts['extra']} extra. First differences:", *problems[:SHOWN_DIFFERENCES]]
    if len(problems) > SHOWN_DIFFERENCES:
        lines.append(f"  ... and {len(problems) - SHOWN_DIFFERENCES} more (the full table is in the log)")
    can_still_match = counts["differs"] == 0 and counts["extra"] == 0
    return Comparison(False, can_still_match, "\n".join(lines), "\n".join(line for _, line in rows))


def _list(values: list) -> str:
    return ", ".join(shown(v) for v in values[:10]) + (" ..." if len(values) > 10 else "") if values else "none"
