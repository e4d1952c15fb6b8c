"""A KRaft cluster of our own: nodes in containers on a private network, created and removed together.

One broker alone is one combined node (broker and controller), as it always was.
Several brokers get dedicated controllers, as production clusters have: then a
broker fault never takes the quorum down with it. Each broker's client listener
is published on a fixed 127.0.0.1 port and advertised so; inter-broker and
controller traffic stays on the private network.
"""

import dataclasses
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from requests.exceptions import RequestException

from ..clients.admin import PartitionState, partition_states
from ..clients.connection import Connection
from ..errors import KafkaPersistenceError
from ..image import resolve_image
from . import engine
from .environment import NodeSpec, Topology, new_cluster_id, node_properties, to_environment
from .labels import Swept, labels_for, sweep_orphans
from .node import ContainerState, Node, NodeOptions, PortTaken, StopMode
from .ports import free_loopback_port
from .readiness import NotReady, wait_until_ready

PORT_ATTEMPTS = 5
MAX_BROKERS = 5
MAX_CONTROLLERS = 5


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    """What a test asked for: sizes, broker properties, and the faults it wants to make."""

    topology: Topology
    config: tuple[tuple[str, str], ...] = ()
    options: NodeOptions = NodeOptions()

    @property
    def properties(self) -> dict[str, str]:
        return dict(self.config)


class Cluster:
    """The running nodes of one cluster, its network, and the address clients bootstrap from."""

    def __init__(self, client: docker.DockerClient, name: str, spec: ClusterSpec, image: str,
                 network, labels: dict[str, str]):
        self._client = client
        self.name = name
        self.spec = spec
        self.image = image
        self._network = network
        self.nodes: dict[int, Node] = {}
        self.cluster_id = new_cluster_id()
        self._labels = labels
        self.started_in_seconds = 0.0
        self.swept: list[Swept] = []

    # -- what it is ----------------------------------------------------------------

    @property
    def brokers(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.spec.is_broker]

    @property
    def controllers(self) -> list[Node]:
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
        return Connection(",".join(running) or self.bootstrap)

    @property
    def network_name(self) -> str:
        return self._network.name

    @property
    def whole(self) -> bool:
        """No node is stopped or paused on purpose."""
        return all(node.expected == "running" for node in self.nodes.values())

    def trusted_broker_ids(self) -> list[int]:
        """Brokers the library can ask about the cluster: running and not cut off the network.

        A broker cut off from clients does not answer; one cut off from its peers
        answers with a stale view (a cut-off leader still calls itself the leader).
        """
        return [n.node_id for n in self.brokers if n.expected == "running" and not n.cut]

    def partition_states(self, topic: str, timeout: float) -> "list[PartitionState] | None":
        """Who leads each partition of ``topic``, as a broker that is not cut off sees it."""
        return partition_states(self.connection, topic, timeout, ask=self.trusted_broker_ids())

    def broker_addresses(self, running_only: bool = True) -> dict[int, str]:
        """Node id -> advertised client address of the brokers the library keeps up."""
        return {n.node_id: n.address for n in self.brokers if not running_only or n.expected == "running"}

    # -- start and remove ----------------------------------------------------------

    @classmethod
    def start(cls, requested_image: "str | None", owner: str, spec: ClusterSpec, timeout: float) -> "Cluster":
        """Start every node in parallel; return once each broker serves and an acks=all produce is acknowledged."""
        client = engine.connect()
        swept = sweep_orphans(client)
        image = resolve_image(requested_image, lambda name: _has_image(client, name))
        require_image(client, image)
        started = time.monotonic()
        name = f"kpl-{uuid.uuid4().hex[:8]}"
        labels = labels_for(owner, cluster=name)
        try:
            network = client.networks.create(name, driver="bridge", labels=labels, check_duplicate=True)
        except BaseException:
            _remove_network_by_name(client, name)
            raise
        cluster = cls(client, name, spec, image, network, labels)
        try:
            cluster._create_nodes()
            cluster._start_nodes()
            cluster.wait_ready(timeout, "start")
        except BaseException:
            cluster.remove()  # a cluster that never served is of no use to anyone: leave nothing behind
            raise
        cluster.started_in_seconds = time.monotonic() - started
        cluster.swept = swept
        return cluster

    def _create_nodes(self) -> None:
        taken: set[int] = set()
        for spec in self.spec.topology.nodes(self.name):
            port = None
            if spec.is_broker:
                port = free_loopback_port(exclude=taken)
                taken.add(port)
            self._create_node(spec, port)

    def _create_node(self, spec: NodeSpec, port: "int | None") -> Node:
        properties = node_properties(spec, self.spec.topology.nodes(self.name), self.spec.topology, port,
                                     self.spec.properties)
        node = Node.create(self._client, self.image, spec, to_environment(properties, self.cluster_id),
                           self._network.name, self._labels, port, self.spec.options)
        self.nodes[node.node_id] = node
        return node

    def _start_nodes(self) -> None:
        """Start all containers at once (the JVMs then boot side by side)."""
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            for future in [pool.submit(self._start_node, node) for node in list(self.nodes.values())]:
                future.result()

    def _start_node(self, node: Node) -> None:
        for _ in range(PORT_ATTEMPTS):
            try:
                node.start()
                return
            except PortTaken:
                # Another process took the port between our check and Docker's bind: a never-started
                # node can move, since its address is only in its own environment.
                error = node.remove()
                if error:
                    raise KafkaPersistenceError(error) from None
                port = free_loopback_port(exclude={n.client_port for n in self.brokers})
                node = self._create_node(node.spec, port)
        raise KafkaPersistenceError(f"No free loopback port for {node.name} after {PORT_ATTEMPTS} attempts; "
                                    f"free some ports and retry.")

    def remove(self) -> list[str]:
        """Remove every container and the network; return what could not be removed (normally nothing)."""
        problems = [p for p in (node.remove() for node in self.nodes.values()) if p]
        try:
            self._network.remove()
        except NotFound:
            pass
        except (APIError, RequestException) as error:
            problems.append(f"could not remove network {self.name}: {engine.first_line(error)}")
        self._client.close()
        return problems

    # -- faults ----------------------------------------------------------------------

    def restart(self, node_ids: list[int], mode: StopMode, downtime: float, timeout: float,
                stop_timeout: float) -> "RestartReport":
        """Stop the nodes in ``mode``, keep them down ``downtime``, start the same containers, wait until served."""
        nodes = [self.nodes[i] for i in node_ids]
        down_at = time.monotonic()
        exit_codes = self._each(nodes, lambda node: node.stop(mode, stop_timeout))
        stopped_at = time.monotonic()
        if downtime:
            time.sleep(max(0.0, downtime - (time.monotonic() - stopped_at)))
        wall_clock = time.time()
        self._each(nodes, self._start_again)
        started_at = time.monotonic()
        self.wait_ready(timeout, f"restart ({mode.value}) of node {', '.join(map(str, node_ids))}", node_ids,
                        wall_clock)
        up_at = time.monotonic()
        return RestartReport(mode=mode, node_ids=list(node_ids), exit_codes=exit_codes,
                             stop_seconds=stopped_at - down_at, downtime_seconds=up_at - down_at,
                             recovery_seconds=up_at - started_at, down_at=down_at, up_at=up_at)

    def stop(self, node_ids: list[int], mode: StopMode, stop_timeout: float) -> dict[int, int]:
        """Take the nodes down and leave them down; return each exit code."""
        return self._each([self.nodes[i] for i in node_ids], lambda node: node.stop(mode, stop_timeout))

    def start_again(self, node_ids: list[int], timeout: float) -> float:
        """Start stopped nodes again and wait until the cluster serves; return the seconds that took."""
        started_at, wall_clock = time.monotonic(), time.time()
        self._each([self.nodes[i] for i in node_ids], self._start_again)
        self.wait_ready(timeout, f"start of node {', '.join(map(str, node_ids))}", node_ids, wall_clock)
        return time.monotonic() - started_at

    def _start_again(self, node: Node) -> None:
        try:
            node.start()
        except PortTaken as taken:
            raise KafkaPersistenceError(
                f"Docker could not start {node.name} again on {node.address}: {taken}. Another process took "
                f"the port while the broker was down; stop it, or call 'Start Kafka' again after 'Stop Kafka'."
            ) from None

    @staticmethod
    def _each(nodes: list[Node], action) -> dict:
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
            return wait_until_ready(self.connection, self.broker_addresses(), timeout, self.why_down,
                                    restarted_brokers, controllers_since, whole=self.whole)
        except NotReady as why:
            raise KafkaPersistenceError(self._not_serving(what, str(why))) from None

    def why_down(self) -> "str | None":
        """A sentence when a node the library keeps up is not running (one inspect per node)."""
        down = self.down_node()
        if down is None:
            return None
        node, state = down
        return f"the container {node.name} (node {node.node_id}) {state.describe()}"

    def down_node(self) -> "tuple[Node, ContainerState] | None":
        """The first node that is not in the state the library left it in, with Docker's view of it."""
        for node in self.nodes.values():
            if node.expected == "stopped":
                continue
            state = node.state()
            if state.status != ("paused" if node.expected == "paused" else "running"):
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
        return (f"Kafka ({self.image}) did not serve clients after {what}: {why}. "
                + (f"Broker says: {cause[:500]}. " if cause else "")
                + f"Last log lines: {tail[-1200:]}")


def _remove_network_by_name(client: docker.DockerClient, name: str) -> None:
    try:
        client.api.remove_network(name)
    except (NotFound, APIError, RequestException):
        pass


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


def _has_image(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
        return True
    except ImageNotFound:
        return False


def require_image(client: docker.DockerClient, image: str) -> None:
    if not _has_image(client, image):
        raise KafkaPersistenceError(
            f"Image '{image}' is not on this Docker engine: build it with "
            f"'python -m KafkaPersistenceLibrary.image build' (or run './run.sh true'), "
            f"or name another with the library's image= argument or KAFKA_PERSISTENCE_IMAGE."
        ) from None
