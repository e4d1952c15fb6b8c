"""Turn a fault keyword's ``broker=`` into nodes of the running cluster, asking Kafka where needed."""

from robot.api import logger

from ..broker.cluster import Cluster
from ..broker.node import Node
from ..clients.admin import active_controller
from ..clients.records import validate_topic
from ..errors import KafkaPersistenceError
from ..faults.selection import Selection, parse, select
from .context import LibraryContext

METADATA_TIMEOUT_SECONDS = 10.0


def select_nodes(ctx: LibraryContext, cluster: Cluster, broker: "int | str | None", topic: "str | None",
                 partition: int) -> Selection:
    """Resolve ``broker`` (node id, leader, follower, controller, all, random) and log the choice."""

    def partition_state():
        if not topic:
            raise KafkaPersistenceError(
                f"broker={broker} needs the partition it leads or follows: give topic= (and partition=, 0 by default).")
        validate_topic(topic)
        states = cluster.partition_states(topic, METADATA_TIMEOUT_SECONDS)
        if states is None:
            raise KafkaPersistenceError(f"Topic '{topic}' does not exist on {cluster.bootstrap}: no {broker} to choose.")
        if not 0 <= partition < len(states):
            raise KafkaPersistenceError(f"Topic '{topic}' has no partition {partition} (it has {len(states)}).")
        return states[partition]

    def controller() -> int:
        if cluster.single_node:
            return cluster.brokers[0].node_id
        return active_controller(cluster.connection, METADATA_TIMEOUT_SECONDS)

    selection = select(broker, [n.node_id for n in cluster.brokers],
                       [n.node_id for n in cluster.controllers if not n.spec.is_broker],
                       partition_state, controller, ctx.random, ctx.seed, cluster.single_node)
    logger.info(f"broker={broker if broker is not None else '(default)'}: {selection.how}.")
    return selection


def node_for(cluster: Cluster, broker: "int | str | None") -> Node:
    """The node with id ``broker`` (the only one when there is one)."""
    choice = parse(broker)
    if choice is None and len(cluster.nodes) == 1:
        return next(iter(cluster.nodes.values()))
    if not isinstance(choice, int) or choice not in cluster.nodes:
        raise KafkaPersistenceError(f"No node '{broker}' in this cluster: give one of "
                                    f"{', '.join(map(str, cluster.nodes))}.")
    return cluster.nodes[choice]
