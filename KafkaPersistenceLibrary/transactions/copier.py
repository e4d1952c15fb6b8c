"""A copier of our own: n member processes copying a source topic to a target, each batch in one transaction.

It is a consumer group (``consumers/group.py``) whose members run
``copier_member.py`` instead of the consumer member: starting, stopping, killing,
the caught-up wait on the source's committed offsets and the owner checks are the
group's. Its own: the member's command line and configuration, holding a member
between produce and commit so a kill lands there, and the sweep of what a killed
run left.
"""

from __future__ import annotations

import enum
import json
import os
import signal
import subprocess
import sys
import time

from ..choices import by_value
from ..clients.connection import Connection
from ..consumers.events import HOLDING, read_events
from ..consumers.group import ConsumerGroup, GroupOptions, Isolation, MemberProcess, StopMode, _me_started
from ..consumers.group import sweep_orphans as sweep_programs
from ..errors import KafkaPersistenceError
from . import copier_member

DIRECTORY_PREFIX = "kpl-copier-"
SESSION_TIMEOUT_SECONDS = 10.0
# librdkafka 2.16 can leave send_offsets_to_transaction waiting forever, past its timeout, for a group coordinator
# it forgot after a broker kill (its issues 5511 and 5456): the request is looked at again only when one of the
# producer's broker connections changes state. Closing idle connections makes such a change within seconds.
IDLE_CLOSE_MS = 10000
HOLD_WAIT_SECONDS = 120.0  # after a broker kill a copier's next batch waits for rebalances (measured: up to 30 s)


class CopyMode(enum.Enum):
    """How a copier commits what it copied."""

    EXACTLY_ONCE = "exactly-once"
    """Each batch's copies and its input offsets in one transaction (``send_offsets_to_transaction``)."""
    AT_LEAST_ONCE = "at-least-once"
    """Produce the batch, wait for every acknowledgement, then commit the input offsets: a crash copies again."""


class KillMoment(enum.Enum):
    """When `Restart Copier` kills a member."""

    NOW = "now"
    """At once, wherever it is."""
    BEFORE_COMMIT = "before-commit"
    """Once it has produced its next batch and before it commits it (the moment duplicates are made)."""


class Copier(ConsumerGroup):
    """The member processes of the copier ``group`` from ``source`` to ``target``."""

    DIRECTORY_PREFIX = DIRECTORY_PREFIX

    def __init__(self, connection: Connection, group: str, source: str, target: str, mode: CopyMode,
                 members: int, batch: int, rng=None):
        options = GroupOptions(members=members, isolation=Isolation.READ_COMMITTED,
                               session_timeout=SESSION_TIMEOUT_SECONDS)
        super().__init__(connection, group, source, options, rng)
        self.source, self.target, self.mode, self.batch = source, target, mode, batch

    @property
    def exactly_once(self) -> bool:
        return self.mode is CopyMode.EXACTLY_ONCE

    def transactional_id(self, number: int) -> str:
        """The member's transactional id: the same for every process of that member, so a new one fences the old."""
        return f"{self.group}-{number}" if self.exactly_once else ""

    def transactional_ids(self) -> list[str]:
        return [self.transactional_id(n) for n in range(1, self.options.members + 1)] if self.exactly_once else []

    def _spawn(self, number: int) -> MemberProcess:
        incarnation = len(self.incarnations.get(number, [])) + 1
        base = os.path.join(self.directory, f"member-{number}-{incarnation}")
        log_path, stderr_path = base + ".jsonl", base + ".stderr"
        command = [sys.executable, "-m", copier_member.MARKER, "--log", log_path, "--member", str(number),
                   "--incarnation", str(incarnation), "--group", self.group, "--source", self.source,
                   "--target", self.target, "--mode", self.mode.value, "--batch", str(self.batch),
                   "--transactional-id", self.transactional_id(number),
                   "--owner-pid", str(os.getpid()), "--owner-started", _me_started()]
        consumer = self.connection.librdkafka({**self.options.client_config(), "reconnect.backoff.max.ms": 1000})
        producer = self.connection.librdkafka({"acks": "all", "enable.idempotence": True, "linger.ms": 5,
                                               "reconnect.backoff.max.ms": 1000, "log_level": 3,
                                               "connections.max.idle.ms": IDLE_CLOSE_MS})
        if self.exactly_once:  # transaction.timeout.ms stays librdkafka's 60 s: a slow cluster must not abort us
            producer["transactional.id"] = self.transactional_id(number)
        with open(stderr_path, "wb") as stderr:
            # own session: a Ctrl-C in the terminal reaches the test run, which stops the members itself
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr,
                                       start_new_session=True)
        process.stdin.write(json.dumps({"consumer": consumer, "producer": producer}).encode())
        process.stdin.close()
        spawned = MemberProcess(number, incarnation, process, log_path, stderr_path)
        self.processes[number] = spawned
        self.incarnations.setdefault(number, []).append(spawned)
        return spawned

    def kill_before_commit(self, number: int, timeout: float = HOLD_WAIT_SECONDS) -> int:
        """Ask member ``number`` to hold its next batch between produce and commit, then kill it there.

        Returns the batch it held. Fails in one line when the member copies no batch within ``timeout``.
        """
        process = self.processes[number]
        held_before = _held(process)
        process.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while True:
            held = _held(process)
            if len(held) > len(held_before):
                self.stop_member(number, StopMode.KILL)
                return held[-1]
            if not process.running:
                raise KafkaPersistenceError(f"Member {number} of copier '{self.group}' exited while it was asked to "
                                            f"hold a batch (exit code {process.process.returncode}).")
            if time.monotonic() >= deadline:
                raise KafkaPersistenceError(
                    f"Member {number} of copier '{self.group}' copied no batch within {timeout:g} s, so it could not "
                    f"be killed before a commit ({_doing(process)}): does '{self.source}' receive records?")
            time.sleep(0.05)

    def doing(self) -> str:
        """What each running member was last seen doing, for a log line."""
        return "; ".join(f"member {n}: {_doing(self.processes[n])}" for n in self.running_members())

    def counts(self) -> dict[str, int]:
        """Batches copied, committed, aborted; copies sent; member starts and kills."""
        counts = {"batches": 0, "committed": 0, "aborted": 0, "copies": 0, "member_starts": 0, "member_kills": 0}
        for event in self.events():
            if event.kind == "delivered":
                counts["batches"] += 1
            elif event.kind == "committed" and not event.data.get("error"):
                counts["committed"] += 1
            elif event.kind == "aborted":
                counts["aborted"] += 1
            elif event.kind == "produced":
                counts["copies"] += int(event.data.get("records", 0))
            elif event.kind == "started":
                counts["member_starts"] += 1
            elif event.kind == "killed":
                counts["member_kills"] += 1
        return counts


def _doing(process: MemberProcess) -> str:
    """What a member was last seen doing, for a message: the partitions it holds and its last events."""
    events = list(read_events(process.log_path)) if os.path.exists(process.log_path) else []
    held: set[int] = set()
    for event in events:
        if event.kind == "assigned":
            held |= set(event.data.get("partitions", []))
        elif event.kind == "revoked":
            held -= set(event.data.get("partitions", []))
    now = time.monotonic()
    last = ", ".join(f"{e.kind}{' batch ' + str(e.data['batch']) if 'batch' in e.data else ''} {now - e.t:.0f} s ago"
                     for e in events[-3:])
    waiting = _waiting_in(process.stderr_path)
    return (f"it holds partitions {sorted(held) or 'none'}; its last events: {last or 'none'}"
            + (f"; {waiting}" if waiting else ""))


def _waiting_in(stderr_path: str) -> str:
    """The member's own line saying it is still waiting in a client call, unless that call has returned since."""
    try:
        with open(stderr_path, "rb") as f:
            f.seek(max(0, os.path.getsize(stderr_path) - 65536))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    marks = [line for line in lines if line.startswith((copier_member.WAITING, copier_member.RETURNED))]
    return marks[-1].replace("copier member ", "", 1) if marks and marks[-1].startswith(copier_member.WAITING) else ""


def _held(process: MemberProcess) -> list[int]:
    if not os.path.exists(process.log_path):
        return []
    return [int(e.data.get("batch", 0)) for e in read_events(process.log_path) if e.kind == HOLDING]


def sweep_orphans() -> list[str]:
    """Kill copier member processes and remove copier logs whose owner process is gone; say what went."""
    return sweep_programs(copier_member.MARKER, DIRECTORY_PREFIX, "copier")


def parse_mode(mode) -> CopyMode:
    return by_value(CopyMode, mode, "Invalid mode")


def parse_moment(when) -> KillMoment:
    return by_value(KillMoment, when, "Invalid when")
