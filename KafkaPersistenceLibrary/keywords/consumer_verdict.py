"""Keywords that judge a consumer group against the producer history: ours from its members' events, an
application's from its committed offsets alone."""

import time
from datetime import timedelta

from robot.api import logger
from robot.utils import DotDict

from ..choices import by_value
from ..clients.admin import partition_states
from ..clients.records import validate_topic
from ..consumers.report import timeline_png, verdict_html
from ..consumers.verdict import judge, judge_external
from ..consumers.watch import CommittedOffsetWatcher
from ..durability.run import Run
from ..errors import KafkaPersistenceError, VerificationFailed
from ..timeouts import to_seconds
from .context import LibraryContext
from .one_line import keyword
from .verification import Timeline, _log_timeline

WAIT_PAUSE_SECONDS = 0.2
TOPIC_CHECK_SECONDS = 10.0


class ConsumerVerdictKeywords:
    ctx: LibraryContext

    @keyword(tags=["consumers", "verdicts"])
    def verify_consumer_group_missed_nothing(self, topic: str, group: str, exactly_once: bool = False,
                                             timeout: timedelta = timedelta(seconds=60),
                                             message: "str | None" = None,
                                             timeline: "Timeline | str" = Timeline.EMBED) -> DotDict:
        """Judges what consumer group ``group`` did with ``topic`` against what the library's producer had acknowledged.

        For a group started with `Start Background Consumer` it reads every
        member's events (each record delivered and processed, each commit,
        assignment and crash) and the group's committed offsets as the cluster
        held them (sampled every 200 ms while the group ran):
        - *skipped* (fails): an acknowledged record no member ever processed,
          though the group went past it (its committed offset, or a record it
          processed, lies beyond it); the log names why: a commit that went
          too far, a committed offset the cluster lost or moved back, the
          offset a member was handed when a partition was assigned;
        - *committed too far* (fails): a commit that covered offsets no member
          had processed at that moment, named with the member and the commit;
        - *redelivered*: processed more than once: counted, allowed (at least
          once), fails only with ``exactly_once=True``;
        - *went backwards*: a member's deliveries going back within one
          assignment, or the committed offset moving back or vanishing
          (with the fault it happened across): reported;
        - *not yet read*: acknowledged records the group had not reached:
          reported as lag, never as lost.

        What a pass proves: every record the library's producer had
        acknowledged and the group went past was processed by a member, and
        no commit ran ahead of the processing, through the faults the test
        made. It does not prove anything about records beyond the group's
        position (lag), nor about faults the test did not make.

        For an application's group watched with `Watch Consumer Group`, the
        library cannot see what the application processed; it judges the
        committed offsets alone: offsets that went backwards and by how much
        (the application re-reads them, or skips records with
        ``auto.offset.reset=latest``), commits past the end of the
        acknowledged data (fails: records written later below them would be
        skipped), the final lag, and how long the group made no progress
        after each fault. A pass there proves only that the group's committed
        offsets never ran past the data and what they did across the faults;
        not that the application processed each record.

        While members still run (or the application still commits), it first
        waits up to ``timeout`` until the committed offsets reach the
        acknowledged ends. A group that processed (or committed) nothing
        fails: there is nothing to judge. The log gets a table and a
        timeline picture (``timeline``: ``embed``, ``file`` or ``off``) with
        one row per member process beside the broker faults. Returns the
        counts (``acknowledged``, ``processed``, ``skipped``,
        ``committed_too_far``, ``redelivered``, ``went_backwards``,
        ``not_yet_read``, ``lag``, ...). ``message`` replaces the failure
        message.

        | `Stop Background Producer`    orders
        | `Stop Background Consumer`    orders    group=billing
        | ${verdict} =    `Verify Consumer Group Missed Nothing`    orders    group=billing
        | Should Be True    ${verdict.redelivered} > 0
        | `Verify Consumer Group Missed Nothing`    orders    group=my-service    timeout=2 min
        """
        validate_topic(topic)
        seconds = to_seconds(timeout)
        timeline = by_value(Timeline, timeline, "Invalid timeline")
        self.ctx.require_cluster(alive=False)  # nodes may be down: the final sample is asked again while they come back
        self.ctx.require_no_random_faults("Verify Consumer Group Missed Nothing")
        ours = self.ctx.consumer_groups.get(group)
        watcher = self.ctx.watched_groups.get(group)
        if ours is None and watcher is None:
            known = sorted(set(self.ctx.consumer_groups) | set(self.ctx.watched_groups))
            names = f" (known: {', '.join(repr(g) for g in known)})" if known else ""
            raise KafkaPersistenceError(f"No consumer group '{group}' is known{names}: start one with 'Start "
                                        f"Background Consumer', or watch your application's group with 'Watch "
                                        f"Consumer Group' before the faults.")
        watched_topic = ours.topic if ours is not None else watcher.topic
        if watched_topic != topic:
            raise KafkaPersistenceError(f"Consumer group '{group}' reads '{watched_topic}', not '{topic}'.")
        run = self._producer_run(topic)
        ends = run.history.acked_ends()
        started = time.monotonic()
        deadline = started + seconds
        if ours is not None:
            if ours.running_members():
                ours.wait_caught_up(ends, seconds)
            final = _final(ours.watcher, deadline)
            events = ours.events()
            verdict = judge(run.history, group, events, list(ours.watcher.samples), final,
                            len(ours.watcher.errors), exactly_once)
            watcher = ours.watcher
        else:
            final = _caught_up(watcher, ends, deadline)
            events = []
            verdict = judge_external(run.history, group, list(watcher.samples), final, len(watcher.errors))
        took = time.monotonic() - started
        logger.info(verdict_html(verdict), html=True)
        samples = list(watcher.samples)
        _log_timeline(timeline, f"{topic}-{group}", lambda: timeline_png(run.history, verdict, events, samples))
        if watcher.errors:
            logger.info(f"{len(watcher.errors)} samples of the committed offsets could not be taken (expected during "
                        f"faults); first: {watcher.errors[0].reason}.")
        counts = DotDict(verdict.counts(), seconds=round(took, 3))
        logger.info(f"Judged group '{group}' in {took:.2f} s: {dict(counts)}.")
        if not verdict.passed:
            raise VerificationFailed(message or verdict.summary(), counts)
        return counts

    @keyword(tags=["consumers"])
    def watch_consumer_group(self, group: str, topic: str) -> None:
        """Samples the committed offsets of your application's consumer ``group`` on ``topic`` every 200 ms.

        `Verify Consumer Group Missed Nothing` then judges the samples.

        Call it before the faults: the verdict can judge only what was
        sampled. Sampling goes on through faults (a sample the cluster cannot
        answer is noted and the next one taken) until the cluster is removed.
        The group needs no member yet; the topic must exist.

        | `Watch Consumer Group`    group=my-service    topic=orders
        | `Restart Broker`    mode=kill    broker=coordinator    group=my-service
        | `Verify Consumer Group Missed Nothing`    orders    group=my-service
        """
        validate_topic(topic)
        if not str(group).strip():
            raise KafkaPersistenceError("Invalid group '': name the consumer group, e.g. group=my-service.")
        cluster = self.ctx.require_cluster()
        if group in self.ctx.consumer_groups:
            raise KafkaPersistenceError(f"Consumer group '{group}' is one the library started: its committed "
                                        f"offsets are watched already.")
        if group in self.ctx.watched_groups:
            raise KafkaPersistenceError(f"Consumer group '{group}' is watched already (on "
                                        f"'{self.ctx.watched_groups[group].topic}').")
        if partition_states(cluster.connection, topic, TOPIC_CHECK_SECONDS) is None:
            raise KafkaPersistenceError(f"Topic '{topic}' does not exist: create it ('Create Topic') before "
                                        f"watching a group on it.")
        self.ctx.watched_groups[group] = CommittedOffsetWatcher(cluster.connection, group, topic).start()
        logger.info(f"Watching the committed offsets of group '{group}' on '{topic}' every 200 ms.")

    def _producer_run(self, topic: str) -> Run:
        run = self.ctx.runs.get(topic)
        if run is None or len(run.history) == 0:
            raise KafkaPersistenceError(f"Nothing was produced to '{topic}' with 'Produce Records' or 'Start "
                                        f"Background Producer': the consumer verdict judges a group against what "
                                        f"that producer had acknowledged.")
        if run.background is not None:
            raise KafkaPersistenceError(f"The background producer of '{topic}' still runs: call 'Stop Background "
                                        f"Producer' first.")
        return run


def _final(watcher: CommittedOffsetWatcher, deadline: float) -> "dict[int, int | None] | None":
    """The committed offsets now, asked again while the cluster cannot answer (bounded by ``deadline``)."""
    while True:
        sample = watcher.sample_now()
        if sample is not None:
            return sample.offsets
        if time.monotonic() + WAIT_PAUSE_SECONDS >= deadline:
            logger.warn(f"The committed offsets of group '{watcher.group}' could not be read at the end "
                        f"({watcher.errors[-1].reason if watcher.errors else 'no answer'}); judging the samples "
                        f"taken before.")
            return None
        time.sleep(WAIT_PAUSE_SECONDS)


def _caught_up(watcher: CommittedOffsetWatcher, ends: dict[int, int], deadline: float
               ) -> "dict[int, int | None] | None":
    """Until the watched group's committed offsets reach ``ends`` or ``deadline``; the last offsets it saw."""
    last = None
    while True:
        sample = watcher.sample_now()
        if sample is not None:
            last = sample.offsets
            if all((last.get(p) or 0) >= end for p, end in ends.items()):
                return last
        if time.monotonic() + WAIT_PAUSE_SECONDS >= deadline:
            if last is not None:
                behind = sum(max(0, end - (last.get(p) or 0)) for p, end in ends.items())
                logger.info(f"Group '{watcher.group}' had not committed every acknowledged record when the wait "
                            f"ended ({behind} behind): reported as lag.")
            return last
        time.sleep(WAIT_PAUSE_SECONDS)

