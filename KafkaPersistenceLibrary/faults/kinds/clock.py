"""A clock that jumps: a broker's wall clock moved through libfaketime, its monotonic clock left alone.

Only for clusters started with ``Start Kafka    clock_skew=True`` on our image: the
entrypoint then preloads libfaketime into the broker's JVM, which reads the
offset from a file (``CLOCK_FILE``) at most once a second. ``Skew Clock`` writes
the offset there, ``Restore Clock`` removes the file; the file lives in the
container and goes with it. Nodes of clusters started without ``clock_skew``
run exactly as before (no preload).

Measured with Debian bookworm's libfaketime 0.9.10 and OpenJDK 17: with
``DONT_FAKE_MONOTONIC=1`` alone the JVM hangs at start or spins at 110% CPU;
with ``FAKETIME_FORCE_MONOTONIC_FIX=0`` as well it starts as fast as without
the preload and idles at a few % CPU. The entrypoint sets both.
"""

import re
import time

from ...errors import KafkaPersistenceError
from ..fault import FaultKind, Need

CLOCK_FILE = "/tmp/kpl-clock"  # read by libfaketime in the broker (FAKETIME_TIMESTAMP_FILE)
CACHE_SECONDS = 1  # FAKETIME_CACHE_DURATION in the entrypoint: how stale the offset a JVM uses may be
LIBRARY_GLOB = "/usr/lib/*/faketime/libfaketime.so.1"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}


def offset(by) -> str:
    """libfaketime's relative offset (``+8d``, ``-2h``, ``+90s``) from ``by``; one line for anything else."""
    match = re.fullmatch(r"\s*([+-])\s*(\d+)\s*([smhdy])\s*", str(by).lower())
    if not match or int(match.group(2)) == 0:
        raise KafkaPersistenceError(
            f"Invalid by '{by}': give a signed jump with a unit, like +8d, -2h or +90s (s, m, h, d, y).")
    return f"{match.group(1)}{int(match.group(2)) * _UNITS[match.group(3)]}"


def skew(node, text: str) -> None:
    """Move the node's wall clock by ``text`` seconds (libfaketime re-reads the file within a second)."""
    require_tool(node)
    _run(node, ["sh", "-c", f'printf "%s\\n" "$1" > {CLOCK_FILE}.new && chmod 644 {CLOCK_FILE}.new '
                            f'&& mv {CLOCK_FILE}.new {CLOCK_FILE}', "sh", text])


def restore(nodes: list) -> None:
    """Back to the real time: an offset of 0 first (libfaketime keeps the last offset it read when the file
    goes), then, once every JVM has read it, the file goes too."""
    for node in nodes:
        skew(node, "+0")
    time.sleep(CACHE_SECONDS + 0.5)
    for node in nodes:
        _run(node, ["rm", "-f", CLOCK_FILE])


def require_tool(node) -> None:
    code, output = node.exec(["sh", "-c", f"ls {LIBRARY_GLOB}"])
    if code != 0:
        raise KafkaPersistenceError(
            f"Node {node.node_id} ({node.image}) has no libfaketime: Skew Clock needs our image "
            f"(kafka-persistence-library/kafka, 'python -m KafkaPersistenceLibrary.image build').")


def _run(node, command: list[str]) -> None:
    code, output = node.exec(command)
    if code != 0:
        text = output.strip().splitlines()[-1] if output.strip() else f"exit code {code}"
        raise KafkaPersistenceError(f"Could not change the clock of node {node.node_id}: {text}")


def _skew(cluster, node_ids, settings, role="", by="+0"):
    return cluster.skew_clock(node_ids, by, role)


def _restore(cluster, node_ids, settings) -> float:
    return cluster.restore_clock(node_ids)


CLOCK = FaultKind(
    "clock", "a wall clock that jumps (NTP step, VM resume): time-based retention, timeouts by wall time",
    Need.CLOCK, "#827717", ("Skew Clock", "Restore Clock"), "`Skew Clock`", make=_skew, undo=_restore,
    random=False)

ORDER = 5
KINDS = (CLOCK,)
