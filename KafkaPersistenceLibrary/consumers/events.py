"""What a consumer member did: one log of events per member process, that survives its SIGKILL.

A member appends one JSON object per line with ``os.write`` on an ``O_APPEND``
descriptor, so a line is the kernel's the moment the call returns: a member
killed with SIGKILL loses nothing it had already written. The parent appends
``killed`` to the same log once the member is dead. Readers skip a torn last
line (a member killed in the middle of a write).

Times are ``time.monotonic()``: one clock for every process on the host, the
same clock as the producer's :class:`~..durability.history.SendHistory`.

Every event has ``t`` (time), ``kind``, ``member`` (1..n) and ``incarnation``
(1 for the first process of that member, 2 after its first restart, ...), and:

- ``started``:    ``pid``, ``group``, ``topic``, ``commit`` (the member's commit mode)
- ``assigned``:   ``partitions`` [p, ...] the group handed to the member
- ``revoked``:    ``partitions`` [p, ...] taken away (``lost``: true when the
  member lost them without a clean revocation)
- ``delivered``:  ``records`` [[p, offset, run_id, seq], ...] one poll's records,
  in the order the member got them (run_id and seq None when the value is not ours)
- ``processed``:  ``records`` [[p, offset], ...] the member is done with these
- ``committing``: ``offsets`` {p: next offset} the member asks the group to commit
- ``committed``:  ``offsets`` {p: next offset}, ``error`` ("" when the group took it);
  auto commits are reported by the client's commit callback, as ``committed`` only
- ``stopped``:    ``how`` (graceful: closed, committed, left the group)
- ``killed``:     written by the parent after SIGKILL; ``how`` "kill"

A copier member (``transactions/copier_member.py``) writes the same log, with
``batch`` (its batch number) on ``delivered``, ``committing`` and ``committed``,
and these kinds of its own:

- ``began``:      ``batch``: a transaction was begun for the batch (exactly-once)
- ``produced``:   ``batch``, ``records`` (how many copies were sent), ``failed``
  (deliveries that failed; at-least-once flushes before it writes this)
- ``holding``:    ``batch``: produced, not yet committed, and asked to wait there
  (`Restart Copier    when=before-commit`)
- ``aborted``:    ``batch``, ``error`` ("" when the abort went through), ``why``

Offsets in ``committing``/``committed`` are Kafka's: the offset of the next
record to read, one past the last processed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterable, Iterator

STARTED, ASSIGNED, REVOKED = "started", "assigned", "revoked"
DELIVERED, PROCESSED = "delivered", "processed"
COMMITTING, COMMITTED = "committing", "committed"
STOPPED, KILLED = "stopped", "killed"
BEGAN, PRODUCED, HOLDING, ABORTED = "began", "produced", "holding", "aborted"  # a copier's transactions
KINDS = (STARTED, ASSIGNED, REVOKED, DELIVERED, PROCESSED, COMMITTING, COMMITTED, STOPPED, KILLED,
         BEGAN, PRODUCED, HOLDING, ABORTED)


@dataclasses.dataclass(frozen=True)
class MemberEvent:
    """One thing one member process did, at ``t`` (monotonic seconds)."""

    t: float
    kind: str
    member: int
    incarnation: int
    data: dict

    def offsets(self) -> dict[int, int]:
        """``committing``/``committed``: partition -> next offset (JSON keeps keys as text; here they are ints)."""
        return {int(p): int(o) for p, o in self.data.get("offsets", {}).items()}

    @property
    def who(self) -> str:
        """How reports name the member: "member 2 (process 3)"."""
        return f"member {self.member} (process {self.incarnation})"


class EventLog:
    """Appends one member's events to its file; every line reaches the kernel before ``write`` returns."""

    def __init__(self, path: str, member: int, incarnation: int):
        self.path = path
        self.member = member
        self.incarnation = incarnation
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, kind: str, **data) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown member event {kind!r}")
        line = {"t": time.monotonic(), "kind": kind, "member": self.member, "incarnation": self.incarnation, **data}
        os.write(self._fd, (json.dumps(line, separators=(",", ":")) + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


def read_events(path: str) -> Iterator[MemberEvent]:
    """The events of one log, in the order written; a torn (unfinished) line is skipped."""
    with open(path, encoding="utf-8") as log:
        for line in log:
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
                continue
            yield MemberEvent(float(raw.pop("t")), raw.pop("kind"), int(raw.pop("member")),
                              int(raw.pop("incarnation")), raw)


def merged(paths: Iterable[str]) -> list[MemberEvent]:
    """Every event of several logs, by time (ties keep each log's own order)."""
    events = [event for path in paths for event in read_events(path)]
    events.sort(key=lambda event: event.t)
    return events
