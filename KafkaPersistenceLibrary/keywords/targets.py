"""Turn a fault keyword's ``broker=`` into nodes of the running cluster, asking Kafka where needed."""

from robot.api import logger

from ..broker.cluster import Cluster
from ..broker.interface import ClusterNode
from ..broker.node import NodeState
from ..clients.admin import active_controller, coordinator
from ..clients.records import validate_topic
from ..errors import KafkaPersistenceError
from ..faults.selection import ROLES, Selection, parse, role_name, select
from .context import LibraryContext

METADATA_TIMEOUT_SECONDS = 10.0


def select_nodes(ctx: LibraryContext, cluster: Cluster, broker: "int | str | None", topic: "str | None",
                 partition: int, group: "str | None" = None, transactional_id: "str | None" = None) -> Selection:
    """Resolve ``broker`` (node id, leader, follower, controller, coordinator, all, random) and log the choice."""
    check_coordinated(broker, group, transactional_id)

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

    def group_coordinator() -> tuple[int, str]:
        key, transactional = coordinated(group, transactional_id)
        return coordinator(cluster.connection, key, transactional, METADATA_TIMEOUT_SECONDS), coordinated_name(
            group, transactional_id)

    selection = select(broker, [n.node_id for n in cluster.brokers],
                       [n.node_id for n in cluster.controllers if not n.spec.is_broker],
                       partition_state, controller, ctx.random, ctx.seed, cluster.single_node, group_coordinator)
    logger.info(f"broker={broker if broker is not None else '(default)'}: {selection.how}.")
    return selection


def check_coordinated(broker: "int | str | None", group: "str | None", transactional_id: "str | None") -> None:
    """group= and transactional_id= belong to broker=coordinator: checked on every cluster, though one node is
    every coordinator of a one-node cluster (a test written on one node must not fail only on three)."""
    if parse(broker) == "coordinator":
        coordinated(group, transactional_id)
    elif group or transactional_id:
        given = "group=" if group else "transactional_id="
        raise KafkaPersistenceError(f"{given} names what broker=coordinator coordinates, and broker= is "
                                    f"{broker if broker is not None else 'not given'}: add broker=coordinator, "
                                    f"or drop {given}")


def coordinated(group: "str | None", transactional_id: "str | None") -> tuple[str, bool]:
    """What ``broker=coordinator`` coordinates: (the key, whether it is a transactional id)."""
    if group and transactional_id:
        raise KafkaPersistenceError("broker=coordinator takes group= or transactional_id=, not both.")
    if not group and not transactional_id:
        raise KafkaPersistenceError(
            "broker=coordinator needs what it coordinates: give group= (a consumer group) or transactional_id=.")
    return (group, False) if group else (str(transactional_id), True)


def coordinated_name(group: "str | None", transactional_id: "str | None") -> str:
    """"group billing" or "transactional id tx-1" (how logs and role memory name it), "" for neither."""
    if group:
        return f"group {group}"
    return f"transactional id {transactional_id}" if transactional_id else ""


def nodes_to_undo(ctx: LibraryContext, cluster: Cluster, broker: "int | str | None", topic: "str | None",
                  partition: int, state: NodeState, keyword_name: str, cause: str, group: "str | None" = None,
                  transactional_id: "str | None" = None) -> list[int]:
    """The nodes ``keyword_name`` brings back from ``state``, resolved without asking the cluster where possible.

    No ``broker`` (or ``all``) means every node in ``state``. A role (``controller``,
    ``leader`` of ``topic``, ...) means the node the library put in ``state`` as that
    role: the cluster may not be able to say who held it (its only controller is
    the paused one), or may name the node's successor by now. Only when no node was
    faulted as that role is the cluster asked.
    """
    choice = parse(broker)
    if choice is None or choice == "all":
        node_ids = cluster.in_state(state)
        if not node_ids:
            raise KafkaPersistenceError(f"No node is {state}: '{keyword_name}' undoes what '{cause}' did.")
        return node_ids
    if isinstance(choice, str) and choice in ROLES:
        role = role_name(choice, topic, partition, coordinated_name(group, transactional_id))
        remembered = cluster.faulted_by_role(role, state) if role else []
        if remembered:
            logger.info(f"broker={broker}: node(s) {', '.join(map(str, remembered))}, {state} as the {role}.")
            return remembered
        try:
            node_ids = select_nodes(ctx, cluster, broker, topic, partition, group, transactional_id).node_ids
        except KafkaPersistenceError as error:
            waiting = cluster.in_state(state)
            raise KafkaPersistenceError(
                f"{str(error).rstrip('.')}; and no node was {state} as the {role or choice}: name one by id "
                f"({', '.join(map(str, waiting)) or 'none is ' + str(state)}), or leave broker= out to "
                f"bring back every {state} node.") from None
    else:
        node_ids = select_nodes(ctx, cluster, broker, topic, partition, group, transactional_id).node_ids
    require_state(cluster, node_ids, state, keyword_name)
    return node_ids


def require_state(cluster: Cluster, node_ids: list[int], wanted: NodeState, keyword_name: str) -> None:
    """One line when a node is not in the state ``keyword_name`` acts on."""
    for node_id in node_ids:
        state = cluster.nodes[node_id].expected
        if state is not wanted:
            raise KafkaPersistenceError(
                f"'{keyword_name}' on node {node_id}, which is {state}, not {wanted}: {state.undo}.")


def node_for(cluster: Cluster, broker: "int | str | None") -> ClusterNode:
    """The node with id ``broker`` (the only one when there is one)."""
    choice = parse(broker)
    if choice is None and len(cluster.nodes) == 1:
        return next(iter(cluster.nodes.values()))
    if not isinstance(choice, int) or choice not in cluster.nodes:
        raise KafkaPersistenceError(f"No node '{broker}' in this cluster: give one of "
                                    f"{', '.join(map(str, cluster.nodes))}.")
    return cluster.nodes[choice]
