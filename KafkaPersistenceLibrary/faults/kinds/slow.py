"""Gray network faults: a slow link (``tc`` shaping) and a lossy one (iptables' random drop), in the nodes' namespaces.

A partition is clean; these leave the node reachable but degraded. Everything
lives inside the containers (they have ``NET_ADMIN``), never on the host, and
goes with ``Heal Network`` or with the container:

* bandwidth, ``from=nodes``: an ``htb`` class at the rate on the slowed node for
  packets to each other node, and on each other node for packets to it: every
  link between the node and another one runs at the rate, both ways (this
  kernel has no ``ifb`` nor police action for ingress, so the far end shapes);
* bandwidth, ``from=clients``: the node's replies to clients are shaped
  (``htb``, source port of the client listener) and what clients send to it is
  policed by iptables' ``hashlimit`` (drops above the rate, after a 1 MB burst,
  the smallest iptables accepts);
* loss: iptables' ``statistic --mode random`` drops that share of the packets
  to and from each other node (or the client port) in our chain ``KPL``.

``netem`` (delay, reordering) does not exist in this kernel, so there is no
``delay=``.
"""

import re

from ...broker.environment import CLIENT_PORT
from ...errors import KafkaPersistenceError
from ..fault import FaultKind, Need
from .network import CHAIN, Peers, _iptables, _prepare

CLASS = "1:10"  # the shaped htb class; unclassified traffic leaves at full speed (htb's default 0)
HASHLIMIT_BURST = "1mb"  # the smallest burst iptables' hashlimit accepts in byte mode
_UNITS = {"bit": 1, "kbit": 1_000, "mbit": 1_000_000, "gbit": 1_000_000_000}


def bandwidth_bits(value) -> int:
    """Bits per second from ``1mbit``, ``500kbit``, ``2gbit``, ``64000bit``; one line when it is no rate above 0."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)\s*", str(value).lower())
    bits = int(float(match.group(1)) * _UNITS[match.group(2)]) if match else 0
    if bits < 8_000:
        raise KafkaPersistenceError(
            f"Invalid bandwidth '{value}': use a rate of at least 8kbit, like 1mbit or 500kbit "
            f"(units bit, kbit, mbit, gbit).")
    return bits


def loss_share(value) -> float:
    """The share (0..1) from ``10%`` or ``10``; one line unless it is above 0 and below 100%."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*", str(value))
    percent = float(match.group(1)) if match else -1.0
    if not 0 < percent < 100:
        raise KafkaPersistenceError(
            f"Invalid loss '{value}': use a share above 0% and below 100%, like 10% "
            f"(100% is a partition: 'Isolate Broker').")
    return percent / 100


def rate_text(bits: int) -> str:
    for unit in ("gbit", "mbit", "kbit"):
        if bits % _UNITS[unit] == 0:
            return f"{bits // _UNITS[unit]}{unit}"
    return f"{bits}bit"


def loss_rules(slow_from: Peers, share: float, peer_addresses: list[str]) -> list[list[str]]:
    """The iptables rules (after ``iptables``) that drop ``share`` of the node's packets on the link (pure)."""
    drop = ["-m", "statistic", "--mode", "random", "--probability", f"{share:.4f}", "-j", "DROP"]
    if slow_from is Peers.CLIENTS:
        return [["-A", CHAIN, "-p", "tcp", "--dport", str(CLIENT_PORT), *drop],
                ["-A", CHAIN, "-p", "tcp", "--sport", str(CLIENT_PORT), *drop]]
    return [rule for address in peer_addresses
            for rule in (["-A", CHAIN, "-s", address, *drop], ["-A", CHAIN, "-d", address, *drop])]


def client_policing_rule(bits: int) -> list[str]:
    """What clients send to the node above ``bits`` per second is dropped (iptables counts bytes)."""
    return ["-A", CHAIN, "-p", "tcp", "--dport", str(CLIENT_PORT), "-m", "hashlimit", "--hashlimit-name", "kpl",
            "--hashlimit-above", f"{max(1, bits // 8000)}kb/s", "--hashlimit-burst", HASHLIMIT_BURST, "-j", "DROP"]


def shaping_commands(device: str, bits: int, destinations: list[str], client_port: bool) -> list[list[str]]:
    """The ``tc`` commands (after ``tc``) that send packets to ``destinations`` (and replies to clients) at the rate."""
    commands = [["qdisc", "add", "dev", device, "root", "handle", "1:", "htb", "default", "0"],
                ["class", "add", "dev", device, "parent", "1:", "classid", CLASS, "htb", "rate", f"{bits}bit",
                 "ceil", f"{bits}bit"]]
    matches = [["ip", "dst", f"{address}/32"] for address in destinations]
    if client_port:
        matches.append(["ip", "sport", str(CLIENT_PORT), "0xffff"])
    return commands + [["filter", "add", "dev", device, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                        "match", *match, "flowid", CLASS] for match in matches]


def shape(node, address: str, bits: int, destinations: list[str], client_port: bool) -> int:
    """Install the shaping in the node (whose address on the private network is ``address``); return the filters."""
    device = _device(node, address)
    commands = shaping_commands(device, bits, destinations, client_port)
    for command in commands:
        _tc(node, command)
    return len(commands) - 2


def require_tc(node) -> None:
    """One line when the node's image has no ``tc`` (before anything is changed)."""
    code, output = node.exec(["tc", "-V"])
    _no_tool(node, "tc", code, output)


def add_rules(node, rules: list[list[str]]) -> None:
    _prepare(node)
    for rule in rules:
        _iptables(node, rule)


def unshape(node, address: str) -> None:
    """Remove the node's shaping, if any (the iptables rules go with the chain's flush in Heal Network)."""
    code, output = node.exec(["tc", "qdisc", "del", "dev", _device(node, address), "root"])
    if code != 0 and "No such file" not in output and "handle of zero" not in output and "Invalid handle" not in output:
        raise KafkaPersistenceError(f"tc could not remove the shaping of node {node.node_id}: "
                                    f"{_last_line(output, code)}")


def _device(node, address: str) -> str:
    """The node's interface on the private network (``eth0`` in practice)."""
    code, output = node.exec(["ip", "-o", "-4", "addr", "show", "to", address])
    _no_tool(node, "ip", code, output)
    match = re.match(r"\d+:\s*([^\s@:]+)", output.strip())
    if code != 0 or not match:
        raise KafkaPersistenceError(f"Node {node.node_id} has no interface with address {address}: "
                                    f"{_last_line(output, code)}")
    return match.group(1)


def _tc(node, arguments: list[str]) -> None:
    code, output = node.exec(["tc", *arguments])
    _no_tool(node, "tc", code, output)
    if code != 0:
        raise KafkaPersistenceError(f"tc {' '.join(arguments)} failed in node {node.node_id}: "
                                    f"{_last_line(output, code)}")


def _no_tool(node, tool: str, code: int, output: str) -> None:
    if code != 0 and ("executable file not found" in output or "no such file or directory" in output.lower()
                      and tool in output):
        raise KafkaPersistenceError(
            f"Node {node.node_id} ({node.image}) has no '{tool}' (iproute2): Slow Down Network needs it in the image "
            f"(ours has it; build it with 'python -m KafkaPersistenceLibrary.image build').")


def _last_line(output: str, code: int) -> str:
    return output.strip().splitlines()[-1] if output.strip() else f"exit code {code}"


def _slow(cluster, node_ids, settings, role="", slow_from: Peers = Peers.NODES, bandwidth=None, loss=None):
    return cluster.slow_down(node_ids, slow_from, bandwidth, loss, role)


def _heal(cluster, node_ids, settings) -> float:
    return cluster.heal_network(node_ids, settings.restart_timeout)


SLOW = FaultKind(
    "slow", "a congested or lossy link (bandwidth= shaped with tc, loss= random drop): the node stays reachable",
    Need.PRIVATE_NETWORK, "#6a1b9a", ("Slow Down Network", "Heal Network"), "`Slow Down Network`",
    make=_slow, undo=_heal, random=False)

ORDER = 4  # after the partitions
KINDS = (SLOW,)
