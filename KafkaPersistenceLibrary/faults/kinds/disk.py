"""The disk as a fault: full (ENOSPC), failing (EIO), slow (latency per call), made by volatilefs in the node.

Only for clusters started with ``Start Kafka    disk=faulty`` (or ``disk=lying``, whose
fsync syncs nothing) on our image. The library keeps what each node's disk should do
(`DiskState`), writes it whole to a control file in the node and signals volatilefs
(SIGUSR2), which applies it to every later request and echoes it to
``<file>.applied``: a keyword returns once the echo matches, so the fault is in force
when it returns. The file lives in the container, outside the mount: the faults
survive a restart of the node (a broken disk stays broken) and go with the container
(`Stop Kafka`, a suite's end, the sweep of a killed run).

With ``disk=`` the KRaft metadata log lies outside the faulty mount, on the
container's own disk: a failed data disk is then a failed log directory, which
Kafka takes offline (KIP-112), not a lost metadata log, which halts the broker.
"""

import dataclasses
import enum

from robot.utils import timestr_to_secs

from ...choices import by_value
from ...errors import KafkaPersistenceError
from ..fault import FaultKind, Need

CONTROL_DIR = "/run/kpl-disk"  # DISK_CONTROL_DIR of the image's entrypoint
CONTROL_FILE = f"{CONTROL_DIR}/faults"
PID_FILE = f"{CONTROL_DIR}/volatilefs.pid"
APPLY_WAIT_SECONDS = 10  # volatilefs applies a change at once; a loaded machine may take a moment to run it
MAX_DELAY_SECONDS = 60  # a disk slower than this per call is a dead disk: Fail Disk


class Disk(enum.Enum):
    """What `Start Kafka` ``disk=`` puts under each node's log directory."""

    PLAIN = "plain"
    """The container's own filesystem (the default)."""
    FAULTY = "faulty"
    """volatilefs: forgets unsynced writes on a power cut, and takes Fill, Fail and Slow Down Disk."""
    LYING = "lying"
    """As ``faulty``, and its fsync reports success and syncs nothing."""


class Operation(enum.Enum):
    """What `Fail Disk` makes fail with EIO."""

    WRITE = "write"
    READ = "read"
    FSYNC = "fsync"
    ALL = "all"


@dataclasses.dataclass(frozen=True)
class DiskState:
    """What a node's disk does now; the default is a healthy disk."""

    full: bool = False
    failing: frozenset = frozenset()  # Operation values
    write_delay_us: int = 0
    fsync_delay_us: int = 0

    @property
    def healthy(self) -> bool:
        return self == DiskState()

    @property
    def slow(self) -> bool:
        return bool(self.write_delay_us or self.fsync_delay_us)

    def text(self) -> str:
        """The control file's line (volatilefs.c, DISK FAULTS)."""
        tokens = ["full"] if self.full else []
        if self.failing:
            tokens.append("eio=" + ",".join(sorted(self.failing)))
        if self.write_delay_us:
            tokens.append(f"write_delay_us={self.write_delay_us}")
        if self.fsync_delay_us:
            tokens.append(f"fsync_delay_us={self.fsync_delay_us}")
        return " ".join(tokens)


def disk_choice(value) -> Disk:
    return by_value(Disk, value, "Invalid disk")


def operations(value) -> frozenset:
    """``write``, ``read|fsync``, ``all`` (``|`` or ``,`` between them) as a set of Operation values."""
    parts = [part for part in str(value).replace(",", "|").split("|") if part.strip()]
    if not parts:
        raise KafkaPersistenceError(f"Invalid operation '{value}': use one of write, read, fsync, all.")
    chosen = {by_value(Operation, part, "Invalid operation").value for part in parts}
    return frozenset({Operation.ALL.value} if Operation.ALL.value in chosen else chosen)


def delay_us(value, name: str) -> int:
    """Microseconds from a duration (``200ms``, ``1s``, a timedelta, seconds); one line unless above 0, at most 60 s."""
    if value is None:
        return 0
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else value
    try:
        seconds = float(timestr_to_secs(seconds))
    except (TypeError, ValueError):
        raise KafkaPersistenceError(f"Invalid {name} '{value}': use a duration like 200ms or 1s.") from None
    if not 0 < seconds <= MAX_DELAY_SECONDS:
        raise KafkaPersistenceError(
            f"Invalid {name} '{seconds:g}s': use a duration above 0 and at most {MAX_DELAY_SECONDS} s per call, "
            f"like 200ms (a disk slower than that is a failed one: 'Fail Disk').")
    return max(1, round(seconds * 1_000_000))


def apply(node, state: DiskState) -> None:
    """Write ``state`` to the node's control file, signal volatilefs and wait until it applied it.

    A node whose container is down (its broker halted on the fault) gets the file only: volatilefs reads it
    when the node starts again.
    """
    if node.state().status != "running":
        node.write_file(CONTROL_FILE, state.text() + "\n")
        return
    script = (f'printf "%s\\n" "$1" > {CONTROL_FILE}.new && mv {CONTROL_FILE}.new {CONTROL_FILE} '
              f'&& kill -USR2 "$(cat {PID_FILE})" || exit 3; '
              f'i=0; while [ $i -lt {APPLY_WAIT_SECONDS * 10} ]; do '
              f'cmp -s {CONTROL_FILE} {CONTROL_FILE}.applied && exit 0; sleep 0.1; i=$((i+1)); done; '
              f'echo "applied: $(cat {CONTROL_FILE}.applied 2>/dev/null)"; exit 4')
    code, output = node.exec(["sh", "-c", script, "sh", state.text()])
    if code == 3:
        raise KafkaPersistenceError(
            f"Node {node.node_id} has no disk fault layer running ({_last_line(output, code)}): start Kafka "
            f"with 'Start Kafka    disk=faulty' on our image.")
    if code != 0:
        raise KafkaPersistenceError(
            f"volatilefs in node {node.node_id} did not apply '{state.text() or 'a healthy disk'}' within "
            f"{APPLY_WAIT_SECONDS} s ({_last_line(output, code)}).")


def change(cluster, node_ids: list[int], role: str = "", **changes) -> None:
    """Give the nodes' disks ``changes`` (DiskState fields), keep the rest, and remember the result.

    ``role`` (what the nodes were chosen as) is remembered too: a broker that halts on the fault can be
    started again as that role ('Start Broker    broker=leader    topic=orders').
    """
    for node_id in node_ids:
        if role:
            cluster.faulted_as[node_id] = role
        state = dataclasses.replace(cluster.disks.get(node_id, DiskState()), **changes)
        apply(cluster.nodes[node_id], state)
        if state.healthy:
            cluster.disks.pop(node_id, None)
        else:
            cluster.disks[node_id] = state


def _last_line(output: str, code: int) -> str:
    return output.strip().splitlines()[-1] if output.strip() else f"exit code {code}"


def _fill(cluster, node_ids, settings, role=""):
    change(cluster, node_ids, role, full=True)


def _free(cluster, node_ids, settings) -> float:
    change(cluster, node_ids, full=False)
    return 0.0


def _fail(cluster, node_ids, settings, role="", failing=frozenset({Operation.ALL.value})):
    change(cluster, node_ids, role, failing=frozenset(failing))


def _repair(cluster, node_ids, settings) -> float:
    change(cluster, node_ids, failing=frozenset())
    return 0.0


def _slow(cluster, node_ids, settings, role="", write_delay_us=0, fsync_delay_us=0):
    change(cluster, node_ids, role, write_delay_us=write_delay_us, fsync_delay_us=fsync_delay_us)


def _restore(cluster, node_ids, settings) -> float:
    change(cluster, node_ids, write_delay_us=0, fsync_delay_us=0)
    return 0.0


# Not for Start Random Faults: a log directory Kafka took offline stays offline until the broker restarts, so
# these faults have no undo that lets the cluster serve again by itself, which the random schedule relies on.
FULL = FaultKind(
    "disk-full", "a full disk: writes, growing files and new files fail with ENOSPC", Need.DISK, "#ff6f00",
    ("Fill Disk", "Free Disk"), "`Fill Disk`", make=_fill, undo=_free, random=False)
FAILING = FaultKind(
    "disk-error", "a failing disk: the chosen operations fail with EIO", Need.DISK, "#b71c1c",
    ("Fail Disk", "Repair Disk"), "`Fail Disk`", make=_fail, undo=_repair, random=False)
SLOW = FaultKind(
    "disk-slow", "a slow disk: every fsync and/or write waits the given time", Need.DISK, "#0277bd",
    ("Slow Down Disk", "Restore Disk"), "`Slow Down Disk`", make=_slow, undo=_restore, random=False)

ORDER = 6
KINDS = (FULL, FAILING, SLOW)
