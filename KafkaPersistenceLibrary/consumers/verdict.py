"""Judge what a consumer group did against what the producer had acknowledged (pure: no Kafka, no files).

Inputs: the topic's :class:`~..durability.history.SendHistory` (which record is at
which partition and offset), the group members' merged events (``events.py``), the
cluster's committed offsets as the :class:`~.watch.CommittedOffsetWatcher` sampled
them, and the committed offsets at the end. All times are ``time.monotonic()``;
reports give seconds since the history's start, as the producer verdict does.

The rules (issue 17), for our own groups (:func:`judge`):

- **skipped** (fatal): an acknowledged record no member ever processed, though the
  group went past it: its committed offset, or a record it processed, lies beyond it
  in the same partition. Each is explained where the events say why: a commit that
  went too far, the group's committed offset that went back or was lost, the offset
  a member was handed when a partition was assigned.
- **committed too far** (fatal): a successful commit that covered offsets no member
  had processed at that moment, counted from where the committing member began
  reading the partition in its current assignment (what lies below that was handed
  to it by the group: a skip of the group, reported with the skipped records).
  The moment is when the member asked (``committing``), or when an auto commit was
  reported. The mechanism behind every skip, named with the commit and the member.
- **redelivered**: a record processed more than once (at-least-once allows it);
  counted, fatal only with ``exactly_once``.
- **went backwards**: a member's delivered offsets decreasing within one assignment,
  or the group's committed offset moving back (a lower value, or none at all) in the
  order members reported commits and the cluster was sampled; reported.
- **not yet read**: acknowledged records no member processed and the group had not
  gone past: lag, never lost.
- A group that processed nothing has nothing to judge: fatal, as a producer verdict
  with nothing acknowledged is.

For a group we only watch (:func:`judge_external`) the library cannot see what the
application processed; it judges the committed offsets alone: offsets that went
backwards and by how much (reported: the application re-reads, or skips with
``auto.offset.reset=latest``), commits past the end of acknowledged data (fatal: the
group would skip what is written below them), the final lag (reported), and how long
the group made no progress after each fault. A group that committed nothing while
watched has nothing to judge (fatal).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable
from typing import Any

from ..durability.history import SendHistory
from .events import ASSIGNED, COMMITTED, COMMITTING, DELIVERED, KILLED, PROCESSED, REVOKED, STOPPED, MemberEvent
from .watch import CommittedSample

EXAMPLES = 10
CLUSTER = "the cluster"


@dataclasses.dataclass(frozen=True)
class CommitTooFar:
    """A commit that covered offsets nobody had processed when it was made."""

    who: str
    at: float  # seconds since the history's start
    partition: int
    offset: int  # the committed (next) offset
    unprocessed: int  # how many records below it were not processed then
    first: int  # the lowest of them

    def __str__(self) -> str:
        return (f"{self.who} committed partition {self.partition} up to offset {self.offset:,} at {self.at:.1f} s "
                f"while {self.unprocessed:,} records from offset {self.first:,} were not processed")


@dataclasses.dataclass(frozen=True)
class Backwards:
    """The group's committed offset moving back, or a member's deliveries going back within an assignment."""

    at: float
    partition: int
    before: int | None
    after: int | None
    by: str  # who saw or did it: the cluster (a sample) or a member
    what: str = "committed offset"
    across: str = ""  # the fault it happened across, if any

    @property
    def records(self) -> int | None:
        """By how many offsets it moved back (None: to no offset at all)."""
        if self.before is None or self.after is None:
            return None
        return self.before - self.after

    def __str__(self) -> str:
        to = "none" if self.after is None else f"{self.after:,}"
        frm = "none" if self.before is None else f"{self.before:,}"
        where = f" across {self.across}" if self.across else ""
        who = "" if self.by == CLUSTER else f" ({self.by})"
        return f"the {self.what} of partition {self.partition} went from {frm} to {to}{where} at {self.at:.1f} s{who}"


@dataclasses.dataclass
class Stall:
    """How long the group made no progress after a fault began."""

    fault: str
    at: float
    seconds: float | None  # None: no progress until the end
    partition: int | None


@dataclasses.dataclass
class ConsumerVerdict:
    """Counts, first examples and pass/fail of one consumer group's verdict."""

    group: str
    external: bool = False
    exactly_once: bool = False
    acknowledged: int = 0
    processed: int = 0  # distinct acknowledged records some member processed
    skipped: int = 0
    committed_too_far: int = 0  # commits
    too_far_records: int = 0  # records those commits covered unprocessed (counted once)
    redelivered: int = 0  # records processed more than once
    redeliveries: int = 0  # the extra processings
    went_backwards: int = 0
    not_yet_read: int = 0
    lag: int = 0  # acknowledged records beyond the final committed offsets
    past_end: int = 0  # committed offsets beyond the acknowledged data (partitions)
    commits: int = 0
    failed_commits: int = 0
    member_kills: int = 0
    samples: int = 0
    sample_errors: int = 0
    skipped_examples: list[str] = dataclasses.field(default_factory=list)
    causes: list[str] = dataclasses.field(default_factory=list)
    too_far: list[CommitTooFar] = dataclasses.field(default_factory=list)
    backwards: list[Backwards] = dataclasses.field(default_factory=list)
    redelivered_examples: list[str] = dataclasses.field(default_factory=list)
    past_end_examples: list[str] = dataclasses.field(default_factory=list)
    not_yet_read_examples: list[str] = dataclasses.field(default_factory=list)
    final_committed: dict[int, int | None] = dataclasses.field(default_factory=dict)
    final_lag: dict[int, int] = dataclasses.field(default_factory=dict)
    stalls: list[Stall] = dataclasses.field(default_factory=list)
    nothing: str = ""  # why there is nothing to judge, if so

    @property
    def passed(self) -> bool:
        return not self.fatal()

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}

    def fatal(self) -> list[str]:
        out = []
        if self.nothing:
            out.append(self.nothing)
        if self.skipped:
            causes = f"; because {'; '.join(self.causes)}" if self.causes else ""
            out.append(f"{self.skipped:,} acknowledged records skipped (first: {', '.join(self.skipped_examples)})"
                       f"{causes}")
        if self.committed_too_far:
            out.append(f"{self.committed_too_far:,} commits went too far ({self.too_far_records:,} records "
                       f"committed unprocessed; first: {'; '.join(str(c) for c in self.too_far[:3])})")
        if self.redelivered and self.exactly_once:
            out.append(f"{self.redelivered:,} records processed more than once with exactly_once "
                       f"(first: {', '.join(self.redelivered_examples)})")
        if self.past_end:
            out.append(f"committed offsets past the end of the acknowledged data ({', '.join(self.past_end_examples)})")
        return out

    def summary(self) -> str:
        parts = self.fatal()
        if not parts:
            parts.append(f"PASS: group '{self.group}' " + (
                "committed offsets judged from outside" if self.external else
                f"processed all {self.processed:,} acknowledged records it went past, skipped none"))
        else:
            parts[0] = "FAIL: " + parts[0]
        if self.redelivered and not self.exactly_once:
            parts.append(f"{self.redelivered:,} records redelivered (allowed: at least once)")
        if self.went_backwards:
            parts.append(f"{self.went_backwards} times went backwards ({'; '.join(str(b) for b in self.backwards[:3])})")
        if self.not_yet_read:
            parts.append(f"{self.not_yet_read:,} records not yet read (lag, not lost)")
        if self.external:
            parts.append(f"final lag {self.lag:,}")
        tally = (f"acknowledged {self.acknowledged:,}" + ("" if self.external else f", processed {self.processed:,}")
                 + f", commits {self.commits:,}, samples {self.samples:,}")
        return "; ".join(parts) + "; " + tally + "."


COUNTS = tuple(f.name for f in dataclasses.fields(ConsumerVerdict) if f.type in (int, "int"))


class _Unprocessed:
    """The known record offsets of one partition, and which were processed: the next unprocessed one at or after
    an index in near-constant time (a union-find over processed runs), so checking many commits stays cheap."""

    def __init__(self, offsets: Iterable[int]):
        self.offsets = sorted(set(offsets))
        self.index = {o: i for i, o in enumerate(self.offsets)}
        self.next = list(range(len(self.offsets) + 1))
        self.count = bytearray(len(self.offsets))

    def processed(self, offset: int) -> int:
        """Marks ``offset`` processed once more; returns how many times it was processed now."""
        i = self.index.get(offset)
        if i is None:
            return 0
        if self.count[i] < 255:
            self.count[i] += 1
        self.next[i] = i + 1
        return self.count[i]

    def _find(self, i: int) -> int:
        root = i
        while self.next[root] != root:
            root = self.next[root]
        while self.next[i] != root:
            self.next[i], i = root, self.next[i]
        return root

    def unprocessed_between(self, low: int, high: int) -> list[int]:
        """The known offsets in [low, high) not processed (yet), increasing."""
        end = bisect.bisect_left(self.offsets, high)
        i = self._find(bisect.bisect_left(self.offsets, low))
        found = []
        while i < end:
            found.append(self.offsets[i])
            i = self._find(i + 1)
        return found


def judge(history: SendHistory, group: str, events: list[MemberEvent], samples: list[CommittedSample],
          final: dict[int, int | None] | None, sample_errors: int = 0, exactly_once: bool = False) -> ConsumerVerdict:
    """The verdict on one of our groups (see the module docstring for the rules)."""
    v = ConsumerVerdict(group=group, exactly_once=exactly_once, samples=len(samples), sample_errors=sample_errors)
    start = history.started
    acked: dict[int, dict[int, int]] = {}  # partition -> offset -> seq
    for seq, partition, offset in history.acked_records():
        v.acknowledged += 1
        if offset >= 0:
            acked.setdefault(partition, {})[offset] = seq
    known: dict[int, set[int]] = {p: set(offsets) for p, offsets in acked.items()}
    for event in events:
        if event.kind == DELIVERED:
            for record in event.data.get("records", []):
                known.setdefault(int(record[0]), set()).add(int(record[1]))
    tracks = {p: _Unprocessed(offsets) for p, offsets in known.items()}

    assignment: dict[tuple[int, int], dict[int, list[int | None]]] = {}  # member process -> p -> [first, last]
    asked: dict[tuple[int, int], tuple[float, dict[int, int]]] = {}  # member process -> its last 'committing'
    handed: dict[int, list[tuple[float, str, int]]] = {}  # p -> (t, who, first offset read) per assignment
    top_processed: dict[int, int] = {}
    progress: dict[int, list[float]] = {}  # p -> times records were processed
    timeline: dict[int, list[tuple[float, int | None, str]]] = {}  # p -> committed values in time order
    too_far_cause: dict[tuple[int, int], CommitTooFar] = {}
    kills: list[tuple[float, str]] = []
    for event in _with_samples(events, samples):
        if isinstance(event, CommittedSample):
            for p, offset in event.offsets.items():
                timeline.setdefault(p, []).append((event.t, offset, CLUSTER))
            continue
        me = (event.member, event.incarnation)
        if event.kind == ASSIGNED:
            mine = assignment.setdefault(me, {})
            for p in event.data.get("partitions", []):
                mine[int(p)] = [None, None]
        elif event.kind == REVOKED:
            for p in event.data.get("partitions", []):
                assignment.get(me, {}).pop(int(p), None)
        elif event.kind in (STOPPED, KILLED):
            assignment.pop(me, None)
            if event.kind == KILLED:
                v.member_kills += 1
                kills.append((event.t, f"kill of {event.who}"))
        elif event.kind == DELIVERED:
            mine = assignment.setdefault(me, {})
            for record in event.data.get("records", []):
                p, offset = int(record[0]), int(record[1])
                span = mine.setdefault(p, [None, None])
                if span[0] is None:
                    span[0] = offset
                    handed.setdefault(p, []).append((event.t, event.who, offset))
                elif span[1] is not None and offset <= span[1]:
                    v.went_backwards += 1
                    _keep(v.backwards, Backwards(event.t - start, p, span[1], offset, event.who,
                                                 "delivered offset"))
                span[1] = offset
        elif event.kind == PROCESSED:
            for record in event.data.get("records", []):
                p, offset = int(record[0]), int(record[1])
                times = tracks[p].processed(offset) if p in tracks else 0
                if times > 1:
                    v.redeliveries += 1
                    if times == 2:
                        v.redelivered += 1
                        if len(v.redelivered_examples) < EXAMPLES:
                            v.redelivered_examples.append(_record(p, offset, acked))
                top_processed[p] = max(top_processed.get(p, -1), offset)
                progress.setdefault(p, []).append(event.t)
        elif event.kind == COMMITTING:
            asked[me] = (event.t, event.offsets())
        elif event.kind == COMMITTED:
            offsets = event.offsets()
            if event.data.get("error"):
                v.failed_commits += 1
                continue
            if not offsets:
                continue
            v.commits += 1
            moment = event.t
            if me in asked and asked[me][1] == offsets:
                moment = asked.pop(me)[0]
            mine = assignment.get(me, {})
            for p, offset in offsets.items():
                timeline.setdefault(p, []).append((event.t, offset, event.who))
                first_read = mine.get(p, [None, None])[0]
                if first_read is None or p not in tracks:
                    continue
                # What was processed when the commit was asked for: the events replayed so far. A member logs
                # 'committing' before it commits and processes nothing until 'committed'; a partition has one
                # owner at a time, so nothing another member processed lies in between either.
                unprocessed = tracks[p].unprocessed_between(first_read, offset)
                if unprocessed:
                    too_far = CommitTooFar(event.who, moment - start, p, offset, len(unprocessed), unprocessed[0])
                    v.committed_too_far += 1
                    _keep(v.too_far, too_far)
                    for o in unprocessed:
                        too_far_cause.setdefault((p, o), too_far)

    v.too_far_records = len(too_far_cause)
    v.final_committed = dict(final or {})
    for p, offset in v.final_committed.items():
        timeline.setdefault(p, []).append((float("inf"), offset, CLUSTER))
    backwards = _committed_backwards(timeline, history)
    v.went_backwards += len(backwards)
    for item in backwards:
        _keep(v.backwards, item)

    ends = history.acked_ends()
    for p, offsets in sorted(acked.items()):
        went_past = max([top_processed.get(p, -1) + 1] + [o for _, o, _ in timeline.get(p, []) if o is not None])
        track = tracks[p]
        skipped_here: list[int] = []
        for offset in sorted(offsets):
            if track.count[track.index[offset]]:
                v.processed += 1
            elif offset < went_past:
                v.skipped += 1
                skipped_here.append(offset)
                if len(v.skipped_examples) < EXAMPLES:
                    v.skipped_examples.append(_record(p, offset, acked))
            else:
                v.not_yet_read += 1
                if len(v.not_yet_read_examples) < EXAMPLES:
                    v.not_yet_read_examples.append(_record(p, offset, acked))
        if skipped_here:
            _explain(v, p, skipped_here, too_far_cause, backwards, handed.get(p, []), start)
    for p, end in ends.items():
        committed = v.final_committed.get(p)
        v.final_lag[p] = max(0, end - (committed or 0))
    v.lag = sum(v.final_lag.values())
    if not any(progress.values()) and v.acknowledged:
        v.nothing = (f"no member of group '{group}' processed any record, so there is nothing to judge (is the "
                     f"group reading the topic? see the members' logs)")
    faults = [(start + f.down_at, f.label) for f in history.faults] + kills
    v.stalls = _stalls(faults, progress, start)
    return v


def judge_external(history: SendHistory, group: str, samples: list[CommittedSample],
                   final: dict[int, int | None] | None, sample_errors: int = 0) -> ConsumerVerdict:
    """The verdict on a group we only watched: its committed offsets, from outside."""
    v = ConsumerVerdict(group=group, external=True, samples=len(samples), sample_errors=sample_errors)
    start = history.started
    v.acknowledged = sum(1 for _ in history.acked_records())
    ends = history.acked_ends()
    timeline: dict[int, list[tuple[float, int | None, str]]] = {}
    progress: dict[int, list[float]] = {}
    last: dict[int, int | None] = {}
    past: dict[int, int] = {}
    samples = sorted(samples, key=lambda s: s.t)  # sample_now() and the watcher's thread may interleave
    for sample in samples:
        for p, offset in sample.offsets.items():
            timeline.setdefault(p, []).append((sample.t, offset, CLUSTER))
            if offset is not None and (last.get(p) is None or offset > last[p]):
                progress.setdefault(p, []).append(sample.t)
                v.commits += 1
            if offset is not None and offset > ends.get(p, 0):
                past[p] = max(past.get(p, 0), offset)
            last[p] = offset
    v.final_committed = dict(final or (samples[-1].offsets if samples else {}))
    for p, offset in v.final_committed.items():
        timeline.setdefault(p, []).append((float("inf"), offset, CLUSTER))
        if offset is not None and offset > ends.get(p, 0):
            past[p] = max(past.get(p, 0), offset)
    backwards = _committed_backwards(timeline, history)
    v.went_backwards = len(backwards)
    v.backwards = backwards[:EXAMPLES]
    v.past_end = len(past)
    v.past_end_examples = [f"partition {p} at {o:,}, acknowledged data ends at {ends.get(p, 0):,}"
                           for p, o in sorted(past.items())][:EXAMPLES]
    for p, end in ends.items():
        v.final_lag[p] = max(0, end - (v.final_committed.get(p) or 0))
    v.lag = sum(v.final_lag.values())
    if not samples:
        v.nothing = f"no sample of group '{group}''s committed offsets was taken, so there is nothing to judge"
    elif not any(o is not None for s in samples for o in s.offsets.values()):
        v.nothing = (f"group '{group}' committed no offset for the topic while it was watched, so there is nothing "
                     f"to judge (is the application running and committing?)")
    v.stalls = _stalls([(start + f.down_at, f.label) for f in history.faults], progress, start)
    return v


# -- helpers -----------------------------------------------------------------------


def _with_samples(events: list[MemberEvent], samples: list[CommittedSample]) -> list[Any]:
    """Events and samples in one time order (a sample before an event of the same instant)."""
    both: list[tuple[float, int, int, Any]] = [(s.t, 0, i, s) for i, s in enumerate(samples)]
    both += [(e.t, 1, i, e) for i, e in enumerate(events)]
    both.sort(key=lambda item: item[:3])
    return [item[3] for item in both]


def _committed_backwards(timeline: dict[int, list[tuple[float, int | None, str]]],
                         history: SendHistory) -> list[Backwards]:
    """Each time a partition's committed offset went back (lower, or none), in time order."""
    found: list[Backwards] = []
    start = history.started
    for p, values in sorted(timeline.items()):
        last: int | None = None
        last_t = start
        for t, offset, who in values:
            if last is not None and (offset is None or offset < last):
                at = t if t != float("inf") else max(last_t, start + history.now())
                found.append(Backwards(at - start, p, last, offset, who, across=_across(history, last_t, at)))
            if offset is not None or who == CLUSTER:
                last, last_t = offset, t
    found.sort(key=lambda b: b.at)
    return found


def _across(history: SendHistory, since: float, until: float) -> str:
    """The faults whose span overlaps [since, until] (monotonic), by label."""
    start = history.started
    labels = [f.label for f in history.faults
              if start + f.down_at <= until and (f.up_at is None or start + f.up_at >= since)]
    return ", ".join(labels)


def _explain(v: ConsumerVerdict, p: int, skipped: list[int], too_far: dict[tuple[int, int], CommitTooFar],
             backwards: list[Backwards], handed: list[tuple[float, str, int]], start: float) -> None:
    """Why the records of partition ``p`` were skipped, as short phrases (each phrase once)."""
    commits = {too_far[(p, o)] for o in skipped if (p, o) in too_far}
    for commit in sorted(commits, key=lambda c: c.at)[:3]:
        _cause(v, str(commit))
    rest = [o for o in skipped if (p, o) not in too_far]
    if not rest:
        return
    lowest = rest[0]
    for item in backwards:
        if item.partition == p and item.what == "committed offset":
            _cause(v, str(item))
    for t, who, first in handed:
        if first > lowest:
            _cause(v, f"{who} was handed partition {p} at offset {first:,} at {t - start:.1f} s, past "
                      f"{sum(1 for o in rest if o < first):,} records nobody had processed")
            break


def _cause(v: ConsumerVerdict, text: str) -> None:
    if text not in v.causes and len(v.causes) < EXAMPLES:
        v.causes.append(text)


def _stalls(faults: list[tuple[float, str]], progress: dict[int, list[float]], start: float) -> list[Stall]:
    """For each fault: the longest time any partition then went without progress (that progressed again)."""
    rows = []
    for at, label in sorted(faults):
        worst: tuple[float, int] | None = None
        stuck = None
        for p, times in progress.items():
            i = bisect.bisect_right(times, at)  # progress made at the very instant the fault began is before it
            if i < len(times):
                if worst is None or times[i] - at > worst[0]:
                    worst = (times[i] - at, p)
            elif times and stuck is None:
                stuck = p
        if worst is None:
            rows.append(Stall(label, at - start, None, stuck))
        else:
            rows.append(Stall(label, at - start, worst[0], worst[1]))
    return rows


def _record(p: int, offset: int, acked: dict[int, dict[int, int]]) -> str:
    seq = acked.get(p, {}).get(offset)
    return f"p{p}@{offset}" + (f" (seq {seq})" if seq is not None else "")


def _keep(items: list, item) -> None:
    if len(items) < EXAMPLES:
        items.append(item)
