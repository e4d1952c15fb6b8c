"""Faults of the broker process: a graceful stop, a crash, a freeze. Any node the library can act on has them.

Made by the node's driver (Docker for our containers and a compose project's,
the user's commands otherwise); undone by a start or a resume, after which
the cluster must serve again.
"""

from ...broker.node import StopMode
from ..fault import FaultKind, Need


def stop_in(mode: StopMode):
    """A make() that takes the nodes down in ``mode`` and leaves them down."""
    def make(cluster, node_ids, settings, role=""):
        return cluster.stop(node_ids, mode, settings.stop_timeout, role)

    return make


def start_again(cluster, node_ids, settings) -> float:
    return cluster.start_again(node_ids, settings.restart_timeout)


def _pause(cluster, node_ids, settings, role=""):
    cluster.pause(node_ids, role)


def _resume(cluster, node_ids, settings) -> float:
    return cluster.resume(node_ids, settings.restart_timeout)


GRACEFUL = FaultKind(
    "graceful", "an orderly shutdown (SIGTERM): controlled leader migration, clean log close", Need.NOTHING,
    "#1565c0", ("Restart Broker", "Stop Broker", "Start Random Faults"), "`mode=graceful`",
    make=stop_in(StopMode.GRACEFUL), undo=start_again)
KILL = FaultKind(
    "kill", "a process crash (SIGKILL): the page cache keeps every write", Need.NOTHING, "#c62828",
    ("Restart Broker", "Stop Broker", "Start Random Faults"), "`mode=kill`", make=stop_in(StopMode.KILL), undo=start_again)
PAUSE = FaultKind(
    "pause", "a frozen process (docker pause): connections stay open, nothing answers", Need.NOTHING, "#00838f",
    ("Pause Broker", "Resume Broker", "Start Random Faults"), "`Pause Broker`", make=_pause, undo=_resume)

ORDER = 1  # where its kinds stand in lists of every kind
KINDS = (KILL, GRACEFUL, PAUSE)
