"""Keywords for copiers of our own (consume, transform, produce) and the verdict on what they copied."""

import time
from datetime import timedelta

from robot.api import logger
from robot.utils import DotDict

from ..choices import by_value
from ..clients.reader import READ_COMMITTED, read_topic
from ..clients.records import validate_topic
from ..consumers.group import StopMode
from ..errors import KafkaPersistenceError, VerificationFailed
from ..timeouts import to_seconds
from ..transactions.copier import Copier, CopyMode, KillMoment, sweep_orphans
from ..transactions.copy_report import timeline_png, verdict_html
from ..transactions.copy_verdict import judge
from ..transactions.outcome import Outcome
from .context import LibraryContext
from .one_line import keyword
from .targets import METADATA_TIMEOUT_SECONDS
from .verification import Timeline, _log_timeline

READY_TIMEOUT_SECONDS = 120.0  # every member joined and holding partitions (a loaded machine took over 60 s here)


class CopierKeywords:
    ctx: LibraryContext

    @keyword(tags=["transactions"])
    def start_copier(self, source: str, target: str, group: str, mode: "CopyMode | str" = CopyMode.EXACTLY_ONCE,
                     members: int = 1, batch: int = 500) -> DotDict:
        """Starts a copier: ``members`` processes that copy every record of ``source`` to ``target`` until stopped.

        The copier is a consumer group (``group``) on ``source`` whose members
        each run Kafka's consume-transform-produce loop in their own OS process
        (librdkafka), a batch of up to ``batch`` records at a time:
        - ``mode=exactly-once``: each batch's copies and its input offsets
          commit in one transaction (``send_offsets_to_transaction``). Member
          n's transactional id is ``<group>-<n>`` in every process of that
          member, so a restarted member fences its predecessor and the
          coordinator aborts what the predecessor left open;
        - ``mode=at-least-once``: produce the batch, wait until every copy is
          acknowledged, then commit the input offsets: a crash in between
          copies the batch again.

        A copy keeps the source record's key and value (so its run id and
        seq) and names its batch in a header, for `Verify Copied Exactly
        Once`. Both topics must exist. It returns once every member runs and
        holds partitions, within 2 min, with ``group`` and
        ``transactional_ids``: every fault keyword takes ``broker=coordinator``
        with ``group=`` or ``transactional_id=`` of the copier. Members never
        outlive the test run.

        | `Create Topic`    orders    partitions=3
        | `Create Topic`    orders-copy    partitions=3
        | `Start Copier`    orders    orders-copy    group=copier    members=2
        | `Start Copier`    orders    audit    group=audit-copier    mode=at-least-once
        """
        validate_topic(source)
        validate_topic(target)
        copy_mode = by_value(CopyMode, mode, "Invalid mode")
        if not str(group).strip():
            raise KafkaPersistenceError("Invalid group '': name the copier's consumer group, e.g. group=copier.")
        if members < 1:
            raise KafkaPersistenceError(f"Invalid members {members}: a copier needs at least 1 member.")
        if batch < 1:
            raise KafkaPersistenceError(f"Invalid batch {batch}: give the most records one batch copies (1 or more).")
        if source == target:
            raise KafkaPersistenceError(f"A copier copies to another topic: source and target are both '{source}'.")
        cluster = self.ctx.require_cluster()
        states = cluster.partition_states(source, METADATA_TIMEOUT_SECONDS)
        for topic, role in ((source, "source"), (target, "target")):
            if (states if topic == source else cluster.partition_states(topic, METADATA_TIMEOUT_SECONDS)) is None:
                raise KafkaPersistenceError(f"The copier's {role} topic '{topic}' does not exist on {cluster.bootstrap}: "
                                            f"create it with 'Create Topic' first (a copier creates no topics).")
        if group in self.ctx.consumer_groups:
            raise KafkaPersistenceError(f"Group '{group}' is a consumer group started with 'Start Background "
                                        f"Consumer': give the copier a group of its own.")
        known = self.ctx.copiers.get(group)
        if known is not None and known.running_members():
            raise KafkaPersistenceError(f"Copier '{group}' runs already: stop it with 'Stop Copier' first, or use "
                                        f"another group.")
        for swept in sweep_orphans():
            logger.info(f"Removed what a killed run left: {swept}.")
        if known is not None:
            known.close()
        copier = Copier(cluster.connection, group, source, target, copy_mode, members, batch, self.ctx.random)
        self.ctx.copiers[group] = copier
        started = time.monotonic()
        try:
            copier.start(partitions=len(states), ready_timeout=READY_TIMEOUT_SECONDS)
        except BaseException:
            copier.stop(StopMode.KILL)
            raise
        ids = copier.transactional_ids()
        logger.info(f"Copier '{group}' from '{source}' to '{target}': {members} member(s), {copy_mode.value}, "
                    f"batches of up to {batch}, ready in {time.monotonic() - started:.1f} s"
                    + (f"; transactional ids {', '.join(ids)}" if ids else "") + f"; logs in {copier.directory}.")
        return DotDict(group=group, transactional_ids=ids)

    @keyword(tags=["transactions"])
    def stop_copier(self, group: "str | None" = None, timeout: timedelta = timedelta(seconds=120)) -> DotDict:
        """Waits until the copier has copied every record acknowledged on its source, then stops its members.

        ``group`` names the copier (not needed when only one was started).
        The wait ends when the copier's committed offsets on the source reach
        the last acknowledged records, or after ``timeout``; either way the
        members then stop gracefully (each finishes and commits its batch and
        leaves the group). Stop the source's background producer first.

        Returns ``batches``, ``committed``, ``aborted``, ``copies`` (copies
        sent, aborted ones included), ``member_starts``, ``member_kills``,
        ``caught_up`` (True/False) and ``lag`` (source records not committed
        when the wait ended).

        | `Stop Background Producer`    orders
        | ${counts} =    `Stop Copier`    group=copier
        | Should Be True    ${counts.caught_up}
        """
        seconds = to_seconds(timeout)
        copier = self._copier(group)
        if not copier.running_members() and copier.stopped_at is not None:
            raise KafkaPersistenceError(f"Copier '{copier.group}' was stopped already.")
        run = self.ctx.runs.get(copier.source)
        if run is not None and run.background is not None:
            raise KafkaPersistenceError(f"The background producer of '{copier.source}' still runs: call 'Stop "
                                        f"Background Producer' first, so that the copier has an end to catch up with.")
        ends = copy_ends(run.history) if run is not None else {}
        started = time.monotonic()
        caught_up, lag = copier.wait_caught_up(ends, seconds) if copier.running_members() else (False, dict(ends))
        took = time.monotonic() - started
        if caught_up:
            logger.info(f"Copier '{copier.group}' committed every acknowledged record of '{copier.source}' "
                        f"{took:.1f} s into the wait.")
        else:
            behind = ", ".join(f"partition {p}: {n}" for p, n in sorted(lag.items())) or "no member runs"
            logger.warn(f"Copier '{copier.group}' had not caught up with '{copier.source}' after {took:.1f} s "
                        f"({behind} records behind; {copier.doing() or 'no member runs'}); stopping it anyway.")
        copier.stop(StopMode.GRACEFUL)
        counts = DotDict(copier.counts(), caught_up=caught_up, lag=sum(lag.values()))
        logger.info(f"Copier '{copier.group}' stopped: {dict(counts)}.")
        return counts

    @keyword(tags=["transactions"])
    def restart_copier(self, member: str = "random", mode: str = "graceful", when: "KillMoment | str" = KillMoment.NOW,
                       group: "str | None" = None, downtime: timedelta = timedelta(0),
                       timeout: timedelta = timedelta(minutes=2)) -> DotDict:
        """Stops member(s) of a copier and starts new processes in their place after ``downtime``.

        ``member`` is a member number, ``random`` (seeded, as ``broker=random``)
        or ``all``; ``group`` names the copier (not needed when only one was
        started). ``mode=graceful`` lets the member finish and commit its batch
        and leave the group; ``mode=kill`` is SIGKILL. With ``mode=kill``,
        ``when=before-commit`` first lets the member produce its next batch and
        kills it before it commits that batch (at-least-once: the batch is
        copied again, a duplicate; exactly-once: its transaction is aborted);
        the keyword fails in one line if the member copies no batch within
        ``timeout`` (a copier a broker fault stalled may need a while). The
        new process of an exactly-once member has the same transactional id;
        the keyword returns once it runs. Returns ``members`` and ``seconds``
        (the downtime).

        | `Restart Copier`    member=random    mode=kill
        | `Restart Copier`    member=1    mode=kill    when=before-commit
        | `Restart Copier`    group=copier    member=2    downtime=5 s
        """
        stop_mode = by_value(StopMode, mode, "Invalid mode")
        moment = by_value(KillMoment, when, "Invalid when")
        if moment is KillMoment.BEFORE_COMMIT and stop_mode is not StopMode.KILL:
            raise KafkaPersistenceError("when=before-commit kills a member between produce and commit: use it with "
                                        "mode=kill (a graceful stop commits its batch).")
        seconds = to_seconds(downtime, "downtime", allow_zero=True)
        wait = to_seconds(timeout)
        copier = self._copier(group)
        numbers = copier.members(member)
        for number in numbers:
            if number not in copier.running_members():
                raise KafkaPersistenceError(f"Member {number} of copier '{copier.group}' is not running.")
        stopped = time.monotonic()
        held = []
        for number in numbers:
            if moment is KillMoment.BEFORE_COMMIT:
                held.append(copier.kill_before_commit(number, wait))
            else:
                copier.stop_member(number, stop_mode)
        stopped = time.monotonic() if held else stopped
        time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
        for number in numbers:
            copier.start_member(number, wait)
        took = time.monotonic() - stopped
        logger.info(f"Restarted member(s) {', '.join(map(str, numbers))} of copier '{copier.group}' ({stop_mode.value}"
                    + (f", killed holding batch(es) {', '.join(map(str, held))} before their commit" if held else "")
                    + f"), down {took:.1f} s.")
        return DotDict(members=numbers, seconds=round(took, 3))

    @keyword(tags=["transactions", "verdicts"])
    def verify_copied_exactly_once(self, source: str, target: str, guarantee: "CopyMode | str" = CopyMode.EXACTLY_ONCE,
                                   group: "str | None" = None, timeout: timedelta = timedelta(seconds=120),
                                   message: "str | None" = None,
                                   timeline: "Timeline | str" = Timeline.EMBED) -> DotDict:
        """Judges what a copier wrote to ``target`` against what the library's producer had acknowledged on ``source``.

        It reads ``target`` from the beginning at ``read_committed`` (waiting,
        within ``timeout``, for transactions still open to end) and ties each
        copy to its source record (run id and seq) and to the copier batch,
        so the transaction, that wrote it (the members' logs say what became
        of each):
        - *missing* (fails): an acknowledged source record with no copy;
        - *duplicated* (more than one copy): fails when ``guarantee`` is
          ``exactly-once`` (the default), counted with ``at-least-once``;
        - *aborted read* (fails): a visible copy from a transaction that was
          aborted (by the member, or by the coordinator because the member
          died before it asked to commit);
        - *torn* or *lost* committed transaction (fails): some or all copies
          of a committed transaction not visible;
        - *in doubt*: a transaction whose member died in the commit call,
          reported with whether it is visible;
        - copies of sends that were not acknowledged, records that are not
          ours: reported.

        What a pass proves: every record the library's producer had
        acknowledged on ``source`` was in ``target`` (exactly once, or at
        least once) for a ``read_committed`` reader, and no aborted copy was
        visible, through the faults the test made. It says nothing about
        records not acknowledged, other consumers' isolation levels, or
        faults the test did not make. ``group`` names the copier when
        several copied ``source`` to ``target``; a copier still running is
        first waited for (``timeout``) until it has copied every
        acknowledged record. The log gets a table and a timeline with one
        row per member process beside the broker faults (``timeline``:
        ``embed``, ``file`` or ``off``). Returns the counts
        (``acknowledged``, ``copied``, ``missing``, ``duplicated``,
        ``extra_copies``, ``aborted_reads``, ``torn``, ...). ``message``
        replaces the failure message.

        | `Stop Background Producer`    orders
        | `Stop Copier`
        | `Verify Copied Exactly Once`    orders    orders-copy
        | ${verdict} =    `Verify Copied Exactly Once`    orders    audit    guarantee=at-least-once
        | Should Be True    ${verdict.duplicated} > 0
        """
        validate_topic(source)
        validate_topic(target)
        exactly_once = by_value(CopyMode, guarantee, "Invalid guarantee") is CopyMode.EXACTLY_ONCE
        seconds = to_seconds(timeout)
        timeline = by_value(Timeline, timeline, "Invalid timeline")
        cluster = self.ctx.require_cluster()
        self.ctx.require_no_random_faults("Verify Copied Exactly Once")
        copier = self._copier_of(source, target, group)
        run = self.ctx.runs.get(source)
        if run is None or len(run.history) == 0:
            raise KafkaPersistenceError(f"Nothing was produced to '{source}' with 'Produce Records' or 'Start "
                                        f"Background Producer': the copy verdict judges '{target}' against what that "
                                        f"producer had acknowledged.")
        if run.background is not None:
            raise KafkaPersistenceError(f"The background producer of '{source}' still runs: call 'Stop Background "
                                        f"Producer' first.")
        started = time.monotonic()
        deadline = started + seconds
        ends = copy_ends(run.history)
        if copier.running_members():
            copier.wait_caught_up(ends, seconds)
        committed = copier.committed()
        cluster.wait_for_serving_leaders(target, deadline, seconds)
        records = read_topic(cluster.connection, target, max(1.0, deadline - time.monotonic()),
                             isolation=READ_COMMITTED)
        if records is None:
            raise KafkaPersistenceError(f"Topic '{target}' does not exist on {cluster.bootstrap}: nothing to verify.")
        events = copier.events()
        verdict = judge(run.history, source, target, ((r.value, dict(r.headers)) for r in records), events,
                        transactional=copier.exactly_once, exactly_once=exactly_once)
        if verdict.missing and committed is not None:
            behind = {p: (committed.get(p) or 0, end) for p, end in ends.items() if (committed.get(p) or 0) < end}
            if behind:
                verdict.causes.append("the copier had not caught up: its committed offsets on the source stop at "
                                      + ", ".join(f"partition {p}: {c} of {e}" for p, (c, e) in sorted(behind.items())))
        took = time.monotonic() - started
        logger.info(verdict_html(verdict), html=True)
        _log_timeline(timeline, f"{source}-{target}", lambda: timeline_png(run.history, verdict, events))
        counts = DotDict(verdict.counts(), seconds=round(took, 3))
        logger.info(f"Judged the copy of '{source}' to '{target}' in {took:.2f} s: {dict(counts)}.")
        if not verdict.passed:
            raise VerificationFailed(message or verdict.summary() + (" " + "; ".join(verdict.causes) + "."
                                                                     if verdict.causes else ""), counts)
        return counts

    def _copier(self, group: "str | None") -> Copier:
        """The copier ``group`` names (the only one when None)."""
        self.ctx.require_cluster(alive=False)  # a copier lives only as long as the cluster it copies in
        if group is None:
            if len(self.ctx.copiers) == 1:
                return next(iter(self.ctx.copiers.values()))
            if not self.ctx.copiers:
                raise KafkaPersistenceError("No copier was started: call 'Start Copier' first.")
            raise KafkaPersistenceError(f"Several copiers were started ({_names(self.ctx.copiers)}): name one with "
                                        f"group=.")
        copier = self.ctx.copiers.get(group)
        if copier is None:
            known = f" (started: {_names(self.ctx.copiers)})" if self.ctx.copiers else ""
            raise KafkaPersistenceError(f"No copier '{group}' was started: call 'Start Copier' first{known}.")
        return copier

    def _copier_of(self, source: str, target: str, group: "str | None") -> Copier:
        if group is not None:
            copier = self._copier(group)
            if (copier.source, copier.target) != (source, target):
                raise KafkaPersistenceError(f"Copier '{group}' copies '{copier.source}' to '{copier.target}', not "
                                            f"'{source}' to '{target}'.")
            return copier
        found = [c for c in self.ctx.copiers.values() if (c.source, c.target) == (source, target)]
        if not found:
            raise KafkaPersistenceError(f"No copier copied '{source}' to '{target}': start one with 'Start Copier' "
                                        f"before the faults, and verify after 'Stop Copier'.")
        if len(found) > 1:
            raise KafkaPersistenceError(f"Several copiers copied '{source}' to '{target}' ({_names(found)}): name "
                                        f"one with group=.")
        return found[0]


def copy_ends(history) -> dict[int, int]:
    """Per source partition, one past the last record a copier must copy: the last acknowledged one, or of a
    transactional source the last of a committed transaction (a read_committed copier never consumes an aborted
    record, so its committed offset stops before those)."""
    log = history.transactions
    if log is None:
        return history.acked_ends()
    ends: dict[int, int] = {}
    for seq, partition, offset in history.acked_records():
        txn = log.of(seq)
        if txn is None or txn.outcome is Outcome.COMMITTED:
            ends[partition] = max(ends.get(partition, 0), offset + 1)
    return ends


def _names(copiers) -> str:
    groups = copiers.keys() if isinstance(copiers, dict) else [c.group for c in copiers]
    return ", ".join(f"'{g}'" for g in groups)
