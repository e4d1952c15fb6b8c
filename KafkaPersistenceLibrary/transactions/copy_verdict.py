"""Judge a copier's target against the source producer's history (pure: no Kafka, no files).

Inputs: the source topic's :class:`~..durability.history.SendHistory` (which records
were acknowledged), the target's records as a ``read_committed`` reader saw them
(value and headers), and the copier members' merged events (``consumers/events.py``),
which say what became of each batch. A copy names its batch in the ``kpl-copy``
header (``<member>.<process>.<batch>``), so a visible copy is tied to one transaction.

The rules (issue 18), after Kafka's transactions system test (every input record in
the output exactly once, read with ``read_committed``) and Jepsen's anomalies:

- **missing** (fatal): an acknowledged source record with no copy in the target;
- **duplicated**: a source record with more than one copy; fatal when judging
  ``exactly-once``, counted when judging ``at-least-once``;
- **aborted read** (fatal): a visible copy written by a batch whose transaction was
  aborted: the member aborted it, or died before it asked to commit (the coordinator
  aborts such a transaction when the member's next process fences it, or when it
  times out);
- **torn** (fatal): a committed batch of which some copies are visible and some not;
  **lost committed** (fatal): a committed batch of which none is;
- **in doubt**: a batch whose commit was asked and never answered (the member died
  in the call) or whose abort failed: reported, with whether its copies are visible
  all or none (partly visible is torn);
- copies of sends that were not acknowledged, copies of unknown batches, records that
  are not ours: reported.

Only an exactly-once copier's batches are transactions; an at-least-once copier's
copies are visible as soon as they are acknowledged, so aborted reads and tears do
not apply to them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable

from ..consumers.events import ABORTED, BEGAN, COMMITTED, COMMITTING, DELIVERED, KILLED, PRODUCED, MemberEvent
from ..durability.history import ACKED, SendHistory
from ..durability.payload import parse_payload
from .outcome import Outcome

EXAMPLES = 10
COPY_HEADER = "kpl-copy"


@dataclasses.dataclass
class Batch:
    """One batch of one member process: the copies it produced and what became of them."""

    key: str  # "<member>.<process>.<batch>", as in the kpl-copy header
    transactional: bool
    produced: int = 0
    outcome: "Outcome | None" = None  # None: still open (the member runs), or at-least-once
    why: str = ""
    visible: int = 0

    @property
    def name(self) -> str:
        member, process, batch = self.key.split(".")
        return f"batch {batch} of member {member} (process {process})"


@dataclasses.dataclass
class CopyVerdict:
    """What the target held, judged against the source's acknowledged records and the copier's batches."""

    source: str
    target: str
    exactly_once: bool  # the guarantee judged: duplicates fatal
    transactional: bool  # the copier's mode: batches are transactions
    acknowledged: int = 0
    copied: int = 0  # acknowledged source records with at least one copy
    copies: int = 0  # copies of our source records read from the target
    missing: int = 0
    duplicated: int = 0  # source records with more than one copy
    extra_copies: int = 0  # copies beyond the first
    aborted_reads: int = 0  # visible copies of aborted batches
    torn: int = 0
    lost_committed: int = 0
    committed_batches: int = 0
    aborted_batches: int = 0
    in_doubt_batches: int = 0
    in_doubt_visible: int = 0
    not_acknowledged_copied: int = 0
    unknown_batch: int = 0  # visible copies whose batch no member log names
    foreign: int = 0
    member_kills: int = 0
    missing_examples: list[str] = dataclasses.field(default_factory=list)
    duplicated_examples: list[str] = dataclasses.field(default_factory=list)
    aborted_read_examples: list[str] = dataclasses.field(default_factory=list)
    torn_examples: list[str] = dataclasses.field(default_factory=list)
    in_doubt_examples: list[str] = dataclasses.field(default_factory=list)
    causes: list[str] = dataclasses.field(default_factory=list)  # why records are missing, where known

    def fatal(self) -> list[str]:
        parts = []
        if not self.acknowledged:
            parts.append(f"no record of '{self.source}' was acknowledged: nothing to judge")
        if self.missing:
            parts.append(f"{self.missing:,} acknowledged records of '{self.source}' missing from '{self.target}' "
                         f"(first: {', '.join(self.missing_examples[:3])})")
        if self.exactly_once and self.duplicated:
            parts.append(f"{self.duplicated:,} records copied more than once ({self.extra_copies:,} extra copies; "
                         f"first: {'; '.join(self.duplicated_examples[:3])})")
        if self.aborted_reads:
            parts.append(f"{self.aborted_reads:,} copies of aborted transactions visible at read_committed "
                         f"(first: {'; '.join(self.aborted_read_examples[:3])})")
        if self.torn:
            parts.append(f"{self.torn} committed transactions partly visible (torn; {'; '.join(self.torn_examples[:3])})")
        if self.lost_committed:
            parts.append(f"{self.lost_committed} committed transactions not visible at all (lost)")
        return parts

    @property
    def passed(self) -> bool:
        return not self.fatal()

    def summary(self) -> str:
        parts = self.fatal()
        if not parts:
            once = "exactly once" if self.exactly_once else "at least once"
            parts.append(f"PASS: every acknowledged record of '{self.source}' is in '{self.target}' {once}")
        else:
            parts[0] = "FAIL: " + parts[0]
        if self.duplicated and not self.exactly_once:
            parts.append(f"{self.duplicated:,} records copied more than once ({self.extra_copies:,} extra copies; "
                         f"allowed: at least once)")
        if self.in_doubt_batches:
            parts.append(f"{self.in_doubt_batches} transactions in doubt ({self.in_doubt_visible} of them visible)")
        tally = (f"acknowledged {self.acknowledged:,}, copied {self.copied:,}, copies read {self.copies:,}"
                 + (f", transactions committed {self.committed_batches:,}, aborted {self.aborted_batches:,}"
                    if self.transactional else ""))
        return "; ".join(parts) + "; " + tally + "."

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}


COUNTS = tuple(f.name for f in dataclasses.fields(CopyVerdict) if f.type in (int, "int"))


def batches(events: Iterable[MemberEvent], transactional: bool) -> dict[str, Batch]:
    """Each batch of each member process, with its outcome as the member's events tell it."""
    found: dict[str, Batch] = {}
    open_of: dict[tuple[int, int], list[Batch]] = defaultdict(list)  # a process's batches without an outcome
    asked: set[str] = set()  # batches whose commit was asked
    for event in events:
        process = (event.member, event.incarnation)
        if event.kind == KILLED:
            for batch in open_of.pop(process, []):
                # never asked to commit: the coordinator aborts it; asked and no answer: nobody can know
                batch.outcome = Outcome.IN_DOUBT if batch.key in asked else Outcome.ABORTED
                batch.why = "its process was killed " + ("in the commit call" if batch.key in asked
                                                         else "before it asked to commit")
            continue
        if "batch" not in event.data:
            continue
        key = f"{event.member}.{event.incarnation}.{event.data['batch']}"
        batch = found.get(key)
        if event.kind == DELIVERED:
            batch = found[key] = Batch(key, transactional)
            open_of[process].append(batch)
        if batch is None:
            continue
        if event.kind == PRODUCED:
            batch.produced = int(event.data.get("records", 0))
        elif event.kind == COMMITTING:
            asked.add(key)
        elif event.kind == COMMITTED:
            batch.outcome = Outcome.IN_DOUBT if event.data.get("error") and transactional else Outcome.COMMITTED
            batch.why = str(event.data.get("error", ""))
            _close(open_of, process, batch)
        elif event.kind == ABORTED:
            batch.outcome = Outcome.IN_DOUBT if event.data.get("error") else Outcome.ABORTED
            batch.why = str(event.data.get("why", "")) + (f"; the abort failed: {event.data['error']}"
                                                          if event.data.get("error") else "")
            _close(open_of, process, batch)
        elif event.kind == BEGAN:
            pass
    return found


def _close(open_of: dict, process: tuple[int, int], batch: Batch) -> None:
    if batch in open_of.get(process, []):
        open_of[process].remove(batch)


def judge(history: SendHistory, source: str, target: str, records: Iterable[tuple[bytes | None, dict[str, bytes]]],
          events: list[MemberEvent], transactional: bool, exactly_once: bool = True,
          expected: "Iterable[int] | None" = None) -> CopyVerdict:
    """Judge the target's ``records`` ((value, headers) as a read_committed reader saw them).

    ``expected`` are the source seqs that must be copied (default: every acknowledged send; of a
    transactional source, those of its committed transactions). A copy of a source record whose
    transaction the producer aborted is an aborted read too: the copier reads at read_committed.
    """
    verdict = CopyVerdict(source, target, exactly_once, transactional)
    source_log = getattr(history, "transactions", None)  # a transactional producer's TransactionLog

    def source_outcome(seq: int) -> "Outcome | None":
        txn = source_log.of(seq) if source_log is not None else None
        return None if txn is None else txn.outcome

    if expected is not None:
        wanted = set(expected)
    else:
        wanted = {seq for seq in history.seqs(ACKED) if source_outcome(seq) in (None, Outcome.COMMITTED)}
    verdict.acknowledged = len(wanted)
    found = batches(events, transactional)
    copies: Counter[int] = Counter()
    copied_by: dict[int, list[str]] = defaultdict(list)
    for value, headers in records:
        parsed = parse_payload(value)
        if parsed is None or parsed[0] != history.run_id:
            verdict.foreign += 1
            continue
        seq = parsed[1]
        verdict.copies += 1
        copies[seq] += 1
        key = (headers.get(COPY_HEADER) or b"").decode(errors="replace")
        if len(copied_by[seq]) < 3:
            copied_by[seq].append(key)
        outcome = source_outcome(seq)
        if outcome is Outcome.ABORTED:
            verdict.aborted_reads += 1
            if len(verdict.aborted_read_examples) < EXAMPLES:
                verdict.aborted_read_examples.append(f"seq {seq}, of a transaction the source's producer aborted")
        elif seq not in wanted and outcome is None:
            verdict.not_acknowledged_copied += 1
        batch = found.get(key)
        if batch is None:
            verdict.unknown_batch += 1
            continue
        batch.visible += 1
        if transactional and batch.outcome is Outcome.ABORTED:
            verdict.aborted_reads += 1
            if len(verdict.aborted_read_examples) < EXAMPLES:
                verdict.aborted_read_examples.append(f"seq {seq} from {batch.name}, aborted ({batch.why})")
    for seq in sorted(wanted):
        count = copies.get(seq, 0)
        if count == 0:
            verdict.missing += 1
            if len(verdict.missing_examples) < EXAMPLES:
                verdict.missing_examples.append(f"seq {seq} (p{history.partition[seq]}@{history.offset[seq]})")
            continue
        verdict.copied += 1
        if count > 1:
            verdict.duplicated += 1
            verdict.extra_copies += count - 1
            if len(verdict.duplicated_examples) < EXAMPLES:
                verdict.duplicated_examples.append(f"seq {seq}: {count} copies (batches {', '.join(copied_by[seq])})")
    for batch in found.values():
        _judge_batch(verdict, batch)
    verdict.member_kills = sum(1 for e in events if e.kind == KILLED)
    return verdict


def _judge_batch(verdict: CopyVerdict, batch: Batch) -> None:
    if not batch.transactional:
        return
    if batch.outcome is Outcome.COMMITTED:
        verdict.committed_batches += 1
        if batch.produced and batch.visible == 0:
            verdict.lost_committed += 1
            verdict.torn_examples.append(f"{batch.name}: 0 of {batch.produced} copies visible")
        elif batch.visible < batch.produced:
            verdict.torn += 1
            verdict.torn_examples.append(f"{batch.name}: {batch.visible} of {batch.produced} copies visible")
    elif batch.outcome is Outcome.ABORTED:
        verdict.aborted_batches += 1
    elif batch.outcome is Outcome.IN_DOUBT:
        verdict.in_doubt_batches += 1
        if batch.visible:
            verdict.in_doubt_visible += 1
        if batch.visible and batch.visible < batch.produced:
            verdict.torn += 1
            verdict.torn_examples.append(f"{batch.name} (in doubt): {batch.visible} of {batch.produced} copies visible")
        if len(verdict.in_doubt_examples) < EXAMPLES:
            seen = "all" if batch.visible and batch.visible >= batch.produced else (
                "none" if not batch.visible else f"{batch.visible} of {batch.produced}")
            verdict.in_doubt_examples.append(f"{batch.name}: {seen} visible ({batch.why})")
