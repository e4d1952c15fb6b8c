"""Keywords that make nodes fail: restart, stop and start, pause and resume, network cuts and slow links, clock jumps."""

import time
from datetime import timedelta

from robot.api import logger
from robot.utils import DotDict

from ..broker.cluster import Cluster
from ..broker.node import NodeState, StopMode
from ..durability.run import faults_marked
from ..errors import KafkaPersistenceError
from ..faults import registry
from ..faults.fault import FaultKind, Need
from ..faults.kinds import clock, network, process, slow
from ..faults.kinds.network import Peers
from ..timeouts import to_seconds
from .context import LibraryContext
from .one_line import keyword
from .targets import METADATA_TIMEOUT_SECONDS, nodes_to_undo, require_state, select_nodes


class FaultKeywords:
    ctx: LibraryContext

    @keyword(tags=["faults"])
    def restart_broker(self, mode: "StopMode | str" = StopMode.GRACEFUL, downtime: timedelta = timedelta(0),
                       broker: "int | str | None" = None, topic: "str | None" = None, partition: int = 0,
                       group: "str | None" = None, transactional_id: "str | None" = None) -> DotDict:
        """Stops and starts the same node container(s), data kept, and returns once the cluster serves again.

        ``broker`` chooses the node: a node id, ``leader``, ``follower`` (one) or
        ``followers`` (all) of ``topic`` / ``partition`` (0 by default),
        ``controller`` (the active KRaft controller), ``coordinator`` (the
        coordinator of consumer group ``group``, or of ``transactional_id``:
        the broker that holds its offsets or transaction state, found with
        Kafka's FindCoordinator), ``all`` (every broker at once) or ``random``
        (the choice and its seed are logged). On a single broker it may be
        left out.

        ``mode``:
        - ``graceful``: SIGTERM, and Kafka shuts down in a controlled way (Docker
          sends SIGKILL only after the library's ``stop_timeout``; the returned
          ``clean_shutdown`` says whether that happened).
        - ``kill``: SIGKILL of the broker process (a crash). The host's page
          cache keeps every write it made, fsynced or not.
        - ``power-loss``: the node stops at once and every write it had not
          fsynced is lost (needs ``Start Kafka    power_loss=True``).

        ``downtime`` is how long the node stays down (e.g. ``5s``). ``mode`` and
        ``downtime`` come first, as they did before clusters existed.

        Returns when the node is back in the cluster, a produce with
        ``acks=all`` is acknowledged and every partition has a leader. The
        result has ``node`` (the id, or a list for ``all``), ``mode``,
        ``downtime`` (seconds from the stop to serving again), ``recovery``
        (seconds from the start to serving), ``stop``, ``exit_code``,
        ``clean_shutdown`` and, with ``topic``, the partition's ``leader``
        afterwards. Clients of your own should set a short reconnect backoff
        (librdkafka: ``reconnect.backoff.max.ms=1000``; its default grows to
        10 s, so a client created before the restart may wait that long after
        this keyword returns).

        | `Restart Broker`
        | ${restart} =    `Restart Broker`    mode=kill    downtime=3s
        | Should Be True    ${restart.recovery} < 30
        | ${restart} =    `Restart Broker`    broker=leader    topic=orders    mode=kill
        | Should Not Be Equal    ${restart.leader}    ${restart.node}
        | `Restart Broker`    mode=kill    broker=coordinator    group=billing
        """
        mode = StopMode.parse(mode)
        seconds = to_seconds(downtime, "downtime", allow_zero=True)
        self.ctx.require_no_random_faults("Restart Broker")
        cluster = self.ctx.require_cluster()
        kind = _kind_of(mode, cluster)
        selection = select_nodes(self.ctx, cluster, broker, topic, partition, group, transactional_id)
        require_state(cluster, selection.node_ids, NodeState.RUNNING, "Restart Broker")
        settings = self.ctx.settings
        with faults_marked(list(self.ctx.runs.values()), kind.name, selection.target, time.monotonic, kind.colour):
            report = cluster.restart(selection.node_ids, mode, seconds, settings.restart_timeout,
                                     settings.stop_timeout)
        exit_codes = ", ".join(f"node {i}: {code}" for i, code in report.exit_codes.items())
        how = ("clean shutdown" if report.clean_shutdown else
               f"NOT clean: Docker had to SIGKILL after {settings.stop_timeout:g} s" if mode is StopMode.GRACEFUL
               else mode.value)
        logger.info(f"Restarted {selection.target} ({mode.value}, {how}; exit codes {exit_codes}): stopping took "
                    f"{report.stop_seconds:.2f} s, down for {report.downtime_seconds:.2f} s, recovery took "
                    f"{report.recovery_seconds:.2f} s. Addresses unchanged: {cluster.bootstrap}.")
        if mode is StopMode.GRACEFUL and not report.clean_shutdown:
            logger.warn(f"Graceful restart of {selection.target} was not clean: a node did not stop within "
                        f"{settings.stop_timeout:g} s and was killed.")
        result = DotDict(node=_one_or_all(selection.node_ids), mode=mode.value,
                         downtime=round(report.downtime_seconds, 3), recovery=round(report.recovery_seconds, 3),
                         stop=round(report.stop_seconds, 3), exit_code=_one_or_all(list(report.exit_codes.values())),
                         clean_shutdown=report.clean_shutdown)
        if topic:
            result.leader = self._leader(cluster, topic, partition)
            logger.info(f"Leader of {topic}-{partition} afterwards: node {result.leader}.")
        return result

    @keyword(tags=["faults"])
    def stop_broker(self, broker: "int | str | None" = None, mode: "StopMode | str" = StopMode.GRACEFUL,
                    topic: "str | None" = None, partition: int = 0,
                    group: "str | None" = None, transactional_id: "str | None" = None) -> DotDict:
        """Stops node(s) and leaves them down until `Start Broker`, e.g. to produce while they are away.

        ``broker`` and ``mode`` as in `Restart Broker`. With too few brokers
        left for ``min.insync.replicas``, sends with ``acks=all`` fail (the ISR
        is too small), and `Produce Message` says so. Returns ``node`` and
        ``exit_code``.

        | `Stop Broker`    broker=follower    topic=orders
        | Run Keyword And Expect Error    *not enough in-sync replicas*    `Produce Message`    orders    x
        | `Start Broker`    all
        """
        mode = StopMode.parse(mode)
        self.ctx.require_no_random_faults("Stop Broker")
        cluster = self.ctx.require_cluster()
        kind = _kind_of(mode, cluster)
        selection = select_nodes(self.ctx, cluster, broker, topic, partition, group, transactional_id)
        require_state(cluster, selection.node_ids, NodeState.RUNNING, "Stop Broker")
        began = time.monotonic()
        exit_codes = kind.make(cluster, selection.node_ids, self.ctx.settings, selection.role)
        for node_id in selection.node_ids:
            self.ctx.open_faults.begin(f"node {node_id}", list(self.ctx.runs.values()), kind.name,
                                       f"node {node_id}", began, kind.colour)
        logger.info(f"Stopped {selection.target} ({mode.value}); exit codes {exit_codes}. It stays down until "
                    f"'Start Broker'.")
        return DotDict(node=_one_or_all(selection.node_ids), exit_code=_one_or_all(list(exit_codes.values())))

    @keyword(tags=["faults"])
    def start_broker(self, broker: "int | str | None" = None, topic: "str | None" = None,
                     partition: int = 0,
                     group: "str | None" = None, transactional_id: "str | None" = None) -> DotDict:
        """Starts stopped node(s) again and waits until the cluster serves.

        Without ``broker`` (or with ``all``) every stopped node starts. A node
        id starts that node; a role (``leader`` of ``topic``, ``controller``,
        ...) starts the node `Stop Broker` stopped as that role, even when the
        cluster has given the role to another node meanwhile. Returns ``node``
        and ``recovery`` (seconds from the start until the cluster served again).

        | `Stop Broker`    broker=2
        | `Start Broker`    broker=2
        | `Stop Broker`    broker=leader    topic=orders    mode=kill
        | `Start Broker`    broker=leader    topic=orders    # the old leader, not the new one
        | `Start Broker`    # every stopped node
        | `Stop Broker`    broker=coordinator    group=billing
        | `Start Broker`    broker=coordinator    group=billing    # the node stopped as its coordinator
        """
        self.ctx.require_no_random_faults("Start Broker")
        cluster = self.ctx.require_cluster()
        node_ids = nodes_to_undo(self.ctx, cluster, broker, topic, partition, NodeState.STOPPED, "Start Broker",
                                 "Stop Broker", group, transactional_id)
        recovery = process.start_again(cluster, node_ids, self.ctx.settings)
        ended = time.monotonic()
        for node_id in node_ids:
            self.ctx.open_faults.end(f"node {node_id}", ended)
        logger.info(f"Started node(s) {', '.join(map(str, node_ids))} again; the cluster served after "
                    f"{recovery:.2f} s.")
        return DotDict(node=_one_or_all(node_ids), recovery=round(recovery, 3))

    @keyword(tags=["faults"])
    def pause_broker(self, broker: "int | str | None" = None, topic: "str | None" = None,
                     partition: int = 0,
                     group: "str | None" = None, transactional_id: "str | None" = None) -> DotDict:
        """Freezes every process of node(s) (``docker pause``) until `Resume Broker`.

        A paused leader neither answers nor resigns: the "zombie" case. Its
        connections stay open, so clients wait for their own timeouts. The
        controller fences it once its session expires, and another replica
        leads. ``broker`` as in `Restart Broker`. Returns ``node``.

        | `Pause Broker`    broker=leader    topic=orders
        | `Resume Broker`    broker=leader    topic=orders
        """
        self.ctx.require_no_random_faults("Pause Broker")
        cluster = self.ctx.require_cluster()
        selection = select_nodes(self.ctx, cluster, broker, topic, partition, group, transactional_id)
        require_state(cluster, selection.node_ids, NodeState.RUNNING, "Pause Broker")
        began = time.monotonic()
        process.PAUSE.make(cluster, selection.node_ids, self.ctx.settings, selection.role)
        for node_id in selection.node_ids:
            self.ctx.open_faults.begin(f"node {node_id}", list(self.ctx.runs.values()), process.PAUSE.name,
                                       f"node {node_id}", began, process.PAUSE.colour)
        logger.info(f"Paused {selection.target}.")
        return DotDict(node=_one_or_all(selection.node_ids))

    @keyword(tags=["faults"])
    def resume_broker(self, broker: "int | str | None" = None, topic: "str | None" = None,
                      partition: int = 0,
                      group: "str | None" = None, transactional_id: "str | None" = None) -> DotDict:
        """Resumes paused node(s) and waits until the cluster serves again.

        Without ``broker`` (or with ``all``) every paused node resumes. A role
        (``controller``, ``leader`` of ``topic``, ...) resumes the node `Pause
        Broker` paused as that role: a cluster whose only controller is paused
        cannot say who its controller is, and a paused leader is soon replaced.
        Returns ``node`` and ``recovery`` (seconds until served).

        | `Pause Broker`    broker=1
        | `Resume Broker`    broker=1
        | `Pause Broker`    broker=controller
        | `Resume Broker`    broker=controller
        | `Resume Broker`    # every paused node
        """
        self.ctx.require_no_random_faults("Resume Broker")
        cluster = self.ctx.require_cluster()
        node_ids = nodes_to_undo(self.ctx, cluster, broker, topic, partition, NodeState.PAUSED, "Resume Broker",
                                 "Pause Broker", group, transactional_id)
        recovery = process.PAUSE.undo(cluster, node_ids, self.ctx.settings)
        ended = time.monotonic()
        for node_id in node_ids:
            self.ctx.open_faults.end(f"node {node_id}", ended)
        logger.info(f"Resumed node(s) {', '.join(map(str, node_ids))}; the cluster served after {recovery:.2f} s.")
        return DotDict(node=_one_or_all(node_ids), recovery=round(recovery, 3))

    @keyword(tags=["faults", "network"])
    def isolate_broker(self, broker: "int | str | None" = None, topic: "str | None" = None, partition: int = 0,
                       group: "str | None" = None, transactional_id: "str | None" = None,
                       **cut: str) -> DotDict:
        """Cuts node(s) off the network until `Heal Network`: ``from=nodes`` (the default) or ``from=clients``.

        - ``from=nodes``: the node can no longer reach any other node, nor they
          it, both ways, while clients on the host still reach it. A leader cut
          off this way is replaced by the others, yet may keep acknowledging
          ``acks=1`` writes from clients: the split-brain case.
        - ``from=clients``: clients cannot reach the node; it still replicates.

        ``broker`` as in `Restart Broker` (a node id, ``leader`` of ``topic``,
        ``controller``, ...). The rules live in the node's own network namespace
        (iptables), never on the host, and go with `Heal Network` or the cluster.
        Returns ``node`` and ``rules`` (how many were added).

        | `Isolate Broker`    broker=leader    topic=orders
        | `Isolate Broker`    broker=2    from=clients
        | `Heal Network`
        """
        unknown = sorted(set(cut) - {"from"})
        if unknown:
            raise KafkaPersistenceError(f"'Isolate Broker' takes from=nodes or from=clients, not {unknown[0]}=.")
        cut_from = Peers.parse(cut.get("from", Peers.NODES))
        self.ctx.require_no_random_faults("Isolate Broker")
        cluster = self.ctx.require_cluster()
        _require_network(cluster, cut_from, "Isolate Broker", "cuts", "no other node to be cut off from", "isolate it")
        selection = select_nodes(self.ctx, cluster, broker, topic, partition, group, transactional_id)
        require_state(cluster, selection.node_ids, NodeState.RUNNING, "Isolate Broker")
        began = time.monotonic()
        added = network.ISOLATE.make(cluster, selection.node_ids, self.ctx.settings, selection.role, cut_from=cut_from)
        self.ctx.open_faults.begin("network", list(self.ctx.runs.values()), network.ISOLATE.name,
                                   f"{selection.target} from {cut_from.value}", began, network.ISOLATE.colour)
        logger.info(f"Isolated {selection.target} from {cut_from.value} ({added} iptables rules in its namespace).")
        return DotDict(node=_one_or_all(selection.node_ids), rules=added)

    @keyword(tags=["faults", "network"])
    def slow_down_network(self, broker: "int | str | None" = None, bandwidth: "str | None" = None,
                          loss: "str | None" = None, topic: "str | None" = None, partition: int = 0,
                          group: "str | None" = None, transactional_id: "str | None" = None,
                          **link: str) -> DotDict:
        """Degrades node(s)' links without cutting them until `Heal Network`: a gray failure (fault kind ``slow``).

        - ``bandwidth``: the rate of each link, both ways (``1mbit``,
          ``500kbit``; units ``bit``, ``kbit``, ``mbit``, ``gbit``), shaped
          with ``tc`` (htb): packets queue, as on a congested link.
        - ``loss``: the share of packets dropped at random, both ways
          (``10%``), with iptables' ``statistic`` match.

        One of them or both. ``from=nodes`` (the default) degrades every link
        between the node and the other nodes; ``from=clients`` only the client
        listener's traffic (replies shaped; what clients send is dropped above
        the rate after a 1 MB burst, as this kernel cannot shape ingress).
        ``broker`` as in `Restart Broker`. A follower whose link is slower than
        the producer falls out of the ISR; a lossy leader looks alive to some
        and slow to others. There is no ``delay=``: ``netem`` does not exist in
        the kernel this was measured on.

        The qdiscs and rules live in the nodes' own network namespaces, never
        on the host, and go with `Heal Network`, a stop of the node or the
        cluster. One slow-down at a time: heal before the next. Returns
        ``node`` and ``link`` (what was done, e.g. ``256kbit, 10% loss``).

        | `Slow Down Network`    broker=follower    topic=orders    bandwidth=256kbit
        | `Slow Down Network`    broker=leader    topic=orders    loss=10%
        | `Slow Down Network`    broker=2    bandwidth=1mbit    loss=5%    from=clients
        | `Heal Network`
        """
        unknown = sorted(set(link) - {"from"})
        if unknown:
            raise KafkaPersistenceError(f"'Slow Down Network' takes bandwidth=, loss= and from=, not {unknown[0]}=.")
        slow_from = Peers.parse(link.get("from", Peers.NODES))
        bits = None if bandwidth is None else slow.bandwidth_bits(bandwidth)
        share = None if loss is None else slow.loss_share(loss)
        self.ctx.require_no_random_faults("Slow Down Network")
        cluster = self.ctx.require_cluster()
        if bandwidth is None and loss is None:
            raise KafkaPersistenceError("'Slow Down Network' needs bandwidth= (like 1mbit), loss= (like 10%) or both.")
        _require_network(cluster, slow_from, "Slow Down Network", "shapes", "no link to another node to slow down",
                         "slow it down")
        if cluster.slowed:
            raise KafkaPersistenceError(
                f"Node(s) {', '.join(map(str, sorted(cluster.slowed)))} are slowed down already: call 'Heal Network' "
                f"before the next 'Slow Down Network'.")
        selection = select_nodes(self.ctx, cluster, broker, topic, partition, group, transactional_id)
        require_state(cluster, selection.node_ids, NodeState.RUNNING, "Slow Down Network")
        began = time.monotonic()
        done = slow.SLOW.make(cluster, selection.node_ids, self.ctx.settings, selection.role, slow_from=slow_from,
                              bandwidth=bits, loss=share)
        self.ctx.open_faults.begin("slow network", list(self.ctx.runs.values()), slow.SLOW.name,
                                   f"{selection.target} from {slow_from.value} ({done})", began, slow.SLOW.colour)
        logger.info(f"Slowed down the links of {selection.target} from {slow_from.value}: {done} (tc and iptables in "
                    f"the nodes' namespaces).")
        return DotDict(node=_one_or_all(selection.node_ids), link=done)

    @keyword(tags=["faults", "network"])
    def heal_network(self) -> DotDict:
        """Removes every network cut `Isolate Broker` and every slow or lossy link `Slow Down Network` made, and
        waits until the cluster serves again.

        Returns ``nodes`` (the healed node ids) and ``recovery`` (seconds until
        served). Does nothing when no node is isolated or slowed down.

        | `Isolate Broker`    broker=leader    topic=orders
        | `Heal Network`
        | `Slow Down Network`    broker=follower    topic=orders    bandwidth=256kbit
        | `Heal Network`
        """
        self.ctx.require_no_random_faults("Heal Network")
        cluster = self.ctx.require_cluster()
        healed = cluster.cut_off()
        if not healed:
            logger.info("No node is isolated or slowed down.")
            return DotDict(nodes=[], recovery=0.0)
        recovery = network.ISOLATE.undo(cluster, healed, self.ctx.settings)
        ended = time.monotonic()
        self.ctx.open_faults.end("network", ended)
        self.ctx.open_faults.end("slow network", ended)
        logger.info(f"Healed the network of node(s) {', '.join(map(str, healed))}; the cluster served after "
                    f"{recovery:.2f} s.")
        return DotDict(nodes=healed, recovery=round(recovery, 3))

    @keyword(tags=["faults", "clock"])
    def skew_clock(self, by: str, broker: "int | str | None" = None, topic: "str | None" = None,
                   partition: int = 0,
                   group: "str | None" = None, transactional_id: "str | None" = None) -> DotDict:
        """Moves node(s)' wall clock by ``by`` until `Restore Clock`: a clock that jumps (fault kind ``clock``).

        ``by`` is a signed jump with a unit: ``+8d``, ``-2h``, ``+90s`` (``s``,
        ``m``, ``h``, ``d``, ``y``). The broker's wall clock (what
        ``System.currentTimeMillis`` returns: record timestamps, time-based
        retention, ...) moves within a second; its monotonic clock does not.
        Needs a cluster started with ``Start Kafka    clock_skew=True`` on our
        image (libfaketime is preloaded into its brokers then, and only then);
        a cluster of your own cannot be skewed by the library. ``broker`` as in
        `Restart Broker`. Returns ``node`` and ``by`` (the offset in seconds).

        | `Start Kafka`    clock_skew=True    log.retention.check.interval.ms=1000
        | `Skew Clock`    by=+8d
        | `Restore Clock`
        """
        text = clock.offset(by)
        self.ctx.require_no_random_faults("Skew Clock")
        cluster = self.ctx.require_cluster()
        registry.require(clock.CLOCK, cluster)
        selection = select_nodes(self.ctx, cluster, broker, topic, partition, group, transactional_id)
        require_state(cluster, selection.node_ids, NodeState.RUNNING, "Skew Clock")
        began = time.monotonic()
        clock.CLOCK.make(cluster, selection.node_ids, self.ctx.settings, selection.role, by=text)
        for node_id in selection.node_ids:
            self.ctx.open_faults.begin(f"clock {node_id}", list(self.ctx.runs.values()), clock.CLOCK.name,
                                       f"node {node_id} by {by}", began, clock.CLOCK.colour)
        logger.info(f"Skewed the wall clock of {selection.target} by {by} ({text} s); its monotonic clock runs on.")
        return DotDict(node=_one_or_all(selection.node_ids), by=int(text))

    @keyword(tags=["faults", "clock"])
    def restore_clock(self) -> DotDict:
        """Gives every node `Skew Clock` moved its real wall clock back, and removes the clock file.

        Takes about 1.5 s: an offset of 0 first, which each JVM reads within a
        second, then the file goes. What the jump did stays done (records
        deleted by retention do not come back). Returns ``nodes``. Does nothing
        when no clock is skewed.

        | `Skew Clock`    broker=1    by=-2h
        | `Restore Clock`
        """
        self.ctx.require_no_random_faults("Restore Clock")
        cluster = self.ctx.require_cluster()
        skewed = sorted(cluster.skewed)
        if not skewed:
            logger.info("No clock is skewed.")
            return DotDict(nodes=[])
        clock.CLOCK.undo(cluster, skewed, self.ctx.settings)
        ended = time.monotonic()
        for node_id in skewed:
            self.ctx.open_faults.end(f"clock {node_id}", ended)
        logger.info(f"Restored the wall clock of node(s) {', '.join(map(str, skewed))}.")
        return DotDict(nodes=skewed)


    @staticmethod
    def _leader(cluster: Cluster, topic: str, partition: int) -> int:
        states = cluster.partition_states(topic, METADATA_TIMEOUT_SECONDS) or []
        return states[partition].leader if partition < len(states) else -1


def _kind_of(mode: StopMode, cluster: Cluster) -> FaultKind:
    """The fault kind a stop mode makes; one line when this cluster cannot make it."""
    kind = registry.kind(mode.value)
    if kind.needs is Need.FILESYSTEM and kind.why_not(cluster):
        raise KafkaPersistenceError(
            "mode=power-loss needs a cluster started for it: 'Start Kafka    power_loss=True' puts the log "
            "directories on a filesystem that can forget unsynced writes (this one was started without it).")
    return kind


def _require_network(cluster: Cluster, peers: Peers, keyword_name: str, does: str, lacks: str, instead: str) -> None:
    """Network faults need a private network of ours, and another node for ``from=nodes``: one line if not."""
    if cluster.network_name is None:
        raise KafkaPersistenceError(
            f"{keyword_name} works on clusters the library started (it {does} their private network); "
            f"{cluster.description} is not one.")
    if peers is Peers.NODES and len(cluster.nodes) == 1:
        raise KafkaPersistenceError(f"A single node has {lacks}: start Kafka with brokers=3, or {instead} from=clients.")


def _one_or_all(values: list):
    return values[0] if len(values) == 1 else values
