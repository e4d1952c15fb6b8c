"""Compare what a topic holds with what the test expected, and explain any difference.

Pure logic, so the wording of every failure is pinned by fast unit tests.
"""

import dataclasses

from .kafka_client import Record
from .logtext import shown


@dataclasses.dataclass
class Comparison:
    matches: bool
    can_still_match: bool  # only when the topic holds a strict prefix of what is expected
    explanation: str


def _same(expected, record: Record) -> bool:
    if isinstance(expected, (bytes, bytearray)):
        return record.value == bytes(expected)
    if expected is None:
        return record.value is None
    return record.value_text == str(expected)


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
    lines = []
    differ = False
    for index in range(max(len(expected), len(records))):
        if index >= len(records):
            lines.append(f"  #{index}  missing   expected {shown(expected[index])}")
        elif index >= len(expected):
            differ = True
            lines.append(f"  #{index}  extra     found {records[index].describe()}")
        elif _same(expected[index], records[index]):
            lines.append(f"  #{index}  ok        {records[index].describe()}")
        else:
            differ = True
            lines.append(f"  #{index}  differs   expected {shown(expected[index])}, found {records[index].describe()}")
    if not differ and len(records) == len(expected):
        return Comparison(True, False, "")
    header = (f"Topic '{topic}' holds {len(records)} record(s), expected {len(expected)}"
              + (":" if len(records) != len(expected) else " with other values:"))
    return Comparison(False, not differ, "\n".join([header, *lines]))


def _list(values: list) -> str:
    return ", ".join(shown(v) for v in values[:10]) + (" ..." if len(values) > 10 else "") if values else "none"
