"""Keywords that start and stop the cluster and tell what it is."""

from robot.api import logger
from robot.utils import DotDict

from ..broker.environment import Topology
from ..broker.image_choice import choose_image
from ..broker.node import NodeOptions
from ..broker.own import MAX_BROKERS, MAX_CONTROLLERS, ClusterSpec, OwnCluster
from ..choices import by_value
from ..errors import KafkaPersistenceError
from ..faults.kinds.disk import Disk, disk_choice
from ..security.broker import SECURITY_CHOICES
from ..upgrade.rolling import node_version
from .context import LibraryContext
from .one_line import keyword
from .targets import node_for


class LifecycleKeywords:
    ctx: LibraryContext

    @keyword(tags=["lifecycle"])
    def start_kafka(self, brokers: int = 1, controllers: "int | None" = None, power_loss: bool = False,
                    security: str = "plaintext", clock_skew: bool = False, disk: str = "plain",
                    version: "str | None" = None, **broker_config: str) -> str:
        """Starts Kafka (KRaft) in containers and returns the bootstrap address of its brokers.

        With one broker (the default) it is a single node that is broker and
        controller at once. With ``brokers=2`` to ``5`` the cluster has dedicated
        controllers, as production clusters do (``controllers=1`` by default,
        ``controllers=3`` for a real quorum), on a private Docker network: broker
        faults then never take the quorum down with them. Brokers have node ids
        1 to n, controllers 101, 102, ...

        Returns ``127.0.0.1:p1,127.0.0.1:p2,...`` once every broker is registered
        and a record sent with ``acks=all`` was acknowledged. Each address stays
        valid after any number of restarts.

        Defaults with n brokers: ``default.replication.factor`` min(3, n),
        ``min.insync.replicas`` one less (at least 1), the same for internal
        topics, ``unclean.leader.election.enable=false``. Named arguments are
        broker properties by their Kafka names and override any default, e.g.
        ``log.flush.interval.messages=1``.

        ``power_loss=True`` puts each node's log directory on a filesystem that
        keeps unsynced writes in memory, so that `Restart Broker` and `Stop Broker`
        can use ``mode=power-loss`` (see README: Power loss).

        ``disk=faulty`` puts each node's log directory on volatilefs as the
        disk fault layer: `Fill Disk`, `Fail Disk` and `Slow Down Disk` then
        work, and so does ``mode=power-loss``. ``disk=lying`` is the same with
        an fsync that reports success and syncs nothing, so a power cut loses
        what Kafka was told is durable. With either, the KRaft metadata log
        stays on the container's own disk (see README: Disk faults).

        ``clock_skew=True`` starts each broker with libfaketime preloaded (our
        image only), so that `Skew Clock` can move its wall clock; without it
        nothing is preloaded and clocks cannot be skewed. It does not combine
        with ``power_loss=True`` or ``disk=faulty|lying`` (one line says so).

        ``security`` secures the client listener: ``ssl`` (TLS, client
        certificates required), ``sasl_plaintext`` or ``sasl_ssl`` (PLAIN,
        SCRAM-SHA-256 and SCRAM-SHA-512 for a generated user), with a throw-away
        CA and certificates made per cluster. The library's own clients use
        them; `Get Client Settings` gives them to yours. Traffic between nodes
        stays plaintext on the private network.

        ``version`` is the Kafka release the nodes run: any
        ``org.apache.kafka:kafka_2.13`` release from 3.7.0 on (default: the
        library's, see README: Kafka versions). Our image of that version is
        built on first use (about a minute, cached after; progress on the
        console) and checked against this checkout's image files.
        ``KAFKA_PERSISTENCE_VERSION`` sets it for a whole run; the ``image``
        import argument and ``KAFKA_PERSISTENCE_IMAGE`` win over both.

        Calling it again while the cluster runs returns the same address and logs
        that it is reused, so a suite of many tests pays for one start. Asking
        for other settings then fails: `Stop Kafka` first. The cluster is removed
        when the suite that started it ends.

        | ${bootstrap} =    `Start Kafka`
        | `Start Kafka`    log.flush.interval.messages=1    message.max.bytes=2097152
        | `Start Kafka`    brokers=3    controllers=3    min.insync.replicas=2
        | `Start Kafka`    security=sasl_ssl
        | `Start Kafka`    clock_skew=True    log.retention.check.interval.ms=1000
        | `Start Kafka`    brokers=3    disk=faulty
        | `Start Kafka`    brokers=3    version=3.9.1
        """
        spec = _cluster_spec(brokers, controllers, power_loss, security, broker_config, clock_skew, disk)
        ctx = self.ctx
        if ctx.cluster is not None and ctx.cluster_spec is None:
            raise KafkaPersistenceError(f"The library is connected to {ctx.cluster.description}: call "
                                        f"'Disconnect Kafka' first to start a cluster of its own.")
        image = choose_image(ctx.settings.image, version)
        if ctx.cluster is not None:
            down = ctx.cluster.why_down()
            if down is None and spec == ctx.cluster_spec and version and ctx.cluster.image != image:
                raise KafkaPersistenceError(
                    f"Kafka is already running at {ctx.cluster.bootstrap} from {ctx.cluster.image}, not {image} "
                    f"(version={version}): call 'Stop Kafka' first to start that version.")
            if down is None and spec == ctx.cluster_spec:
                logger.info(f"Kafka is already running at {ctx.cluster.bootstrap} (started by '{ctx.cluster_owner}'); "
                            f"reusing it.")
                return ctx.cluster.bootstrap
            if down is None:
                raise KafkaPersistenceError(
                    f"Kafka is already running at {ctx.cluster.bootstrap} with {_describe(ctx.cluster_spec)}, "
                    f"not {_describe(spec)}: call 'Stop Kafka' first to start one with other settings.")
            logger.warn(f"Kafka is no longer running ({down}); starting a new cluster.")
            self._remove_cluster()
        cluster = OwnCluster.start(image, ctx.current_owner, spec, ctx.settings.start_timeout)
        ctx.cluster, ctx.cluster_owner, ctx.cluster_spec = cluster, ctx.current_owner, spec
        for swept in cluster.swept:
            logger.warn(f"Removed {swept.describe()}: that run was killed before it could clean up.")
        logger.info(f"Started Kafka from image {cluster.image}: {_describe(spec)} at {cluster.bootstrap}; "
                    f"first acknowledged produce after {cluster.started_in_seconds:.2f} s.")
        return cluster.bootstrap

    @keyword(tags=["lifecycle"])
    def stop_kafka(self) -> None:
        """Stops the cluster and removes its containers, network and data. Does nothing when none runs.

        A cluster connected with `Connect Kafka` is only let go of, never stopped.

        Usually not needed: the cluster is removed when the suite that started it ends.

        | [Teardown]    `Stop Kafka`
        """
        if self.ctx.cluster is None:
            logger.info("No Kafka cluster was running.")
            return
        cluster = self.ctx.cluster
        self._remove_cluster()
        if isinstance(cluster, OwnCluster):
            logger.info(f"Removed Kafka cluster {cluster.name}.")
        else:
            logger.info(f"Disconnected from {cluster.description}; it was left as it was.")

    def _remove_cluster(self) -> None:
        for problem in self.ctx.forget_cluster():
            logger.warn(f"Cleanup: {problem}; the next 'Start Kafka' removes it once this process has ended.")

    @keyword(tags=["lifecycle"])
    def get_bootstrap_servers(self) -> str:
        """Returns the brokers' addresses, e.g. ``127.0.0.1:39092``, for other clients.

        | ${bootstrap} =    `Get Bootstrap Servers`
        | Start Process    my-consumer    --bootstrap-server    ${bootstrap}
        """
        return self.ctx.require_cluster(alive=False).bootstrap

    @keyword(tags=["lifecycle"])
    def get_brokers(self) -> list:
        """Returns every node: ``id``, ``roles``, ``address`` (brokers), ``state``, ``container``, ``image``,
        ``version`` and ``metadata_version``.

        ``state`` is what Docker says now: ``running``, ``stopped`` (exited),
        ``paused``, or ``removed``. ``version`` is the Kafka release line the
        node says it runs (``4.1``): the highest ``metadata.version`` its
        software supports, from its own ApiVersions answer, not the library's
        bookkeeping (patch releases of a line answer alike);
        ``metadata_version`` is the finalized level it applies. Both are
        empty / 0 for a node that does not answer, and on clusters the
        library did not start.

        | ${nodes} =    `Get Brokers`
        | Should Be Equal    ${nodes}[0][state]    running
        | Should Be Equal    ${nodes}[0][version]    4.1
        """
        result = []
        cluster = self.ctx.require_cluster(alive=False)
        for node in cluster.nodes.values():
            state = node.state()
            status = "stopped" if state.status in ("exited", "dead", "created") else state.status
            release, level = node_version(cluster, node) if status == "running" else ("", 0)
            result.append(DotDict(id=node.node_id, roles=node.spec.roles, address=node.address, state=status,
                                  container=node.name, image=node.image, version=release, metadata_version=level))
        return sorted(result, key=lambda n: (n.roles == "controller", n.id))

    @keyword(tags=["lifecycle"])
    def get_broker_logs(self, broker: "int | str | None" = None, tail: int = 0) -> str:
        """Returns a node's container output across all its restarts (the last ``tail`` lines if given).

        ``broker`` is a node id (any node when there is only one); without it on
        a cluster, the logs of every node, each under a heading. The library logs
        these automatically when a test fails.

        | ${logs} =    `Get Broker Logs`    tail=50
        | Should Contain    ${logs}    Kafka Server started
        | ${logs} =    `Get Broker Logs`    broker=2
        """
        if tail < 0:
            raise KafkaPersistenceError(f"Invalid tail {tail}: give a positive number of lines, or 0 for all.")
        cluster = self.ctx.require_cluster(alive=False)
        if broker is None and len(cluster.nodes) > 1:
            return "\n".join(f"==== node {n.node_id} ({n.name}) ====\n{n.logs(tail=tail or None)}"
                             for n in cluster.nodes.values())
        return node_for(cluster, broker).logs(tail=tail or None)


def _cluster_spec(brokers: int, controllers: "int | None", power_loss: bool, security: str,
                  config: dict, clock_skew: bool = False, disk: str = "plain") -> ClusterSpec:
    if not isinstance(brokers, int) or not 1 <= brokers <= MAX_BROKERS:
        raise KafkaPersistenceError(f"Invalid brokers '{brokers}': start 1 to {MAX_BROKERS} brokers.")
    if controllers is not None and (not isinstance(controllers, int) or not 1 <= controllers <= MAX_CONTROLLERS):
        raise KafkaPersistenceError(
            f"Invalid controllers '{controllers}': give 1 to {MAX_CONTROLLERS} (3 for a quorum that survives "
            f"the loss of one).")
    if controllers is None:
        controllers = 0 if brokers == 1 else 1
    choice = by_value(SECURITY_CHOICES, security, "Invalid security")
    disk_option = _disk_option(disk)
    if clock_skew and (power_loss or disk_option):
        raise KafkaPersistenceError(
            "clock_skew=True cannot be combined with power_loss=True or disk=faulty|lying: libfaketime "
            "would also move the clock of the volatile filesystem, which then cannot start. Use them in "
            "separate clusters.")
    return ClusterSpec(Topology(brokers, controllers),
                       tuple(sorted((str(k), str(v)) for k, v in config.items())),
                       NodeOptions(power_loss=bool(power_loss), clock_skew=bool(clock_skew),
                                   disk=disk_option), choice)


def _disk_option(disk) -> str:
    """NodeOptions.disk: "" for the plain disk, else the Disk value."""
    choice = disk_choice(disk)
    return "" if choice is Disk.PLAIN else choice.value


def _describe(spec: "ClusterSpec | None") -> str:
    if spec is None:
        return "nothing"
    topology = spec.topology
    shape = ("1 combined node" if topology.combined else
             f"{topology.brokers} broker(s) and {topology.controllers} controller(s)")
    extras = ([f"{k}={v}" for k, v in spec.config] + (["power_loss=True"] if spec.options.power_loss else [])
              + (["clock_skew=True"] if spec.options.clock_skew else [])
              + ([f"disk={spec.options.disk}"] if spec.options.disk else [])
              + ([f"security={spec.security}"] if spec.security != "plaintext" else []))
    return shape + (f" ({', '.join(extras)})" if extras else "")
