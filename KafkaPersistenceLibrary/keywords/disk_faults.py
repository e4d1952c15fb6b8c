"""Keywords that make a node's disk fail: full, failing, slow (issue 20). The faults live in faults/kinds/disk.py."""

import time
from datetime import timedelta

from robot.api import logger
from robot.utils import DotDict

from ..broker.node import NodeState
from ..errors import KafkaPersistenceError
from ..faults.fault import FaultKind
from ..faults.kinds import disk
from ..faults.selection import parse
from .context import LibraryContext
from .one_line import keyword
from .targets import require_state, select_nodes


class DiskFaultKeywords:
    ctx: LibraryContext

    @keyword(tags=["faults", "disk"])
    def fill_disk(self, broker: "int | str | None" = None, topic: "str | None" = None,
                  partition: int = 0) -> DotDict:
        """Makes node(s)' disk full until `Free Disk`: writes, growing files and new files fail with ENOSPC
        (fault kind ``disk-full``).

        Needs ``Start Kafka    disk=faulty`` (or ``disk=lying``). ``broker`` as
        in `Restart Broker`. Kafka 4.1.1 takes the log directory offline and,
        as it is the broker's only one, halts the broker (measured; README:
        Disk faults): the node then counts as stopped, and after `Free Disk`,
        `Start Broker` brings it back. Returns ``node``.

        | `Start Kafka`    brokers=3    disk=faulty
        | `Fill Disk`    broker=leader    topic=orders
        | `Free Disk`
        | `Start Broker`    broker=leader    topic=orders
        """
        return self._make(disk.FULL, "Fill Disk", broker, topic, partition, "full")

    @keyword(tags=["faults", "disk"])
    def free_disk(self, broker: "int | str | None" = None) -> DotDict:
        """Gives the disk `Fill Disk` filled its space back; without ``broker`` every full disk.

        Kafka does not bring an offline log directory back by itself: a broker
        that halted needs `Start Broker`. Returns ``nodes``; does nothing when
        no disk is full.

        | `Fill Disk`    broker=2
        | `Free Disk`    broker=2
        """
        return self._undo(disk.FULL, "Free Disk", broker, lambda state: state.full, "full", strict=False)

    @keyword(tags=["faults", "disk"])
    def fail_disk(self, broker: "int | str | None" = None, operations: str = "all", topic: "str | None" = None,
                  partition: int = 0) -> DotDict:
        """Makes node(s)' disk fail with EIO until `Repair Disk` (fault kind ``disk-error``).

        ``operations``: ``write``, ``read``, ``fsync`` or ``all`` (also creating,
        renaming and deleting files: a dead disk); several joined with ``|``,
        e.g. ``write|fsync``. Reads the kernel still has cached succeed (as on a
        real disk). Needs ``Start Kafka    disk=faulty``. ``broker`` as in
        `Restart Broker`. A failed write or fsync makes Kafka 4.1.1 take the log
        directory offline and halt the broker (its only log directory; README:
        Disk faults); the node then counts as stopped. Returns ``node`` and
        ``operations``.

        | `Fail Disk`    broker=leader    topic=orders
        | `Fail Disk`    broker=2    operations=write|fsync
        | `Repair Disk`
        | `Start Broker`
        """
        failing = disk.operations(operations)
        result = self._make(disk.FAILING, "Fail Disk", broker, topic, partition, "|".join(sorted(failing)),
                            failing=failing)
        result.operations = "|".join(sorted(failing))
        return result

    @keyword(tags=["faults", "disk"])
    def repair_disk(self, broker: "int | str | None" = None) -> DotDict:
        """Makes the disk `Fail Disk` failed work again; without ``broker`` every failed disk.

        Fails when no disk is failed (a repair with nothing to repair is a
        mistake in the test). A broker that halted on the fault needs `Start
        Broker`; one that did not, `Restart Broker` to bring its log directory
        online. Returns ``nodes``.

        | `Fail Disk`    broker=1
        | `Repair Disk`    broker=1
        | `Start Broker`    broker=1
        """
        return self._undo(disk.FAILING, "Repair Disk", broker, lambda state: bool(state.failing), "failing",
                          strict=True)

    @keyword(tags=["faults", "disk"])
    def slow_down_disk(self, broker: "int | str | None" = None, fsync: "timedelta | None" = None,
                       write: "timedelta | None" = None, topic: "str | None" = None,
                       partition: int = 0) -> DotDict:
        """Makes every fsync and/or write call of node(s) wait until `Restore Disk` (fault kind ``disk-slow``).

        ``fsync`` and ``write`` are the time each call waits (``200ms``, ``1s``);
        one of them or both. With ``log.flush.interval.messages=1`` Kafka fsyncs
        every append, so ``fsync=200ms`` caps a partition at about 5 appends a
        second. Needs ``Start Kafka    disk=faulty``. ``broker`` as in `Restart
        Broker`. Returns ``node``, ``fsync`` and ``write`` (seconds).

        | `Start Kafka`    disk=faulty    log.flush.interval.messages=1
        | `Slow Down Disk`    fsync=200ms
        | `Slow Down Disk`    broker=leader    topic=orders    fsync=200ms    write=5ms
        | `Restore Disk`
        """
        fsync_us = disk.delay_us(fsync, "fsync")
        write_us = disk.delay_us(write, "write")
        self.ctx.require_cluster()
        if not fsync_us and not write_us:
            raise KafkaPersistenceError("'Slow Down Disk' needs fsync= (like 200ms), write= or both.")
        what = ", ".join(f"{name}={us / 1000:g}ms" for name, us in (("fsync", fsync_us), ("write", write_us)) if us)
        result = self._make(disk.SLOW, "Slow Down Disk", broker, topic, partition, what, write_delay_us=write_us,
                            fsync_delay_us=fsync_us)
        result.fsync, result.write = fsync_us / 1e6, write_us / 1e6
        return result

    @keyword(tags=["faults", "disk"])
    def restore_disk(self, broker: "int | str | None" = None) -> DotDict:
        """Gives the disk `Slow Down Disk` slowed its speed back; without ``broker`` every slow disk.

        Returns ``nodes``; does nothing when no disk is slow.

        | `Slow Down Disk`    fsync=200ms
        | `Restore Disk`
        """
        return self._undo(disk.SLOW, "Restore Disk", broker, lambda state: state.slow, "slow", strict=False)

    def _make(self, kind: FaultKind, keyword_name: str, broker, topic, partition, what: str,
              **options) -> DotDict:
        self.ctx.require_no_random_faults(keyword_name)
        cluster = self.ctx.require_cluster()
        if kind.why_not(cluster):
            raise KafkaPersistenceError(f"'{keyword_name}' cannot work here: {kind.why_not(cluster)}.")
        selection = select_nodes(self.ctx, cluster, broker, topic, partition)
        require_state(cluster, selection.node_ids, NodeState.RUNNING, keyword_name)
        began = time.monotonic()
        kind.make(cluster, selection.node_ids, self.ctx.settings, selection.role, **options)
        for node_id in selection.node_ids:
            self.ctx.open_faults.begin(f"{kind.name} {node_id}", list(self.ctx.runs.values()), kind.name,
                                       f"disk of node {node_id}: {what}", began, kind.colour)
        logger.info(f"Disk of {selection.target}: {what} ({kind.name}, through volatilefs in the node).")
        return DotDict(node=_one_or_all(selection.node_ids))

    def _undo(self, kind: FaultKind, keyword_name: str, broker, has_fault, state_name: str,
              strict: bool) -> DotDict:
        self.ctx.require_no_random_faults(keyword_name)
        cluster = self.ctx.require_cluster(alive=False)
        if kind.why_not(cluster):
            raise KafkaPersistenceError(f"'{keyword_name}' cannot work here: {kind.why_not(cluster)}.")
        cluster.down_node()  # a broker that halted on the fault counts as stopped from here on
        faulted = sorted(i for i, state in cluster.disks.items() if has_fault(state))
        choice = parse(broker)
        node_ids = faulted if choice is None or choice == "all" else [
            i for i in select_nodes(self.ctx, cluster, broker, None, 0).node_ids if i in faulted]
        if not node_ids:
            message = (f"No disk {'of node ' + str(broker) + ' ' if choice not in (None, 'all') else ''}is "
                       f"{state_name}: '{keyword_name}' undoes what '{kind.keywords[0]}' did.")
            if strict:
                raise KafkaPersistenceError(message)
            logger.info(message)
            return DotDict(nodes=[])
        kind.undo(cluster, node_ids, self.ctx.settings)
        ended = time.monotonic()
        for node_id in node_ids:
            self.ctx.open_faults.end(f"{kind.name} {node_id}", ended)
        stopped = [i for i in node_ids if cluster.nodes[i].expected is NodeState.STOPPED]
        logger.info(f"{keyword_name}: the disk of node(s) {', '.join(map(str, node_ids))} works again"
                    + (f"; node(s) {', '.join(map(str, stopped))} stopped on the fault: 'Start Broker' brings them "
                       f"back." if stopped else "."))
        return DotDict(nodes=node_ids)


def undo_every_disk_fault(cluster) -> list[int]:
    """Give every node of ``cluster`` a healthy disk again (a failed test's leftovers); the nodes changed."""
    faulted = sorted(getattr(cluster, "disks", {}) or {})
    if faulted:
        cluster.down_node()  # a broker that halted on its disk counts as stopped before its fault is forgotten
        disk.change(cluster, faulted, full=False, failing=frozenset(), write_delay_us=0, fsync_delay_us=0)
    return faulted


def _one_or_all(values: list):
    return values[0] if len(values) == 1 else values
