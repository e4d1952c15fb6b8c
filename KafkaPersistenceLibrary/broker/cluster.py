"""A Kafka cluster the library can make fail: its nodes, how clients reach it, and the faults.

What a fault does to a node (stop, start, pause) is the node's business: a
container we created (:mod:`.node`), an existing container or a command the
user gave (:mod:`..external`). What "the cluster serves again" means is the same
for all of them, and lives here with the fault operations that wait for it.
Clusters the library starts itself are :class:`.own.OwnCluster`.
"""

import contextlib
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

from ..clients.admin import PartitionState, partition_states
from ..clients.connection import Connection
from ..errors import KafkaPersistenceError
from ..faults.kinds import clock, network, slow
from ..faults.kinds.network import Peers
from ..security.settings import PLAINTEXT_SECURITY, ClientSecurity
from .interface import ClusterNode
from .node import ContainerState, NodeState, PortTaken, StopMode
from .readiness import NotReady, wait_until_ready


class Cluster:
    """The nodes of one cluster and the address clients bootstrap from."""

    single_node = False  # one node that is broker and controller: every selector means it
    power_loss = False  # nodes run on the power-loss filesystem
    clock_skew = False  # nodes' wall clocks can be moved (Start Kafka    clock_skew=True)
    disk = ""  # "faulty" or "lying": volatilefs is the nodes' disk fault layer (Start Kafka    disk=faulty)
    network_name: "str | None" = None  # the private network, when network faults are possible
    default_replication_factor: "int | None" = None  # None: the brokers' own default
    description = "Kafka"

    def __init__(self, name: str, security: ClientSecurity = PLAINTEXT_SECURITY):
        self.name = name
        self.security = security
        self.nodes: dict[int, ClusterNode] = {}
        self.recovered_at = float("-inf")  # time.monotonic() when nodes last came back from a fault
        # Node id -> the role it was stopped or paused as ("controller", "leader of orders-0"): a
        # cluster that lost that node may not be able to say who held the role, the library can.
        self.faulted_as: dict[int, str] = {}
        # Nodes a fault is acting on right now (from the random fault schedule's thread, say): Docker's view
        # of them is in transition, which is not a crash.
        self._changing: set[int] = set()
        # Slow Down Network: node id -> what was done to its links; the nodes holding its tc shaping.
        self.slowed: dict[int, str] = {}
        self.skewed: dict[int, str] = {}  # Skew Clock: node id -> the offset its clock runs at ("+691200")
        self.shaped: set[int] = set()
        self.disks: dict = {}  # Fill/Fail/Slow Down Disk: node id -> its DiskState (faults/kinds/disk.py)

    # -- what it is ----------------------------------------------------------------

    @property
    def brokers(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.spec.is_broker]

    @property
    def controllers(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.spec.is_controller]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.address for node in self.brokers)

    @property
    def connection(self) -> Connection:
        """What the library's own clients bootstrap from: the brokers it keeps running and connected.

        kafka-python 3.0 picks one bootstrap address at random and fails when that one
        refuses, so a stopped broker must not be in the list (librdkafka copes either way).
        """
        trusted = set(self.trusted_broker_ids())
        running = [node.address for node in self.brokers if node.node_id in trusted]
        return Connection(",".join(running) or self.bootstrap, self.security)

    @property
    def whole(self) -> bool:
        """No node is stopped or paused on purpose."""
        return all(node.expected is NodeState.RUNNING for node in self.nodes.values())

    def in_state(self, state: NodeState) -> list[int]:
        """Ids of the nodes the library left in ``state``."""
        return [node_id for node_id, node in self.nodes.items() if node.expected is state]

    def down_nodes(self) -> str:
        """The nodes the library stopped, paused or cut off, for messages ("node 1 (stopped)"), or "none"."""
        down = [f"node {i} ({'cut off' if n.cut and n.expected is NodeState.RUNNING else n.expected})"
                for i, n in self.nodes.items() if n.expected is not NodeState.RUNNING or n.cut]
        return ", ".join(down) or "none"

    def trusted_broker_ids(self) -> list[int]:
        """Brokers the library can ask about the cluster: running and not cut off the network.

        A broker cut off from clients does not answer; one cut off from its peers
        answers with a stale view (a cut-off leader still calls itself the leader).
        """
        return [n.node_id for n in self.brokers if n.expected is NodeState.RUNNING and not n.cut]

    def partition_states(self, topic: str, timeout: float) -> "list[PartitionState] | None":
        """Who leads each partition of ``topic``, as a broker that is not cut off sees it; with none to ask, the
        failure says so (the client's own words name only the addresses it could not reach)."""
        try:
            return partition_states(self.connection, topic, timeout, ask=self.trusted_broker_ids())
        except KafkaPersistenceError as error:
            if self.trusted_broker_ids():
                raise
            raise KafkaPersistenceError(f"{str(error).rstrip('.')}; no broker runs (nodes down: {self.down_nodes()}): "
                                        f"start or resume them first ('Start Broker', 'Resume Broker').") from None

    def wait_for_serving_leaders(self, topic: str, deadline: float, timeout: float) -> list[PartitionState]:
        """Wait until every partition of ``topic`` has a leader on a node the library keeps running.

        Right after a kill the metadata still names the dead leader until the
        controller fences it; a partition whose replicas are all down has none.
        Fails at ``deadline`` naming the partitions without one and the nodes down.
        """
        running = set(self.trusted_broker_ids())
        last_error = ""
        while True:
            try:
                states = partition_states(self.connection, topic, min(10.0, max(0.5, deadline - time.monotonic())),
                                          ask=self.trusted_broker_ids())  # its failure names the nodes down itself
            except KafkaPersistenceError as error:  # no broker answered this time; the deadline bounds it
                states, last_error = [], str(error)
            else:
                if states is None:
                    raise KafkaPersistenceError(f"Topic '{topic}' does not exist on {self.bootstrap}.")
                leaderless = [s for s in states if s.leader not in running]
                if not leaderless:
                    return states
            if time.monotonic() >= deadline:
                if not states:
                    raise KafkaPersistenceError(
                        f"No broker said who leads the partitions of '{topic}' within {timeout:g} s (nodes down: "
                        f"{self.down_nodes()}): {last_error}")
                said = "; ".join(f"{s.topic}-{s.partition} (leader {s.leader if s.leader >= 0 else 'none'}, "
                                 f"replicas {list(s.replicas)}, ISR {list(s.isr)})" for s in leaderless[:5])
                raise KafkaPersistenceError(
                    f"No partition leader that serves after {timeout:g} s for {said}; nodes down: "
                    f"{self.down_nodes()}. Start or resume them ('Start Broker', 'Resume Broker') to read it back.")
            time.sleep(0.25)

    def broker_addresses(self) -> dict[int, str]:
        """Node id -> advertised client address of the brokers the library keeps up."""
        return {n.node_id: n.address for n in self.brokers if n.expected is NodeState.RUNNING}

    def remove(self) -> list[str]:
        """Let go of the cluster; return what could not be cleaned up (normally nothing)."""
        return []

    # -- faults ----------------------------------------------------------------------

    def restart(self, node_ids: list[int], mode: StopMode, downtime: float, timeout: float,
                stop_timeout: float) -> "RestartReport":
        """Stop the nodes in ``mode``, keep them down ``downtime``, start the same containers, wait until served."""
        nodes = [self.nodes[i] for i in node_ids]
        down_at = time.monotonic()
        with self._acting_on(node_ids):
            exit_codes = self._each(nodes, lambda node: node.stop(mode, stop_timeout))
        stopped_at = time.monotonic()
        if downtime:
            time.sleep(max(0.0, downtime - (time.monotonic() - stopped_at)))
        wall_clock = time.time()
        with self._acting_on(node_ids):
            self._each(nodes, self._start_again)
        started_at = time.monotonic()
        self.wait_ready(timeout, f"restart ({mode.value}) of node {', '.join(map(str, node_ids))}", node_ids,
                        wall_clock)
        up_at = time.monotonic()
        return RestartReport(mode=mode, node_ids=list(node_ids), exit_codes=exit_codes,
                             stop_seconds=stopped_at - down_at, downtime_seconds=up_at - down_at,
                             recovery_seconds=up_at - started_at, down_at=down_at, up_at=up_at)

    def stop(self, node_ids: list[int], mode: StopMode, stop_timeout: float, role: str = "") -> dict[int, int]:
        """Take the nodes down and leave them down; return each exit code. ``role``: what they were chosen as."""
        self._remember(node_ids, role)
        with self._acting_on(node_ids):
            return self._each([self.nodes[i] for i in node_ids], lambda node: node.stop(mode, stop_timeout))

    def start_again(self, node_ids: list[int], timeout: float) -> float:
        """Start stopped nodes again and wait until the cluster serves; return the seconds that took."""
        started_at, wall_clock = time.monotonic(), time.time()
        with self._acting_on(node_ids):
            self._each([self.nodes[i] for i in node_ids], self._start_again)
        self._forget(node_ids)
        self.wait_ready(timeout, f"start of node {', '.join(map(str, node_ids))}", node_ids, wall_clock)
        return time.monotonic() - started_at

    def pause(self, node_ids: list[int], role: str = "") -> None:
        """Freeze the nodes (every process) until :meth:`resume`."""
        self._remember(node_ids, role)
        with self._acting_on(node_ids):
            for node_id in node_ids:
                self.nodes[node_id].pause()

    def resume(self, node_ids: list[int], timeout: float) -> float:
        """Unfreeze paused nodes and wait until the cluster serves; return the seconds that took."""
        started_at, wall_clock = time.monotonic(), time.time()
        with self._acting_on(node_ids):
            for node_id in node_ids:
                self.nodes[node_id].unpause()
        self._forget(node_ids)
        self.wait_ready(timeout, f"resume of node {', '.join(map(str, node_ids))}", node_ids, wall_clock)
        return time.monotonic() - started_at

    def isolate(self, node_ids: list[int], cut_from: "Peers", role: str = "") -> int:
        """Cut the nodes off their peers or off clients (rules in their own namespaces); return the rules added."""
        if self.network_name is None:
            raise KafkaPersistenceError(
                f"Isolating a node works on clusters the library started (it cuts their private network); "
                f"{self.description} is not one.")
        added = 0
        for node_id in node_ids:
            peers = [self.nodes[i].ip_address(self.network_name) for i in self.nodes if i != node_id]
            added += len(network.isolate(self.nodes[node_id], cut_from, peers))
            self.nodes[node_id].cut = True
        self._remember(node_ids, role)
        return added

    def slow_down(self, node_ids: list[int], slow_from: "Peers", bandwidth: "int | None", loss: "float | None",
                  role: str = "") -> str:
        """Degrade the nodes' links (``bandwidth`` bits/s, ``loss`` share); return what was done, for the log."""
        if self.network_name is None:
            raise KafkaPersistenceError(
                f"Slowing a link down works on clusters the library started (it shapes their private network); "
                f"{self.description} is not one.")
        addresses = {i: self.nodes[i].ip_address(self.network_name) for i in self.nodes}
        if bandwidth is not None:
            for node in self.nodes.values():
                slow.require_tc(node)
        done = []
        for node_id in node_ids:
            peers = [addresses[i] for i in self.nodes if i != node_id]
            self.slowed[node_id] = slow_from.value
            if loss is not None:
                slow.add_rules(self.nodes[node_id], slow.loss_rules(slow_from, loss, peers))
            if bandwidth is not None and slow_from is Peers.CLIENTS:
                slow.add_rules(self.nodes[node_id], [slow.client_policing_rule(bandwidth)])
        if bandwidth is not None:
            # Each node shapes what it sends over a slowed link: a slowed node to every peer (or its replies to
            # clients), the others to the slowed nodes.
            for node_id in self.nodes:
                if slow_from is Peers.CLIENTS:
                    destinations = []
                elif node_id in node_ids:
                    destinations = [addresses[i] for i in self.nodes if i != node_id]
                else:
                    destinations = [addresses[i] for i in node_ids]
                client_port = slow_from is Peers.CLIENTS and node_id in node_ids
                if destinations or client_port:
                    self.shaped.add(node_id)
                    slow.shape(self.nodes[node_id], addresses[node_id], bandwidth, destinations, client_port)
            done.append(slow.rate_text(bandwidth))
        if loss is not None:
            done.append(f"{loss:.0%} loss")
        self._remember(node_ids, role)
        return ", ".join(done)

    def skew_clock(self, node_ids: list[int], by: str, role: str = "") -> str:
        """Move the nodes' wall clocks by ``by`` (libfaketime's offset, e.g. "+691200"); their monotonic clocks stay."""
        for node_id in node_ids:
            clock.skew(self.nodes[node_id], by)
            self.skewed[node_id] = by
        self._remember(node_ids, role)
        return by

    def restore_clock(self, node_ids: list[int]) -> float:
        """Give the nodes their real wall clock back; return the seconds that took (a JVM may use an offset a
        second old)."""
        started_at = time.monotonic()
        clock.restore([self.nodes[i] for i in node_ids if self.nodes[i].expected is not NodeState.STOPPED])
        for node_id in node_ids:
            self.skewed.pop(node_id, None)
        self._forget(node_ids)
        return time.monotonic() - started_at

    def cut_off(self) -> list[int]:
        """Ids of the nodes a network fault of the library's (a cut, a slow or lossy link) acts on."""
        return sorted(i for i, node in self.nodes.items() if node.cut or i in self.slowed or i in self.shaped)

    def heal_network(self, node_ids: list[int], timeout: float) -> float:
        """Remove every network fault of the library from the nodes and wait until the cluster serves; return the
        seconds."""
        started_at, wall_clock = time.monotonic(), time.time()
        for node_id in node_ids:
            node = self.nodes[node_id]
            if node.expected is not NodeState.STOPPED:  # a stopped node's rules and qdiscs went with its namespace
                if node_id in self.shaped:
                    slow.unshape(node, node.ip_address(self.network_name))
                if node.cut or node_id in self.slowed:
                    network.heal(node)
            node.cut = False
            self.slowed.pop(node_id, None)
            self.shaped.discard(node_id)
        self._forget(node_ids)
        self.wait_ready(timeout, "healing the network", node_ids, wall_clock)
        return time.monotonic() - started_at

    @contextlib.contextmanager
    def _acting_on(self, node_ids: list[int]):
        """While a fault changes these nodes, Docker showing another state than the library expects is no crash."""
        self._changing.update(node_ids)
        try:
            yield
        finally:
            self._changing.difference_update(node_ids)

    def faulted_by_role(self, role: str, state: NodeState) -> list[int]:
        """Nodes in ``state`` that a fault chose as ``role`` (e.g. "controller", "leader of orders-0")."""
        return [i for i in self.in_state(state) if self.faulted_as.get(i) == role]

    def _remember(self, node_ids: list[int], role: str) -> None:
        for node_id in node_ids:
            if role:
                self.faulted_as[node_id] = role
            else:
                self.faulted_as.pop(node_id, None)

    def _forget(self, node_ids: list[int]) -> None:
        for node_id in node_ids:
            self.faulted_as.pop(node_id, None)

    def _start_again(self, node: ClusterNode) -> None:
        try:
            node.start()
        except PortTaken as taken:
            raise KafkaPersistenceError(
                f"Docker could not start {node.name} again on {node.address}: {taken}. Another process took "
                f"the port while the broker was down; stop it, or call 'Start Kafka' again after 'Stop Kafka'."
            ) from None

    @staticmethod
    def _each(nodes: list[ClusterNode], action) -> dict:
        """Apply ``action`` to every node at once; node id -> its result."""
        if len(nodes) == 1:
            return {nodes[0].node_id: action(nodes[0])}
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            futures = {node.node_id: pool.submit(action, node) for node in nodes}
            return {node_id: future.result() for node_id, future in futures.items()}

    # -- health --------------------------------------------------------------------

    def wait_ready(self, timeout: float, what: str, started: "list[int] | None" = None,
                   started_at: float = 0.0) -> float:
        """Wait until the nodes the library keeps up serve; fail with the cause and the log's last lines.

        ``started`` are the nodes (re)started at wall-clock time ``started_at``
        (every node by default): each must answer, or have caught up, by itself.
        """
        started = list(self.nodes) if started is None else started
        restarted_brokers = {i for i in started if self.nodes[i].spec.is_broker}
        controllers_since = {i: started_at for i in started
                             if self.nodes[i].spec.is_controller and not self.nodes[i].spec.is_broker}
        try:
            waited = wait_until_ready(self.connection, self.broker_addresses(), timeout, self.why_down,
                                      restarted_brokers, controllers_since, whole=self.whole)
        except NotReady as why:
            raise KafkaPersistenceError(self._not_serving(what, str(why))) from None
        self.recovered_at = time.monotonic()
        return waited

    def why_down(self) -> "str | None":
        """A sentence when a node the library keeps up is not running (one inspect per node)."""
        down = self.down_node()
        if down is None:
            return None
        node, state = down
        return f"the container {node.name} (node {node.node_id}) {state.describe()}"

    def down_node(self) -> "tuple[ClusterNode, ContainerState] | None":
        """The first node that is not in the state the library left it in, with Docker's view of it."""
        for node in list(self.nodes.values()):
            if node.expected is NodeState.STOPPED or node.node_id in self._changing:
                continue
            state = node.state()
            if state.status in ("exited", "dead") and node.node_id in self.disks:
                node.expected = NodeState.STOPPED  # its broker halted on a disk fault of ours: expected, not a crash
                continue
            if state.status != node.expected:
                return node, state
        return None

    def _not_serving(self, what: str, why: str) -> str:
        lines = []
        for node in self.nodes.values():
            lines = node.logs(tail=60).strip().splitlines()
            if any("Exception" in line or " ERROR " in line for line in lines):
                break
        cause = next((line.strip() for line in lines if "Exception" in line or " ERROR " in line), "")
        tail = " | ".join(lines[-10:])
        return (f"{self.description} did not serve clients after {what}: {why}. "
                + (f"Broker says: {cause[:500]}. " if cause else "")
                + f"Last log lines: {tail[-1200:]}")


@dataclasses.dataclass
class RestartReport:
    """What one restart did, for the log and for durability figures."""

    mode: StopMode
    node_ids: list[int]
    exit_codes: dict[int, int]
    stop_seconds: float
    downtime_seconds: float
    recovery_seconds: float
    down_at: float  # time.monotonic() when the stop began
    up_at: float  # time.monotonic() when the cluster served again

    @property
    def clean_shutdown(self) -> bool:
        """Graceful, and no node had to be killed after the stop timeout."""
        return self.mode is StopMode.GRACEFUL and all(code != 137 for code in self.exit_codes.values())

