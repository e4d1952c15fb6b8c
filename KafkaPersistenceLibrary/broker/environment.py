"""The KAFKA_* environment of each node: roles, listeners, quorum, and safe defaults.

Images configured by ``KAFKA_*`` variables (apache/kafka, cp-kafka 7.4+, ours)
turn each into a broker property. Listeners of a broker node:

* ``CLIENT`` on 9092: the one clients use, published on 127.0.0.1:P and advertised so;
* ``INTERNAL`` on 19092: broker to broker, on the cluster's private network;
* ``CONTROLLER`` on 9093: the KRaft quorum (controllers only, or a combined node).

Keeping client traffic on its own listener and port is also what lets a network
fault cut a node off from clients but not from its peers, or the other way round.
"""

import base64
import dataclasses
import uuid

CLIENT_PORT = 9092
INTERNAL_PORT = 19092
CONTROLLER_PORT = 9093
DATA_DIR = "/var/lib/kafka/data"
FIRST_CONTROLLER_ID = 101

# Properties we set for a test cluster that differ from Kafka's defaults only to shorten
# waits a test cluster does not need. None of them changes what is acknowledged or kept.
FAST_FAILURE_DETECTION = {
    # After a SIGKILL the controller still holds the dead broker's session and refuses its
    # re-registration until the session expires (default 9 s; measured: kill restart
    # 13.8 s -> 6.9 s). The same timeout fences a dead leader sooner, so failover is faster.
    # Several JVMs share 2 cores in a cluster: 3 s leaves room for a slow heartbeat there.
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "group.initial.rebalance.delay.ms": "0",
}
# One combined node heartbeats to its own controller in the same JVM: 1.5 s is ample, and a
# kill restart waits for it (measured: kill restart 4.6 s -> 3.1 s).
SINGLE_NODE_FAILURE_DETECTION = {"broker.session.timeout.ms": "1500", "broker.heartbeat.interval.ms": "250"}
# JVM flags for a short-lived test broker: the image's G1 settings, and the client compiler only
# (C1): the JVM starts ~0.4 s sooner and the broker spends no CPU on C2 compilation; produce
# throughput measured the same or better on 2 cores (benchmarks/). Users may override it.
JVM_PERFORMANCE_OPTS = ("-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 "
                        "-XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true "
                        "-XX:TieredStopAtLevel=1")


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """One node of a cluster: its id, roles, and host name on the private network."""

    node_id: int
    roles: str  # "broker,controller" | "broker" | "controller"
    hostname: str

    @property
    def is_broker(self) -> bool:
        return "broker" in self.roles

    @property
    def is_controller(self) -> bool:
        return "controller" in self.roles


@dataclasses.dataclass(frozen=True)
class Topology:
    """Which nodes a cluster has. One broker alone is one combined node, as it always was."""

    brokers: int
    controllers: int  # 0: the single broker is also the controller

    @property
    def combined(self) -> bool:
        return self.controllers == 0

    @property
    def replication_factor(self) -> int:
        return min(3, self.brokers)

    @property
    def min_insync_replicas(self) -> int:
        return max(1, self.replication_factor - 1)

    def nodes(self, name_prefix: str) -> list[NodeSpec]:
        if self.combined:
            return [NodeSpec(1, "broker,controller", f"{name_prefix}-1")]
        controller_ids = range(FIRST_CONTROLLER_ID, FIRST_CONTROLLER_ID + self.controllers)
        controllers = [NodeSpec(i, "controller", f"{name_prefix}-controller-{i}") for i in controller_ids]
        brokers = [NodeSpec(i, "broker", f"{name_prefix}-broker-{i}") for i in range(1, self.brokers + 1)]
        return controllers + brokers


def cluster_defaults(topology: Topology) -> dict[str, str]:
    """Replication defaults for n brokers: RF min(3, n), min ISR RF - 1, no unclean election."""
    rf, min_isr = str(topology.replication_factor), str(topology.min_insync_replicas)
    return {
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        "unclean.leader.election.enable": "false",
        "auto.create.topics.enable": "true",
        "num.partitions": "1",
        **FAST_FAILURE_DETECTION,
        **(SINGLE_NODE_FAILURE_DETECTION if topology.combined else {}),
    }


def node_properties(node: NodeSpec, nodes: list[NodeSpec], topology: Topology, client_port: int | None,
                    config: dict[str, str], client_protocol: str = "PLAINTEXT",
                    client_listener: "dict[str, str] | None" = None) -> dict[str, str]:
    """Every property of one node; ``config`` (the user's) overrides our defaults.

    ``client_protocol`` and ``client_listener`` (``listener.name.client.*`` TLS and
    SASL settings) secure the ``CLIENT`` listener of brokers; the others stay plaintext.
    """
    voters = ",".join(f"{n.node_id}@{n.hostname}:{CONTROLLER_PORT}" for n in nodes if n.is_controller)
    properties = {
        "node.id": str(node.node_id),
        "process.roles": node.roles,
        "controller.quorum.voters": voters,
        "controller.listener.names": "CONTROLLER",
        "log.dirs": DATA_DIR,
    }
    listeners, advertised, protocols = [], [], ["CONTROLLER:PLAINTEXT"]
    if node.is_broker:
        listeners += [f"CLIENT://0.0.0.0:{CLIENT_PORT}", f"INTERNAL://0.0.0.0:{INTERNAL_PORT}"]
        advertised += [f"CLIENT://127.0.0.1:{client_port}", f"INTERNAL://{node.hostname}:{INTERNAL_PORT}"]
        protocols += [f"CLIENT:{client_protocol}", "INTERNAL:PLAINTEXT"]
        properties["inter.broker.listener.name"] = "INTERNAL"
        properties.update(client_listener or {})
    if node.is_controller:
        listeners.append(f"CONTROLLER://0.0.0.0:{CONTROLLER_PORT}")
        if not node.is_broker:
            advertised.append(f"CONTROLLER://{node.hostname}:{CONTROLLER_PORT}")
    properties["listeners"] = ",".join(listeners)
    if advertised:
        properties["advertised.listeners"] = ",".join(advertised)
    properties["listener.security.protocol.map"] = ",".join(protocols)
    properties.update(cluster_defaults(topology))
    properties.update(config)
    return properties


def to_environment(properties: dict[str, str], cluster_id: str) -> dict[str, str]:
    """Broker properties as the images' ``KAFKA_*`` variables, plus ``CLUSTER_ID`` and the JVM flags.

    ``jvm.performance.opts`` among the properties (``KAFKA_JVM_PERFORMANCE_OPTS``, which
    the images read as JVM flags, not as a property) replaces our flags.
    """
    env = {"KAFKA_JVM_PERFORMANCE_OPTS": JVM_PERFORMANCE_OPTS}
    env.update({property_to_env(name): str(value) for name, value in properties.items()})
    env["CLUSTER_ID"] = cluster_id
    return env


def property_to_env(name: str) -> str:
    """``log.flush.interval.messages`` -> ``KAFKA_LOG_FLUSH_INTERVAL_MESSAGES`` (the images' rule)."""
    return "KAFKA_" + name.replace("_", "__").replace("-", "___").replace(".", "_").upper()


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def single_node_environment(client_port: int, cluster_id: str, config: "dict[str, str] | None" = None,
                            hostname: str = "kafka-1") -> dict[str, str]:
    """The environment of one combined node, for tests and benchmarks that start a container by hand."""
    topology = Topology(brokers=1, controllers=0)
    node = NodeSpec(1, "broker,controller", hostname)
    return to_environment(node_properties(node, [node], topology, client_port, config or {}), cluster_id)
