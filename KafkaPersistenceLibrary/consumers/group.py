"""A consumer group of our own: n member processes, started, stopped, killed and restarted by the test.

Each member is an OS process (``member.py``), so ``kill`` is a real crash: SIGKILL,
nothing committed, the group notices by its session timeout. Each process writes
its own event log (one file per member and incarnation) in the group's directory;
:meth:`ConsumerGroup.log_paths` hands them all to the verdict. A
:class:`~.watch.CommittedOffsetWatcher` samples what the cluster holds as the
group's committed offsets from start to stop.

Nothing outlives its owner: the group kills its members when it is closed, each
member exits by itself once its owner process is gone, and :func:`sweep_orphans`
(called before a group starts) kills members and removes directories whose owner
process died (pid and start time, as ``broker/labels.py`` does for containers).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import confluent_kafka

from ..broker.labels import process_start
from ..choices import by_value
from ..clients.connection import Connection
from ..errors import KafkaPersistenceError
from . import member as member_program
from .events import ASSIGNED, KILLED, REVOKED, STARTED, EventLog, MemberEvent, merged, read_events
from .watch import REQUEST_TIMEOUT_SECONDS, CommittedOffsetWatcher, CommittedSample

DIRECTORY_PREFIX = "kpl-consumers-"
READY_TIMEOUT_SECONDS = 60.0
STUCK_MARGIN_SECONDS = 2.0  # past the client's own timeout, a committed() call counts as stuck
GRACEFUL_STOP_SECONDS = 30.0
KILL_WAIT_SECONDS = 10.0
WAIT_PAUSE_SECONDS = 0.2


class Commit(enum.Enum):
    """When a member commits the offsets of what it read."""

    AFTER_PROCESSING = "after-processing"
    """Process, then commit synchronously: at least once (a crash redelivers)."""
    BEFORE_PROCESSING = "before-processing"
    """Commit what a poll fetched, then process it: a crash in between skips records."""
    AUTO = "auto"
    """librdkafka's auto commit every second, of what polls returned."""


class Isolation(enum.Enum):
    """Kafka's ``isolation.level``."""

    READ_UNCOMMITTED = "read_uncommitted"
    READ_COMMITTED = "read_committed"


class Protocol(enum.Enum):
    """The rebalance protocol (``group.protocol``)."""

    CLASSIC = "classic"
    """The classic group protocol: rebalances through JoinGroup/SyncGroup, client-side session timeout."""
    CONSUMER = "consumer"
    """KIP-848's protocol (Kafka 4): the broker assigns; its session timeout is the broker's (45 s by default)."""


class StartFrom(enum.Enum):
    """Where a group without a committed offset starts (Kafka's ``auto.offset.reset``)."""

    EARLIEST = "earliest"
    LATEST = "latest"


class StopMode(enum.Enum):
    """How a member stops."""

    GRACEFUL = "graceful"
    """SIGTERM: it finishes the records in hand, commits, closes and leaves the group."""
    KILL = "kill"
    """SIGKILL: a crash; nothing more is committed and the group waits for its session timeout."""


@dataclasses.dataclass(frozen=True)
class GroupOptions:
    """How the group's members consume; what the verdict reads as ``group.options``."""

    members: int = 1
    commit: Commit = Commit.AFTER_PROCESSING
    processing: float = 0.0  # seconds per record
    isolation: Isolation = Isolation.READ_UNCOMMITTED
    protocol: Protocol = Protocol.CLASSIC
    start_from: StartFrom = StartFrom.EARLIEST
    session_timeout: float = 10.0  # classic only; KIP-848's is the broker's

    def client_config(self) -> dict:
        config = {"auto.offset.reset": self.start_from.value, "isolation.level": self.isolation.value,
                  "group.protocol": self.protocol.value, "log_level": 3}
        if self.protocol is Protocol.CLASSIC:
            config["session.timeout.ms"] = int(self.session_timeout * 1000)
            config["heartbeat.interval.ms"] = max(500, int(self.session_timeout * 1000 / 5))
        return config


@dataclasses.dataclass
class MemberProcess:
    """One incarnation of one member: its process and its event log."""

    member: int
    incarnation: int
    process: subprocess.Popen
    log_path: str
    stderr_path: str

    @property
    def running(self) -> bool:
        return self.process.poll() is None


class ConsumerGroup:
    """The member processes of ``group`` reading ``topic``, and the watcher of its committed offsets."""

    DIRECTORY_PREFIX = DIRECTORY_PREFIX  # where its logs go (a copier's have their own)

    def __init__(self, connection: Connection, group: str, topic: str, options: GroupOptions,
                 rng: "random.Random | None" = None):
        if options.members < 1:
            raise KafkaPersistenceError(f"Invalid members {options.members}: a group needs at least 1 member.")
        self.connection = connection
        self.group = group
        self.topic = topic
        self.options = options
        self.random = rng or random.Random()
        self.directory = tempfile.mkdtemp(prefix=f"{self.DIRECTORY_PREFIX}{os.getpid()}-{_me_started()}-")
        self.processes: dict[int, MemberProcess] = {}  # member -> its latest incarnation
        self.incarnations: dict[int, list[MemberProcess]] = {}
        self.watcher = ConsumerCommittedWatcher(connection, group, topic)
        self.started_at = time.monotonic()
        self.stopped_at: float | None = None

    # -- whole group -----------------------------------------------------------------

    def start(self, partitions: int = 1, ready_timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Start every member, wait until each runs and the group has assigned partitions, then the watcher.

        The watcher starts once the cluster knows the group: confluent-kafka 2.16.1 crashes the whole
        process (SIGSEGV, measured) when asked for the offsets of a group the cluster has never seen.
        """
        for number in range(1, self.options.members + 1):
            self._spawn(number)
        self.wait_ready(range(1, self.options.members + 1), ready_timeout,
                        assigned=min(self.options.members, partitions))
        self.watcher.start()

    def stop(self, mode: StopMode = StopMode.GRACEFUL) -> None:
        """Stop every running member, then the watcher (after one last sample)."""
        for number in self.running_members():
            self.stop_member(number, mode)
        self.watcher.sample_now()
        self.watcher.stop()
        self.stopped_at = self.stopped_at or time.monotonic()

    def close(self) -> None:
        """Kill whatever still runs and remove the logs: the group is forgotten."""
        for process in self.processes.values():
            if process.running:
                _kill(process)
        self.watcher.stop()
        self.watcher.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- members ---------------------------------------------------------------------

    def members(self, selector: "int | str") -> list[int]:
        """``selector`` (a member number, ``random`` or ``all``) as member numbers."""
        text = str(selector).strip().lower()
        every = list(range(1, self.options.members + 1))
        if text == "all":
            return every
        if text == "random":
            return [self.random.choice(every)]
        try:
            number = int(text)
        except ValueError:
            raise KafkaPersistenceError(f"Invalid member '{selector}': use a member number (1-{len(every)}), "
                                        f"random or all.") from None
        if number not in every:
            raise KafkaPersistenceError(f"Group '{self.group}' has no member {number}: it has members "
                                        f"{_span(every)}.")
        return [number]

    def running_members(self) -> list[int]:
        return [n for n, p in sorted(self.processes.items()) if p.running]

    def stopped_members(self) -> list[int]:
        return [n for n, p in sorted(self.processes.items()) if not p.running]

    def stop_member(self, number: int, mode: StopMode) -> None:
        process = self.processes[number]
        if not process.running:
            raise KafkaPersistenceError(f"Member {number} of group '{self.group}' is not running: "
                                        f"'Start Consumer' brings it back.")
        if mode is StopMode.KILL:
            _kill(process)
            return
        process.process.send_signal(signal.SIGTERM)
        try:
            process.process.wait(GRACEFUL_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _kill(process, why=f"no graceful stop within {GRACEFUL_STOP_SECONDS:g} s")

    def start_member(self, number: int, ready_timeout: float = READY_TIMEOUT_SECONDS) -> None:
        if self.processes[number].running:
            raise KafkaPersistenceError(f"Member {number} of group '{self.group}' runs already.")
        self._spawn(number)
        self.wait_ready([number], ready_timeout, assigned=0)

    def _spawn(self, number: int) -> MemberProcess:
        incarnation = len(self.incarnations.get(number, [])) + 1
        base = os.path.join(self.directory, f"member-{number}-{incarnation}")
        log_path, stderr_path = base + ".jsonl", base + ".stderr"
        command = [sys.executable, "-m", member_program.MARKER, "--log", log_path, "--member", str(number),
                   "--incarnation", str(incarnation), "--group", self.group, "--topic", self.topic,
                   "--commit", self.options.commit.value, "--processing", repr(self.options.processing),
                   "--owner-pid", str(os.getpid()), "--owner-started", _me_started()]
        config = self.connection.librdkafka(self.options.client_config())
        with open(stderr_path, "wb") as stderr:
            # own session: a Ctrl-C in the terminal reaches the test run, which stops the members itself
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr,
                                       start_new_session=True)
        process.stdin.write(json.dumps(config).encode())
        process.stdin.close()
        spawned = MemberProcess(number, incarnation, process, log_path, stderr_path)
        self.processes[number] = spawned
        self.incarnations.setdefault(number, []).append(spawned)
        return spawned

    def wait_ready(self, numbers, timeout: float, assigned: int = 1) -> None:
        """Until each member wrote ``started`` and ``assigned`` of them hold partitions (the group has settled)."""
        deadline = time.monotonic() + timeout
        waiting = [self.processes[n] for n in numbers]
        while True:
            for process in waiting:
                if not process.running and not _wrote(process, STARTED):
                    raise KafkaPersistenceError(
                        f"Member {process.member} of group '{self.group}' exited at start "
                        f"(exit code {process.process.returncode}): {_last_line(process.stderr_path)}")
            started = all(_wrote(p, STARTED) for p in waiting)
            holding = sum(1 for p in waiting if _holds(p)) if started else 0
            if started and holding >= assigned:
                return
            if time.monotonic() >= deadline:
                saw = (f"{holding} of {len(waiting)} members hold partitions, {assigned} should" if started
                       else "not every member started")
                raise KafkaPersistenceError(
                    f"Group '{self.group}' was not ready within {timeout:g} s ({saw}): is the cluster serving "
                    f"topic '{self.topic}'?")
            time.sleep(WAIT_PAUSE_SECONDS)

    # -- what happened ---------------------------------------------------------------

    def log_paths(self) -> list[str]:
        """Every member's event log, all incarnations."""
        return [p.log_path for processes in self.incarnations.values() for p in processes
                if os.path.exists(p.log_path)]

    def events(self) -> list[MemberEvent]:
        return merged(self.log_paths())

    def committed(self) -> "dict[int, int | None] | None":
        """The cluster's committed offsets now (a fresh sample), or None when it cannot say."""
        sample = self.watcher.sample_now()
        return None if sample is None else sample.offsets

    def wait_caught_up(self, ends: dict[int, int], timeout: float) -> "tuple[bool, dict[int, int]]":
        """Until the committed offset of each partition reaches ``ends`` (one past the last acknowledged record).

        Returns whether it did, and the lag per partition left (from the last sample the cluster answered).
        """
        deadline = time.monotonic() + timeout
        lag = dict(ends)
        while True:
            committed = self.committed()
            if committed is not None:
                lag = {p: end - (committed.get(p) or 0) for p, end in ends.items()
                       if (committed.get(p) or 0) < end}
                if not lag:
                    return True, {}
            if time.monotonic() >= deadline:
                return False, lag
            time.sleep(WAIT_PAUSE_SECONDS)

    def counts(self) -> dict[str, int]:
        """Records delivered and processed (all, distinct), commits, member starts and kills."""
        delivered = processed = commits = starts = kills = 0
        distinct: set[tuple[int, int]] = set()
        for event in self.events():
            if event.kind == "delivered":
                delivered += len(event.data.get("records", []))
            elif event.kind == "processed":
                records = event.data.get("records", [])
                processed += len(records)
                distinct.update((int(p), int(o)) for p, o in records)
            elif event.kind == "committed" and not event.data.get("error"):
                commits += 1
            elif event.kind == STARTED:
                starts += 1
            elif event.kind == KILLED:
                kills += 1
        return {"delivered": delivered, "processed": processed, "distinct": len(distinct),
                "reprocessed": processed - len(distinct), "commits": commits, "member_starts": starts,
                "member_kills": kills}


class ConsumerCommittedWatcher(CommittedOffsetWatcher):
    """The watcher, asking with a consumer that never joins (``committed()``) instead of the admin API.

    confluent-kafka 2.16.1's ``AdminClient.list_consumer_group_offsets`` kills the whole
    process here (measured): SIGSEGV for a group the cluster has never seen, and
    ``rd_kafka_enq_once_del_source_return: Assertion `eonce->refcnt > 0' failed`` right
    after the group's coordinator was killed. A consumer's OffsetFetch survives both.
    """

    _consumer: "confluent_kafka.Consumer | None" = None

    def _client(self):
        if self._consumer is None:
            self._consumer = confluent_kafka.Consumer(self.connection.librdkafka({
                "group.id": self.group, "enable.auto.commit": False, "log_level": 0,
                "socket.timeout.ms": int(REQUEST_TIMEOUT_SECONDS * 1000), "reconnect.backoff.max.ms": 1000}))
        return self._consumer

    _stuck: "threading.Event | None" = None  # set once the question last given up returns

    def _ask(self) -> CommittedSample:
        with self._lock:  # one question at a time: the sampling thread and sample_now share the consumer
            if self._stuck is not None and not self._stuck.is_set():  # one stuck client at most, not one per sample
                raise TimeoutError("a committed-offsets question given up earlier has not returned yet")
            consumer = self._client()
            partitions = self._topic_partitions(consumer)
            t = time.monotonic()  # when the question left (see CommittedOffsetWatcher._ask)
            answer = self._committed_within(consumer, [confluent_kafka.TopicPartition(self.topic, p)
                                                       for p in partitions], REQUEST_TIMEOUT_SECONDS + 1)
        offsets: dict[int, int | None] = {p: None for p in partitions}
        for tp in answer:
            if tp.error is not None:
                raise confluent_kafka.KafkaException(tp.error)
            if tp.partition in offsets:
                offsets[tp.partition] = tp.offset if tp.offset >= 0 else None
        return CommittedSample(t, offsets)

    def _committed_within(self, consumer, partitions: list, seconds: float) -> list:
        """``consumer.committed()``, bounded by us: with every broker killed, librdkafka 2.16's committed() was seen
        waiting far past its timeout (> 90 s for 3 s; the keyword probe's Stop Copier). A question that does not
        come back in time gives its consumer up (closed once the call returns, if ever) and fails as a sample."""
        answer: dict = {}
        returned = threading.Event()
        given_up = threading.Event()

        def ask():
            try:
                answer["offsets"] = consumer.committed(partitions, timeout=seconds)
            except Exception as error:  # noqa: BLE001 - handed to the caller below
                answer["error"] = error
            returned.set()
            if given_up.is_set():
                consumer.close()

        threading.Thread(target=ask, name=f"committed-{self.group}", daemon=True).start()
        if not returned.wait(seconds + STUCK_MARGIN_SECONDS):
            given_up.set()
            self._consumer, self._stuck = None, returned  # not closed: close() would wait for the stuck call
            raise TimeoutError(f"the committed offsets did not come back within {seconds + STUCK_MARGIN_SECONDS:g} s "
                               f"(librdkafka's committed() did not return)")
        if "error" in answer:
            raise answer["error"]
        return answer["offsets"]

    def close(self) -> None:
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None


def _wrote(process: MemberProcess, kind: str) -> bool:
    return os.path.exists(process.log_path) and any(e.kind == kind for e in read_events(process.log_path))


def _holds(process: MemberProcess) -> bool:
    """Whether the member holds partitions now: what it was assigned less what was revoked, in order."""
    if not os.path.exists(process.log_path):
        return False
    held: set[int] = set()
    for event in read_events(process.log_path):
        if event.kind == ASSIGNED:
            held |= set(event.data.get("partitions", []))
        elif event.kind == REVOKED:
            held -= set(event.data.get("partitions", []))
    return bool(held)


def _kill(process: MemberProcess, why: str = "") -> None:
    """SIGKILL, then the parent writes ``killed`` into the member's log (it cannot)."""
    process.process.kill()
    try:
        process.process.wait(KILL_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        pass  # a process in uninterruptible sleep; the sweep finds it if it ever wakes
    log = EventLog(process.log_path, process.member, process.incarnation)
    try:
        log.write(KILLED, how="kill", **({"reason": why} if why else {}))
    finally:
        log.close()


def _me_started() -> str:
    return process_start(os.getpid())


def _span(numbers: list[int]) -> str:
    return f"{numbers[0]}-{numbers[-1]}" if len(numbers) > 1 else str(numbers[0])


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        lines = []
    return lines[-1][:300] if lines else "it said nothing"


# -- what a killed run left ----------------------------------------------------------


def sweep_orphans(marker: str = member_program.MARKER, prefix: str = DIRECTORY_PREFIX,
                  what: str = "consumer") -> list[str]:
    """Kill member processes and remove group directories whose owner process is gone; say what went.

    ``marker`` and ``prefix`` name the program and the log directories (a copier's members are swept alike).
    """
    swept = []
    for pid, owner, started in _member_processes(marker):
        if process_start(owner) != started:
            try:
                os.kill(pid, signal.SIGKILL)
                swept.append(f"{what} member process {pid} (left by pid {owner})")
            except ProcessLookupError:
                pass  # gone by itself meanwhile
    root = tempfile.gettempdir()
    for name in os.listdir(root):
        parts = name[len(prefix):].split("-") if name.startswith(prefix) else []
        if len(parts) >= 2 and parts[0].isdigit() and process_start(int(parts[0])) != parts[1]:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            swept.append(f"{what} logs {name} (left by pid {parts[0]})")
    return swept


def _member_processes(marker: str = member_program.MARKER) -> "list[tuple[int, int, str]]":
    """(pid, owner pid, owner start time) of every process of ``marker``'s program on this host."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if marker not in argv or "--owner-pid" not in argv:
            continue
        try:
            owner = int(argv[argv.index("--owner-pid") + 1])
            started = argv[argv.index("--owner-started") + 1]
        except (ValueError, IndexError):
            continue
        found.append((int(entry), owner, started))
    return found


def parse_options(members: int, commit, processing: float, isolation, protocol, start_from,
                  session_timeout: float) -> GroupOptions:
    """The keyword's arguments as GroupOptions, each refused in one line."""
    if members < 1:
        raise KafkaPersistenceError(f"Invalid members {members}: a group needs at least 1 member.")
    if processing < 0:
        raise KafkaPersistenceError(f"Invalid processing {processing:g} s: give the time one record takes, or 0.")
    if session_timeout < 6 or session_timeout > 300:
        raise KafkaPersistenceError(f"Invalid session_timeout {session_timeout:g} s: Kafka's brokers accept "
                                    f"6 s to 5 min by default.")
    return GroupOptions(members=members, commit=by_value(Commit, commit, "Invalid commit"), processing=processing,
                        isolation=by_value(Isolation, isolation, "Invalid isolation"),
                        protocol=by_value(Protocol, protocol, "Invalid protocol"),
                        start_from=by_value(StartFrom, start_from, "Invalid start_from"),
                        session_timeout=session_timeout)
