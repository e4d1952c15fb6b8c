"""Which node a fault keyword acts on: ``broker=`` as a node id, or a role in the cluster (pure).

``leader``, ``follower`` (one) and ``followers`` (all) are of one partition (``topic=``, ``partition=``),
``controller`` is the active KRaft controller, ``coordinator`` the broker that coordinates a
consumer group (``group=``) or a transactional id (``transactional_id=``), where its offsets or
transaction state live; ``all`` every broker, ``random``
one broker chosen by the library's seeded random generator (the choice and
the seed are logged, so a run can be repeated with ``seed=``). On a single
broker every selector means that broker.
"""

import dataclasses
import random
from collections.abc import Callable

from ..clients.admin import PartitionState
from ..errors import KafkaPersistenceError

ROLES = ("leader", "follower", "followers", "controller", "coordinator", "all", "random")


@dataclasses.dataclass(frozen=True)
class Selection:
    """The chosen node ids and a sentence saying how they were chosen, for the log."""

    node_ids: list[int]
    how: str
    role: str = ""  # what the nodes were chosen as ("controller", "leader of orders-0"), "" for ids, all, random

    @property
    def target(self) -> str:
        ids = ", ".join(map(str, self.node_ids))
        return f"node {ids}" if len(self.node_ids) == 1 else f"nodes {ids}"


def parse(selector: "int | str | None") -> "int | str | None":
    """A node id (int) or one of ROLES; None means "the only broker"."""
    if selector is None or isinstance(selector, int):
        return selector
    text = str(selector).strip().lower()
    if text in ROLES:
        return text
    try:
        return int(text)
    except ValueError:
        raise KafkaPersistenceError(
            f"Invalid broker '{selector}': use a node id, or one of {', '.join(ROLES)}.") from None


def select(selector: "int | str | None", broker_ids: list[int], controller_ids: list[int],
           partition: Callable[[], PartitionState], active_controller: Callable[[], int],
           rng: random.Random, seed: int, combined: bool,
           coordinator: "Callable[[], tuple[int, str]] | None" = None) -> Selection:
    """Resolve ``selector`` against the cluster; ``partition`` / ``active_controller`` / ``coordinator`` are asked
    only when needed (``coordinator`` answers the node id and what it coordinates: "group billing")."""
    choice = parse(selector)
    if combined:
        only = broker_ids[0]
        if isinstance(choice, int) and choice != only:
            raise KafkaPersistenceError(f"No node {choice}: this cluster has one node, {only}.")
        return Selection([only], "the only node")
    if choice is None:
        raise KafkaPersistenceError(
            f"This cluster has {len(broker_ids)} brokers: say which with broker=, a node id "
            f"({_ids(broker_ids)}) or one of {', '.join(ROLES)}.")
    if isinstance(choice, int):
        if choice not in broker_ids + controller_ids:
            raise KafkaPersistenceError(
                f"No node {choice} in this cluster: brokers are {_ids(broker_ids)}, "
                f"controllers {_ids(controller_ids)}.")
        return Selection([choice], f"node {choice}")
    if choice == "all":
        return Selection(list(broker_ids), "every broker")
    if choice == "random":
        chosen = rng.choice(broker_ids)
        return Selection([chosen], f"random: broker {chosen} (seed {seed}; import the library with "
                                   f"seed={seed} to repeat the choices)")
    if choice == "controller":
        chosen = active_controller()
        return Selection([chosen], f"the active controller, node {chosen}", "controller")
    if choice == "coordinator":
        if coordinator is None:
            raise KafkaPersistenceError(
                "broker=coordinator needs what it coordinates: give group= (a consumer group) or transactional_id=.")
        chosen, of = coordinator()
        return Selection([chosen], f"the coordinator of {of}, node {chosen}", f"coordinator of {of}")
    state = partition()
    if choice == "leader":
        if state.leader < 0:
            raise KafkaPersistenceError(
                f"Partition {state.topic}-{state.partition} has no leader now (replicas {list(state.replicas)}, "
                f"ISR {list(state.isr)}): name a node id instead.")
        return Selection([state.leader], f"the leader of {state.topic}-{state.partition}, node {state.leader}",
                         role_name("leader", state.topic, state.partition))
    followers = [r for r in state.replicas if r != state.leader]
    if followers and choice == "followers":
        return Selection(followers, f"the followers of {state.topic}-{state.partition}, nodes "
                                    f"{', '.join(map(str, followers))} (leader {state.leader})",
                         role_name("followers", state.topic, state.partition))
    if not followers:
        raise KafkaPersistenceError(
            f"Partition {state.topic}-{state.partition} has no follower (replicas {list(state.replicas)}): "
            f"create the topic with a replication factor above 1.")
    in_sync = [r for r in followers if r in state.isr]
    chosen = (in_sync or followers)[0]
    return Selection([chosen], f"a follower of {state.topic}-{state.partition}, node {chosen} "
                               f"(leader {state.leader}, ISR {list(state.isr)})",
                     role_name("follower", state.topic, state.partition))


def role_name(selector: str, topic: "str | None", partition: int, coordinated: str = "") -> str:
    """How a fault remembers the role it chose a node for: "controller", "leader of orders-0", ...

    ``follower`` and ``followers`` are remembered alike, so either finds the nodes again;
    ``coordinated`` names what a coordinator coordinates ("group billing").
    """
    if selector == "controller":
        return "controller"
    if selector == "coordinator":
        return f"coordinator of {coordinated}" if coordinated else ""
    if selector in ("leader", "follower", "followers"):
        return f"{'leader' if selector == 'leader' else 'follower'} of {topic}-{partition}"
    return ""


def _ids(ids: list[int]) -> str:
    if not ids:
        return "none"
    if ids == list(range(ids[0], ids[-1] + 1)) and len(ids) > 2:
        return f"{ids[0]}-{ids[-1]}"
    return ", ".join(map(str, ids))
