"""What a fault kind is: its name, what it needs, how it is made and undone, and its colour on the timeline.

Each kind lives in a module of its own under ``faults/kinds/`` (process, power,
network, ...), which exports its kinds as ``KINDS``; :mod:`.registry` finds them
there, so a new kind is a new module and its keywords, nothing else.
"""

import dataclasses
import enum
from collections.abc import Callable
from typing import Any


class Need(enum.Enum):
    """What a fault needs of the cluster, beyond nodes the library can stop, start and pause."""

    NOTHING = "nothing"
    FILESYSTEM = "the power-loss filesystem"  # Start Kafka    power_loss=True
    PRIVATE_NETWORK = "a private network"  # a cluster of several nodes the library started
    CLOCK = "a clock that can jump"  # Start Kafka    clock_skew=True
    DISK = "the disk fault layer"  # Start Kafka    disk=faulty (or disk=lying)

    def why_not(self, cluster) -> str:
        """Why ``cluster`` cannot have this, or ""."""
        if self is Need.FILESYSTEM and not cluster.power_loss:
            return "it needs the power-loss filesystem: 'Start Kafka    power_loss=True'"
        if self is Need.PRIVATE_NETWORK and cluster.network_name is None:
            return f"it needs a cluster the library started, and {cluster.description} is not one"
        if self is Need.PRIVATE_NETWORK and len(cluster.nodes) < 2:
            return "a single node has no other node to be cut off from (start Kafka with brokers=3)"
        if self is Need.CLOCK and not getattr(cluster, "clock_skew", False):
            return (f"its clock must be started to jump: 'Start Kafka    clock_skew=True' (only on clusters the "
                    f"library starts; {cluster.description} was started without it)")
        if self is Need.DISK and cluster.network_name is None:
            return (f"it needs a cluster the library started with 'Start Kafka    disk=faulty', and "
                    f"{cluster.description} is not one")
        if self is Need.DISK and not getattr(cluster, "disk", ""):
            return ("its log directories must be on the disk fault layer: start Kafka with "
                    "'Start Kafka    disk=faulty' (or disk=lying); power_loss=True alone does not add it")
        return ""


@dataclasses.dataclass(frozen=True)
class FaultKind:
    """One kind of fault on one or more nodes.

    ``make(cluster, node_ids, settings, role, **options)`` puts the nodes in the
    fault (``role`` is what they were chosen as, e.g. "leader of orders-0");
    ``undo(cluster, node_ids, settings)`` ends it and returns the seconds until
    the cluster served again. ``keywords`` make it; ``readme`` is the first cell
    of its row in README's fault table; ``colour`` marks it on the timeline.
    """

    name: str
    simulates: str
    needs: Need
    colour: str
    keywords: tuple[str, ...]
    readme: str
    make: Callable[..., Any]
    undo: Callable[..., float]
    random: bool = True  # Start Random Faults may choose it

    def why_not(self, cluster) -> str:
        """Why ``cluster`` cannot make this fault (one clause), or ""."""
        return self.needs.why_not(cluster) or _missing_command(cluster, self.name)


# Actions of Connect Kafka's command driver each kind needs (one of each tuple); other drivers have them all.
COMMANDS = {"kill": ("kill",), "graceful": ("stop", "restart"), "pause": ("pause",)}


def _missing_command(cluster, name: str) -> str:
    for node in cluster.nodes.values():
        commands = getattr(node, "commands", None)
        wanted = COMMANDS.get(name, ())
        if commands is not None and wanted and not any(commands.get(action) for action in wanted):
            return f"Connect Kafka was given no {wanted[0]}= command"
    return ""
