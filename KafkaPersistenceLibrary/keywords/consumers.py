"""Keywords for consumer groups of our own: member processes the test starts, kills and restarts."""

import time
from datetime import timedelta

from robot.api import logger
from robot.utils import DotDict

from ..choices import by_value
from ..clients.records import validate_topic
from ..consumers.group import ConsumerGroup, StopMode, parse_options, sweep_orphans
from ..errors import KafkaPersistenceError
from ..timeouts import to_seconds
from .context import LibraryContext
from .one_line import keyword
from .targets import METADATA_TIMEOUT_SECONDS

NO_GROUP = "No consumer group '{group}' was started: call 'Start Background Consumer' first{known}."


class ConsumerKeywords:
    ctx: LibraryContext

    @keyword(tags=["consumers"])
    def start_background_consumer(self, topic: str, group: str, members: int = 1, commit: str = "after-processing",
                                  processing: timedelta = timedelta(0), isolation: str = "read_uncommitted",
                                  protocol: str = "classic", start_from: str = "earliest",
                                  session_timeout: timedelta = timedelta(seconds=10)) -> None:
        """Starts consumer group ``group`` on ``topic``: ``members`` processes that consume until stopped.

        Each member is its own OS process (librdkafka), so `Restart Consumer`
        ``mode=kill`` is a real crash. Each writes, with times, every record
        delivered (partition, offset, the producer's seq), every commit, every
        assignment and revocation, for `Verify Consumer Group Missed Nothing`.

        - ``commit``: ``after-processing`` (process, then commit: at least
          once), ``before-processing`` (commit what a poll fetched, then
          process: a crash in between skips records) or ``auto`` (the client's
          auto commit every second);
        - ``processing``: the time each record takes (0 by default; a poll
          then takes about a second of records);
        - ``isolation``: ``read_uncommitted`` or ``read_committed``;
        - ``protocol``: ``classic`` or ``consumer`` (KIP-848, Kafka 4);
        - ``start_from``: where a group without a committed offset starts,
          ``earliest`` or ``latest`` (Kafka's ``auto.offset.reset``);
        - ``session_timeout``: how soon the group notices a killed member
          (``classic`` only; with ``consumer`` it is the broker's
          ``group.consumer.session.timeout.ms``, 45 s by default).

        It returns once every member runs and holds partitions (as many as
        the topic has partitions for), within 60 s. Members never outlive the test run: they
        stop with the suite that started the cluster, and exit by themselves
        if the run is killed.

        | `Create Topic`    orders    partitions=3
        | `Start Background Consumer`    orders    group=billing    members=2
        | `Start Background Consumer`    orders    group=audit    commit=before-processing    processing=50 ms
        | `Start Background Consumer`    orders    group=new    protocol=consumer    start_from=latest
        """
        validate_topic(topic)
        if not str(group).strip():
            raise KafkaPersistenceError("Invalid group '': name the consumer group, e.g. group=billing.")
        options = parse_options(members, commit, to_seconds(processing, "processing", allow_zero=True), isolation, protocol,
                                start_from, to_seconds(session_timeout, "session_timeout"))
        cluster = self.ctx.require_cluster()
        states = cluster.partition_states(topic, METADATA_TIMEOUT_SECONDS)
        if states is None:
            raise KafkaPersistenceError(f"Topic '{topic}' does not exist on {cluster.bootstrap}: create it with "
                                        f"'Create Topic' first (members do not create topics).")
        known = self.ctx.consumer_groups.get(group)
        if known is not None and known.running_members():
            raise KafkaPersistenceError(f"Consumer group '{group}' runs already: stop it with 'Stop Background "
                                        f"Consumer' first, or use another group.")
        for swept in sweep_orphans():
            logger.info(f"Removed what a killed run left: {swept}.")
        if known is not None:
            known.close()
        consumer_group = ConsumerGroup(cluster.connection, group, topic, options, self.ctx.random)
        self.ctx.consumer_groups[group] = consumer_group
        started = time.monotonic()
        try:
            consumer_group.start(partitions=len(states))
        except BaseException:
            consumer_group.stop(StopMode.KILL)
            raise
        logger.info(f"Consumer group '{group}' on '{topic}': {options.members} member(s), commit={options.commit.value}, "
                    f"protocol={options.protocol.value}, ready in {time.monotonic() - started:.1f} s; "
                    f"logs in {consumer_group.directory}.")

    @keyword(tags=["consumers"])
    def stop_background_consumer(self, topic: str, group: str, timeout: timedelta = timedelta(seconds=120)) -> DotDict:
        """Waits until ``group`` has committed every record acknowledged on ``topic``, then stops its members.

        The wait is bounded by ``timeout``; when it runs out the members are
        stopped all the same and the log says how far behind the group was
        (the verdict reports that as *not yet read*, never as lost). Members
        stop gracefully: each commits what it processed and leaves the group.

        Returns ``delivered``, ``processed`` (every processing, redeliveries
        included), ``distinct`` (records processed at least once),
        ``reprocessed``, ``commits``, ``member_starts``, ``member_kills``,
        ``caught_up`` (True/False) and ``lag`` (records not committed when the
        wait ended).

        | ${counts} =    `Stop Background Consumer`    orders    group=billing
        | Should Be True    ${counts.caught_up}
        """
        seconds = to_seconds(timeout)
        consumer_group = self._group(group)
        if consumer_group.topic != topic:
            raise KafkaPersistenceError(f"Consumer group '{group}' reads '{consumer_group.topic}', not '{topic}'.")
        if not consumer_group.running_members() and consumer_group.stopped_at is not None:
            raise KafkaPersistenceError(f"Consumer group '{group}' was stopped already.")
        run = self.ctx.runs.get(topic)
        if run is not None and run.background is not None:
            raise KafkaPersistenceError(f"The background producer of '{topic}' still runs: call 'Stop Background "
                                        f"Producer' first, so that the group has an end to catch up with.")
        ends = run.history.acked_ends() if run is not None else {}
        started = time.monotonic()
        caught_up, lag = consumer_group.wait_caught_up(ends, seconds) if consumer_group.running_members() \
            else (False, dict(ends))
        took = time.monotonic() - started
        if caught_up:
            logger.info(f"Group '{group}' committed every acknowledged record of '{topic}' {took:.1f} s into the wait.")
        else:
            behind = ", ".join(f"partition {p}: {n}" for p, n in sorted(lag.items())) or "no member runs"
            logger.warn(f"Group '{group}' had not caught up with '{topic}' after {took:.1f} s ({behind} records "
                        f"behind); stopping it anyway.")
        consumer_group.stop(StopMode.GRACEFUL)
        counts = DotDict(consumer_group.counts(), caught_up=caught_up, lag=sum(lag.values()))
        logger.info(f"Consumer group '{group}' stopped: {dict(counts)}.")
        return counts

    @keyword(tags=["consumers"])
    def restart_consumer(self, group: str, member: str = "random", mode: str = "graceful",
                         downtime: timedelta = timedelta(0)) -> DotDict:
        """Stops member(s) of ``group`` and starts new processes in their place after ``downtime``.

        ``member`` is a member number (1..members), ``random`` (seeded, as
        ``broker=random``) or ``all``. ``mode=graceful`` closes the member (it
        commits and leaves the group); ``mode=kill`` is SIGKILL: nothing more is
        committed and the group notices by its session timeout. Returns
        ``members`` (the numbers restarted) and ``seconds`` (the downtime).

        | `Restart Consumer`    group=billing    member=random    mode=kill
        | `Restart Consumer`    group=billing    member=2    downtime=5 s
        """
        stop_mode = by_value(StopMode, mode, "Invalid mode")
        seconds = to_seconds(downtime, "downtime", allow_zero=True)
        consumer_group = self._group(group)
        numbers = consumer_group.members(member)
        for number in numbers:
            if number not in consumer_group.running_members():
                raise KafkaPersistenceError(f"Member {number} of group '{group}' is not running: 'Start Consumer' "
                                            f"brings it back.")
        stopped = time.monotonic()
        for number in numbers:
            consumer_group.stop_member(number, stop_mode)
        time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
        for number in numbers:
            consumer_group.start_member(number)
        took = time.monotonic() - stopped
        logger.info(f"Restarted member(s) {', '.join(map(str, numbers))} of group '{group}' ({stop_mode.value}), "
                    f"down {took:.1f} s.")
        return DotDict(members=numbers, seconds=round(took, 3))

    @keyword(tags=["consumers"])
    def stop_consumer(self, group: str, member: str = "random", mode: str = "graceful") -> DotDict:
        """Stops member(s) of ``group`` and keeps them down until `Start Consumer`.

        ``member`` and ``mode`` as in `Restart Consumer`. Returns ``members``.

        | `Stop Consumer`    group=billing    member=1    mode=kill
        | `Start Consumer`    group=billing
        """
        stop_mode = by_value(StopMode, mode, "Invalid mode")
        consumer_group = self._group(group)
        numbers = consumer_group.members(member)
        if str(member).strip().lower() == "all":
            numbers = consumer_group.running_members()
        elif str(member).strip().lower() == "random":
            running = consumer_group.running_members()
            if not running:
                raise KafkaPersistenceError(f"No member of group '{group}' is running.")
            numbers = [consumer_group.random.choice(running)]
        for number in numbers:
            consumer_group.stop_member(number, stop_mode)
        logger.info(f"Stopped member(s) {', '.join(map(str, numbers))} of group '{group}' ({stop_mode.value}).")
        return DotDict(members=numbers)

    @keyword(tags=["consumers"])
    def start_consumer(self, group: str, member: "str | None" = None) -> DotDict:
        """Starts stopped member(s) of ``group`` again: ``member`` (a number), or every stopped member.

        Returns ``members``.

        | `Stop Consumer`    group=billing    member=2
        | `Start Consumer`    group=billing    member=2
        """
        consumer_group = self._group(group)
        numbers = consumer_group.members(member) if member is not None else consumer_group.stopped_members()
        if not numbers:
            raise KafkaPersistenceError(f"No member of group '{group}' is stopped: 'Start Consumer' brings back "
                                        f"what 'Stop Consumer' stopped.")
        for number in numbers:
            consumer_group.start_member(number)
        logger.info(f"Started member(s) {', '.join(map(str, numbers))} of group '{group}' again.")
        return DotDict(members=numbers)

    def _group(self, group: str) -> ConsumerGroup:
        self.ctx.require_cluster(alive=False)  # a group lives only as long as the cluster it reads
        consumer_group = self.ctx.consumer_groups.get(group)
        if consumer_group is None:
            names = ", ".join(f"'{name}'" for name in self.ctx.consumer_groups)
            raise KafkaPersistenceError(NO_GROUP.format(group=group, known=f" (started: {names})" if names else ""))
        return consumer_group
