"""A KRaft cluster of our own: nodes in containers on a private network, created and removed together.

One broker alone is one combined node (broker and controller), as it always was.
Several brokers get dedicated controllers, as production clusters have: then a
broker fault never takes the quorum down with it. Each broker's client listener
is published on a fixed 127.0.0.1 port and advertised so; inter-broker and
controller traffic stays on the private network.
"""

import dataclasses
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from requests.exceptions import RequestException

from ..errors import KafkaPersistenceError
from ..image import resolve_image
from ..security.broker import BrokerSecurity, broker_security
from . import engine
from .cluster import Cluster
from .environment import NodeSpec, Topology, new_cluster_id, node_properties, to_environment
from .labels import LABEL_CLUSTER, Swept, labels_for, sweep_orphans
from .node import Node, NodeOptions, PortTaken, StopMode
from .ports import free_loopback_port

PORT_ATTEMPTS = 5
MAX_BROKERS = 5
MAX_CONTROLLERS = 5


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    """What a test asked for: sizes, broker properties, and the faults it wants to make."""

    topology: Topology
    config: tuple[tuple[str, str], ...] = ()
    options: NodeOptions = NodeOptions()
    security: str = "plaintext"  # of the client listener: plaintext, ssl, sasl_plaintext, sasl_ssl

    @property
    def properties(self) -> dict[str, str]:
        return dict(self.config)


class OwnCluster(Cluster):
    """A cluster the library started: its containers, network and data go when it is removed."""

    def __init__(self, client: docker.DockerClient, name: str, spec: ClusterSpec, image: str,
                 network, labels: dict[str, str]):
        super().__init__(name)
        self._client = client
        self.spec = spec
        self.image = image
        self._network = network
        self._labels = labels
        self.cluster_id = new_cluster_id()
        self.plan: "BrokerSecurity | None" = None  # TLS and SASL of the client listener, when secured
        self._secrets_directory: "str | None" = None
        self.started_in_seconds = 0.0
        self.swept: list[Swept] = []

    @property
    def single_node(self) -> bool:
        return self.spec.topology.combined

    @property
    def power_loss(self) -> bool:
        return self.spec.options.volatile

    @property
    def disk(self) -> str:
        return self.spec.options.disk

    @property
    def clock_skew(self) -> bool:
        return self.spec.options.clock_skew

    @property
    def network_name(self) -> str:
        return self._network.name

    @property
    def default_replication_factor(self) -> int:
        return self.spec.topology.replication_factor

    @property
    def description(self) -> str:
        return f"Kafka ({self.image})"

    # -- start and remove ----------------------------------------------------------

    @classmethod
    def start(cls, requested_image: "str | None", owner: str, spec: ClusterSpec, timeout: float) -> "OwnCluster":
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
            cluster._plan_security()
            cluster._create_nodes()
            cluster._start_nodes()
            cluster.wait_ready(timeout, "start")
            if cluster.plan is not None:
                cluster.plan.create_users(cluster.connection.bootstrap, timeout)
                cluster.security = cluster.plan.client
        except BaseException:
            cluster.remove()  # a cluster that never served is of no use to anyone: leave nothing behind
            raise
        cluster.started_in_seconds = time.monotonic() - started
        cluster.swept = swept
        return cluster

    def _plan_security(self) -> None:
        """A throw-away CA and users for a secured client listener, in a directory removed with the cluster."""
        if self.spec.security == "plaintext":
            return
        self._secrets_directory = tempfile.mkdtemp(prefix=f"{self.name}-secrets-")
        hosts = [spec.hostname for spec in self.spec.topology.nodes(self.name) if spec.is_broker]
        self.plan = broker_security(self.spec.security, self._secrets_directory, broker_hosts=hosts)
        self.security = self.plan.readiness  # the admin login works before the users exist

    def _create_nodes(self) -> None:
        taken: set[int] = set()
        for spec in self.spec.topology.nodes(self.name):
            port = None
            if spec.is_broker:
                port = free_loopback_port(exclude=taken)
                taken.add(port)
            self._create_node(spec, port)

    def _create_node(self, spec: NodeSpec, port: "int | None") -> Node:
        secured = {} if self.plan is None else dict(client_protocol=self.plan.protocol,
                                                    client_listener=self.plan.client_listener_properties())
        properties = node_properties(spec, self.spec.topology.nodes(self.name), self.spec.topology, port,
                                     self.spec.properties, **secured)
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

    # -- rolling upgrades -------------------------------------------------------------

    def replace(self, node_ids: list[int], image: str, timeout: float, stop_timeout: float) -> dict[str, float]:
        """Stop the nodes gracefully, make each anew from ``image`` with its data (same name, address,
        environment, labels), start them and wait until the cluster serves; return the seconds each phase took
        (``stop``, ``copy``, ``serve``) and the ``bytes`` of data copied.

        If the new containers do not serve, the old ones (renamed aside, data untouched) are put back
        and started, and the error says so."""
        old = {i: self.nodes[i] for i in node_ids}
        began = time.monotonic()
        with self._acting_on(node_ids):
            self._each(list(old.values()), lambda node: node.stop(StopMode.GRACEFUL, stop_timeout))
            stopped, wall_clock = time.monotonic(), time.time()
            copied = self._each(list(old.values()), lambda node: self._recreate(node, image))
            copied_at = time.monotonic()
            self._each([self.nodes[i] for i in node_ids], self._start_again)
        try:
            self.wait_ready(timeout, f"upgrade of node {', '.join(map(str, node_ids))} to {image}", node_ids,
                            wall_clock)
        except KafkaPersistenceError as error:
            raise KafkaPersistenceError(f"{error} {self._put_back(old, timeout)}") from None
        for node in old.values():
            node.remove()
        return {"stop": stopped - began, "copy": copied_at - stopped, "serve": time.monotonic() - copied_at,
                "bytes": float(sum(copied.values()))}

    def _recreate(self, node: Node, image: str) -> int:
        new = node.recreate(image)
        try:
            copied = node.copy_data_to(new)
        except BaseException:
            new.remove()
            node.restore_name()
            raise
        self.nodes[node.node_id] = new
        return copied

    def _put_back(self, old: dict[int, Node], timeout: float) -> str:
        """Give the nodes their old containers back after a failed replacement; say what came of it."""
        try:
            for node_id, node in old.items():
                self.nodes[node_id].remove()
                node.restore_name()
                self.nodes[node_id] = node
            with self._acting_on(list(old)):
                self._each(list(old.values()), self._start_again)
            self.wait_ready(timeout, "putting the old containers back", list(old), time.time())
        except KafkaPersistenceError as error:
            return f"Putting the old containers back failed too: {str(error)[:300]}"
        return f"The old containers ({old[next(iter(old))].image}) run again, with their data."

    def remove(self) -> list[str]:
        """Remove every container and the network; return what could not be removed (normally nothing)."""
        problems = [p for p in (node.remove() for node in self.nodes.values()) if p]
        problems += self._remove_unregistered_containers()
        try:
            self._network.remove()
        except NotFound:
            pass
        except (APIError, RequestException) as error:
            problems.append(f"could not remove network {self.name}: {engine.first_line(error)}")
        self._client.close()
        if self._secrets_directory:
            shutil.rmtree(self._secrets_directory, ignore_errors=True)
        return problems

    def _remove_unregistered_containers(self) -> list[str]:
        """Containers with this cluster's label that no node holds (an interrupt between Docker's
        create and our bookkeeping): removed with the rest, not left to a later run's sweep."""
        problems = []
        try:
            summaries = self._client.api.containers(all=True, filters={"label": f"{LABEL_CLUSTER}={self.name}"})
        except (APIError, RequestException) as error:
            return [f"could not list the containers of {self.name}: {engine.first_line(error)}"]
        for summary in summaries:
            try:
                self._client.api.remove_container(summary["Id"], force=True, v=True)
            except NotFound:
                pass
            except (APIError, RequestException) as error:
                problems.append(f"could not remove container {summary['Id'][:12]}: {engine.first_line(error)}")
        return problems


def _remove_network_by_name(client: docker.DockerClient, name: str) -> None:
    try:
        client.api.remove_network(name)
    except (NotFound, APIError, RequestException):
        pass


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
