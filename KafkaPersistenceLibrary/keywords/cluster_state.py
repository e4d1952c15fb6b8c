"""Keywords that tell who leads a partition and who is in sync, and wait for it."""

import time
from datetime import timedelta

from robot.api import logger
from robot.utils import DotDict

from ..broker.node import NodeState
from ..clients.admin import PartitionState
from ..clients.records import validate_topic
from ..errors import KafkaPersistenceError
from ..timeouts import to_seconds
from .context import LibraryContext
from .one_line import keyword
from .targets import METADATA_TIMEOUT_SECONDS

POLL_SECONDS = 0.25
LAGGARD_LOG_LINES = 200


class ClusterStateKeywords:
    ctx: LibraryContext

    @keyword(tags=["cluster state"])
    def get_partition_state(self, topic: str, partition: int = 0) -> DotDict:
        """Returns who leads ``partition`` of ``topic`` and who has its records, as the cluster says now.

        The result has ``leader`` (a node id, -1 when the partition is offline),
        ``replicas``, ``isr`` (the in-sync replicas), ``followers`` and
        ``leader_epoch`` (it grows with every new leader).

        | ${state} =    `Get Partition State`    orders
        | Length Should Be    ${state.isr}    3
        | Should Be Equal As Integers    ${state.leader}    2
        """
        state = self._state(topic, partition)
        logger.info(f"{topic}-{partition}: leader {state.leader}, replicas {list(state.replicas)}, "
                    f"ISR {list(state.isr)}, leader epoch {state.leader_epoch}.")
        return _as_dict(state)

    @keyword(tags=["cluster state"])
    def wait_until_replicas_in_sync(self, topic: str, timeout: timedelta = timedelta(seconds=60)) -> None:
        """Waits until every partition of ``topic`` has all its replicas in sync (ISR = replicas).

        Use it after a fault, before the next one, so each fault starts from a
        fully replicated partition. Fails after ``timeout`` naming the
        partitions still out of sync.

        | `Restart Broker`    mode=kill    broker=leader    topic=orders
        | `Wait Until Replicas In Sync`    orders    timeout=30s
        """
        validate_topic(topic)
        seconds = to_seconds(timeout)
        cluster = self.ctx.require_cluster()
        deadline = time.monotonic() + seconds
        while True:
            states = cluster.partition_states(topic, METADATA_TIMEOUT_SECONDS)
            if states is None:
                raise KafkaPersistenceError(f"Topic '{topic}' does not exist on {cluster.bootstrap}.")
            behind = [s for s in states if set(s.isr) != set(s.replicas) or s.leader < 0]
            if not behind:
                logger.info(f"All {len(states)} partition(s) of '{topic}' are in sync.")
                return
            if time.monotonic() >= deadline:
                raise KafkaPersistenceError(
                    f"Replicas of '{topic}' not in sync after {seconds:g} s: " + "; ".join(
                        f"{s.topic}-{s.partition} replicas {list(s.replicas)}, ISR {list(s.isr)}"
                        for s in behind[:5]) + "." + _what_the_laggards_say(cluster, behind))
            time.sleep(POLL_SECONDS)

    @keyword(tags=["cluster state"])
    def wait_until_partition_has_leader(self, topic: str, partition: int = 0,
                                        timeout: timedelta = timedelta(seconds=30)) -> int:
        """Waits until ``partition`` of ``topic`` has a leader that runs, and returns its node id.

        A leader on a node that was stopped or paused does not count: right
        after a kill the metadata still names it until the controller fences it
        (``broker.session.timeout.ms``). The controller then elects another
        in-sync replica; with
        ``unclean.leader.election.enable=true`` it may elect one that is not.
        Fails after ``timeout`` with the partition's replicas and ISR.

        | `Stop Broker`    broker=leader    topic=orders    mode=kill
        | ${leader} =    `Wait Until Partition Has Leader`    orders
        """
        seconds = to_seconds(timeout)
        deadline = time.monotonic() + seconds
        while True:
            state = self._state(topic, partition)
            if state.leader >= 0 and self._running(state.leader):
                logger.info(f"{topic}-{partition} is led by node {state.leader} (epoch {state.leader_epoch}).")
                return state.leader
            if time.monotonic() >= deadline:
                raise KafkaPersistenceError(
                    f"Partition {topic}-{partition} has no leader after {seconds:g} s (replicas "
                    f"{list(state.replicas)}, ISR {list(state.isr)}): its in-sync replicas are down, and an "
                    f"out-of-sync one may lead only with unclean.leader.election.enable=true.")
            time.sleep(POLL_SECONDS)

    def _running(self, node_id: int) -> bool:
        """A leader on a node the library stopped or paused is one the cluster has not replaced yet."""
        node = self.ctx.require_cluster(alive=False).nodes.get(node_id)
        return node is None or node.expected is NodeState.RUNNING

    def _state(self, topic: str, partition: int) -> PartitionState:
        validate_topic(topic)
        if partition < 0:
            raise KafkaPersistenceError(f"Invalid partition {partition}: partitions are numbered from 0.")
        cluster = self.ctx.require_cluster()
        states = cluster.partition_states(topic, METADATA_TIMEOUT_SECONDS)
        if states is None:
            raise KafkaPersistenceError(f"Topic '{topic}' does not exist on {cluster.bootstrap}.")
        if partition >= len(states):
            raise KafkaPersistenceError(f"Topic '{topic}' has no partition {partition} (it has {len(states)}).")
        return states[partition]


def _what_the_laggards_say(cluster, behind: list[PartitionState]) -> str:
    """The last warning of each node missing from an ISR, and of its leader, so the failure says why it lags."""
    missing = sorted({r for s in behind for r in s.replicas if r not in s.isr} | {s.leader for s in behind})
    said = []
    for node_id in missing:
        node = cluster.nodes.get(node_id)
        if node is None:
            continue
        try:
            lines = node.logs(tail=LAGGARD_LOG_LINES).splitlines()
        except KafkaPersistenceError as error:
            lines = [str(error)]
        logger.info(f"Last {LAGGARD_LOG_LINES} log lines of node {node_id}:\n" + "\n".join(lines))
        warnings = [line.strip() for line in reversed(lines) if " WARN " in line or " ERROR " in line]
        # The topic's own warnings first: others (e.g. the readiness probe's) can fill the tail.
        warning = next((w for w in warnings if any(s.topic in w for s in behind)), warnings[0] if warnings else "")
        said.append(f"node {node_id} ({node.expected}) last warned: {warning[:300]}" if warning
                    else f"node {node_id} ({node.expected}) logged no warning")
    return (" " + "; ".join(said) + ".") if said else ""


def _as_dict(state: PartitionState) -> DotDict:
    return DotDict(leader=state.leader, replicas=list(state.replicas), isr=list(state.isr),
                   followers=list(state.followers), leader_epoch=state.leader_epoch)
