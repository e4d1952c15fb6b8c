"""Network partitions: iptables rules in a node's own network namespace, never on the host.

Each cut is a set of DROP rules in a chain of our own (``KPL``) that INPUT and
OUTPUT jump to, inside the container (it has ``NET_ADMIN`` for this). Healing
flushes the chain; removing the container removes everything. Traffic between
nodes uses their addresses on the cluster's private network; client traffic
arrives on the client listener's port through Docker's proxy, so the two can be
cut apart:

* ``nodes``: the node can no longer reach any other node, nor they it, both ways,
  while clients on the host still reach it (the split-brain case);
* ``clients``: clients cannot reach the node, which still talks to its peers.
"""

import enum

from ...broker.environment import CLIENT_PORT
from ...broker.node import Node
from ...choices import by_value
from ...errors import KafkaPersistenceError
from ..fault import FaultKind, Need

CHAIN = "KPL"


class Peers(enum.Enum):
    """Whose links with the node a network fault cuts or degrades (``from=``). Robot converts ``nodes``, ``clients``."""

    NODES = "nodes"
    """Every other node of the cluster, both ways; clients on the host are left alone."""
    CLIENTS = "clients"
    """Clients on the host (the client listener's port); the other nodes are left alone."""

    @classmethod
    def parse(cls, value: "Peers | str") -> "Peers":
        return by_value(cls, value, "Invalid from")


def _isolate(cluster, node_ids, settings, role="", cut_from: Peers = Peers.NODES) -> int:
    return cluster.isolate(node_ids, cut_from, role)


def _heal(cluster, node_ids, settings) -> float:
    return cluster.heal_network(node_ids, settings.restart_timeout)


ISOLATE = FaultKind(
    "isolate", "a network partition: split brain (from=nodes) or a node clients cannot reach (from=clients)",
    Need.PRIVATE_NETWORK, "#ef6c00", ("Isolate Broker", "Heal Network", "Start Random Faults"), "`Isolate Broker`",
    make=_isolate, undo=_heal)

ORDER = 3  # where its kinds stand in lists of every kind
KINDS = (ISOLATE,)


def rules(cut: Peers, peer_addresses: list[str]) -> list[list[str]]:
    """The iptables rules (arguments after ``iptables``) that make ``cut`` in one node (pure)."""
    if cut is Peers.CLIENTS:
        return [["-A", CHAIN, "-p", "tcp", "--dport", str(CLIENT_PORT), "-j", "DROP"],
                ["-A", CHAIN, "-p", "tcp", "--sport", str(CLIENT_PORT), "-j", "DROP"]]
    return [rule for address in peer_addresses
            for rule in (["-A", CHAIN, "-s", address, "-j", "DROP"], ["-A", CHAIN, "-d", address, "-j", "DROP"])]


def isolate(node: Node, cut: Peers, peer_addresses: list[str]) -> list[list[str]]:
    """Install the cut in the node's namespace; return the rules added (for the log)."""
    _prepare(node)
    added = rules(cut, peer_addresses)
    for rule in added:
        _iptables(node, rule)
    return added


def heal(node: Node) -> None:
    """Remove every cut this library made in the node (its chain stays, empty)."""
    _prepare(node)
    _iptables(node, ["-F", CHAIN])


def _prepare(node: Node) -> None:
    """Create our chain and the jumps to it once per container start (idempotent)."""
    code, _ = node.exec(["iptables", "-n", "-L", CHAIN])
    if code != 0:
        _iptables(node, ["-N", CHAIN])
    for hook in ("INPUT", "OUTPUT"):
        code, _ = node.exec(["iptables", "-C", hook, "-j", CHAIN])
        if code != 0:
            _iptables(node, ["-I", hook, "1", "-j", CHAIN])


def _iptables(node: Node, arguments: list[str]) -> None:
    code, output = node.exec(["iptables", *arguments])
    if code == 0:
        return
    text = output.strip().splitlines()[-1] if output.strip() else f"exit code {code}"
    if "executable file not found" in output or ("no such file" in output.lower() and "iptables" in output):
        raise KafkaPersistenceError(
            f"Node {node.node_id} ({node.image}) has no iptables: network faults need it in the image "
            f"(ours has it; build it with 'python -m KafkaPersistenceLibrary.image build').")
    if "Permission denied" in output or "Operation not permitted" in output:
        raise KafkaPersistenceError(
            f"iptables in node {node.node_id} was refused ({text}): the container needs the NET_ADMIN capability "
            f"(the library adds it; a Docker engine or security profile that removes it prevents network faults).")
    raise KafkaPersistenceError(f"iptables {' '.join(arguments)} failed in node {node.node_id}: {text}")
