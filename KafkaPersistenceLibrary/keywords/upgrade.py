"""Keywords for rolling upgrades: nodes onto another Kafka version with their data, then the feature levels."""

import dataclasses
import time
from datetime import timedelta

from kafka.errors import KafkaError
from robot.api import logger
from robot.utils import DotDict

from ..broker.own import OwnCluster
from ..clients.admin import active_controller, broker_reason, with_admin
from ..durability.run import faults_marked
from ..errors import KafkaPersistenceError
from ..faults.kinds.upgrade import UPGRADE
from ..faults.selection import parse
from ..timeouts import to_seconds
from ..upgrade.features import METADATA_VERSION, NOT_FINALIZED, parse_version, release_of
from ..upgrade.rolling import LeaderWatch, describe, features_of, target_levels, wait_for_features, wait_in_sync
from .context import LibraryContext
from .one_line import keyword
from .targets import select_nodes


@dataclasses.dataclass(frozen=True)
class Target:
    """The version a cluster is being moved to, its image and the feature levels that release gives."""

    version: str
    image: str
    levels: dict
    release: str

    @property
    def metadata_version(self) -> int:
        return self.levels[METADATA_VERSION]


class UpgradeKeywords:
    ctx: LibraryContext

    @keyword(tags=["upgrades"])
    def upgrade_kafka(self, version: str, broker: "int | str" = "all", image: "str | None" = None,
                      together: bool = False, timeout: timedelta = timedelta(minutes=3)) -> DotDict:
        """Upgrades the cluster to Kafka ``version`` the way operators do: one node at a time, data kept.

        Each node is stopped gracefully, made anew from the version's image
        (``kafka-persistence-library/kafka:<version>``, or ``image=``) with its
        data, host name, address, settings and labels, and started. After each
        node the keyword waits until the cluster serves, the node answers as
        the new version (the highest ``metadata.version`` it says it supports,
        asked over the wire) and every replica of every topic is back in sync.
        Controllers go first (the active one last), then brokers, as Kafka's
        upgrade notes say. The finalized feature levels stay as they were
        until `Finalize Kafka Upgrade`; until then `Downgrade Kafka` can go
        back.

        ``broker`` is ``all`` (the default), a node id, or a role as in
        `Restart Broker`. ``together=True`` replaces the chosen nodes at the
        same time: the wrong way, for a test that shows what it costs (with
        ``min.insync.replicas=2``, two brokers of three down make ``acks=all``
        sends fail). Each node's replacement is a row on the verdict's
        timeline. Nodes already on the image are left alone.

        Returns ``version``, ``image``, ``nodes`` (in the order upgraded),
        ``downtime`` (node id -> seconds from its stop until the cluster
        served again), ``leaderless`` (partition -> seconds it was seen without
        a leader, sampled every 0.5 s; empty when every partition always had
        one) and ``seconds``.

        | `Start Kafka`    brokers=3    controllers=3    version=3.9.1
        | `Start Background Producer`    orders
        | ${upgrade} =    `Upgrade Kafka`    version=4.4.0
        | Should Be Empty    ${upgrade.leaderless}
        | `Finalize Kafka Upgrade`
        | `Upgrade Kafka`    version=4.4.0    broker=1,2    together=True    # wrong on purpose
        """
        return self._roll(version, broker, image, together, to_seconds(timeout, "timeout"), upgrade=True)

    @keyword(tags=["upgrades"])
    def downgrade_kafka(self, version: str, broker: "int | str" = "all", image: "str | None" = None,
                        timeout: timedelta = timedelta(minutes=3)) -> DotDict:
        """Moves the cluster back to an older Kafka ``version``, one node at a time, data kept.

        Kafka supports this only while the finalized ``metadata.version`` is
        one the older version knows: after `Upgrade Kafka`, before `Finalize
        Kafka Upgrade`. Otherwise the keyword fails in one line before it
        touches a node (the older broker could not start on the data). Brokers
        go first, then controllers: the reverse of an upgrade. Arguments and
        result as in `Upgrade Kafka`.

        | `Upgrade Kafka`    version=4.4.0
        | `Downgrade Kafka`    version=3.9.1    # before Finalize Kafka Upgrade
        """
        return self._roll(version, broker, image, False, to_seconds(timeout, "timeout"), upgrade=False)

    @keyword(tags=["upgrades"])
    def finalize_kafka_upgrade(self, timeout: timedelta = timedelta(minutes=2)) -> DotDict:
        """Raises the cluster's finalized feature levels to the new version's and waits until every node reports them.

        The levels are the ones the new release gives a new cluster
        (``metadata.version`` and the other finalized features, e.g.
        ``transaction.version``, ``group.version``), as the release's own
        StorageTool ``version-mapping`` prints them; they are set through
        Kafka's UpdateFeatures API, which the active controller applies.
        ``kraft.version`` is left as it is: raising it turns the static
        controller quorum into a dynamic one (KIP-853), a change of how the
        quorum is configured rather than an upgrade step. Afterwards Kafka
        cannot go back to the old version (`Downgrade Kafka` says so).

        Fails in one line, changing nothing, while a node does not run the
        new version yet. Returns ``metadata_version`` (the level), ``release``
        and ``finalized`` (feature -> level, as the nodes report them).

        | `Upgrade Kafka`    version=4.4.0
        | ${features} =    `Finalize Kafka Upgrade`
        | Should Be Equal    ${features.release}    4.4
        """
        seconds = to_seconds(timeout, "timeout")
        cluster = self._own_cluster("Finalize Kafka Upgrade")
        target = self.ctx.upgrade_target
        if target is None:
            raise KafkaPersistenceError("No upgrade to finalize: call 'Upgrade Kafka    version=...' first.")
        images = {i: node.image for i, node in sorted(cluster.nodes.items())}
        answers = {}
        if not behind_target(target, images, {}):  # every node was given the image: ask each what it runs
            answers = {i: features_of(cluster, node) for i, node in sorted(cluster.nodes.items())}
        behind = behind_target(target, images, {i: f.highest_metadata_version for i, f in answers.items()})
        if behind:
            raise KafkaPersistenceError(
                f"'Finalize Kafka Upgrade' before every node runs Kafka {target.version}: {', '.join(behind)} "
                f"still run(s) an older version. Finish with 'Upgrade Kafka    version={target.version}' first: "
                f"nodes that do not support the new levels would be fenced.")
        current = next(iter(answers.values())).finalized
        updates = {name: level for name, level in target.levels.items()
                   if name not in NOT_FINALIZED and level > current.get(name, 0)}
        if updates:
            try:
                results = with_admin(cluster.connection, seconds, lambda admin: admin.update_features(updates))
            except KafkaError as error:
                raise KafkaPersistenceError(f"Kafka refused to finalize {updates}: {broker_reason(error)}") from None
            refused = {name: result for name, result in results.items() if result != "OK"}
            if refused:
                raise KafkaPersistenceError(f"Kafka refused to finalize {refused}.")
        reported = wait_for_features(
            cluster, lambda f: all(f.finalized.get(name, 0) >= level for name, level in updates.items()),
            seconds, f"The finalized levels {updates}")
        finalized = next(iter(reported.values())).finalized
        logger.info(f"Finalized {updates or 'nothing new'}; every node reports {finalized}.")
        return DotDict(metadata_version=finalized.get(METADATA_VERSION, 0), release=target.release,
                       finalized=DotDict(sorted(finalized.items())))

    # -- the rolling restart ---------------------------------------------------------

    def _roll(self, version: str, broker, image: "str | None", together: bool, seconds: float,
              upgrade: bool) -> DotDict:
        name = "Upgrade Kafka" if upgrade else "Downgrade Kafka"
        parse_version(version)
        cluster = self._own_cluster(name)
        self.ctx.require_no_random_faults(name)
        _require_no_faults(cluster, name)
        image = image or _image_for(version)
        levels, release = target_levels(image, self.ctx.current_owner, version)
        target = Target(str(version).strip(), image, levels, release)
        answers = {i: features_of(cluster, node) for i, node in sorted(cluster.nodes.items())}
        _require_direction(target, answers, upgrade)
        order = self._order(cluster, broker, upgrade)
        steps = [order] if together else [[i] for i in order]
        steps = [[i for i in step if cluster.nodes[i].image != image] for step in steps]
        steps = [step for step in steps if step]
        if not steps:
            logger.info(f"Every chosen node already runs {image}: nothing to do.")
        self.ctx.upgrade_target = target if upgrade else None
        began = time.monotonic()
        watch = LeaderWatch(cluster)
        downtime = {}
        try:
            for step in steps:
                what = f"node {', '.join(map(str, step))} to {target.version}"
                down_at = time.monotonic()
                with faults_marked(list(self.ctx.runs.values()), "upgrade" if upgrade else "downgrade", what,
                                   time.monotonic, UPGRADE.colour):
                    phases = cluster.replace(step, image, seconds, self.ctx.settings.stop_timeout)
                for node_id in step:
                    downtime[node_id] = round(time.monotonic() - down_at, 3)
                self._check_runs_target(cluster, step, target)
                wait_in_sync(cluster, seconds)
                logger.info(f"{'Upgraded' if upgrade else 'Downgraded'} {what} ({image}): stop {phases['stop']:.1f} s, "
                            f"{phases['bytes'] / 1e6:.1f} MB of data copied in {phases['copy']:.1f} s, serving "
                            f"{phases['serve']:.1f} s later; every replica in sync after "
                            f"{time.monotonic() - down_at:.1f} s in all.")
        finally:
            watch.stop()
        leaderless = {p: round(s, 1) for p, s in sorted(watch.leaderless.items())}
        if leaderless:
            first = ", ".join(f"{p} ({s} s)" for p, s in list(leaderless.items())[:5])
            logger.warn(f"{len(leaderless)} partition(s) seen without a leader during the "
                        f"{name.split()[0].lower()}: {first}{', ...' if len(leaderless) > 5 else ''}.")
        return DotDict(version=target.version, image=image, nodes=[i for step in steps for i in step],
                       downtime=DotDict(downtime), leaderless=DotDict(leaderless),
                       seconds=round(time.monotonic() - began, 3))

    def _check_runs_target(self, cluster, node_ids: list[int], target: Target) -> None:
        """Each replaced node's own answer says it runs the target release: the cluster's word, not ours."""
        for node_id in node_ids:
            features = features_of(cluster, cluster.nodes[node_id])
            if features.highest_metadata_version != target.metadata_version:
                raise KafkaPersistenceError(
                    f"Node {node_id} was started from {target.image} but reports {describe(features)}, not "
                    f"Kafka {target.release} (metadata.version up to {target.metadata_version}).")
            logger.info(f"Node {node_id} reports {describe(features)}.")

    def _order(self, cluster, broker, upgrade: bool) -> list[int]:
        """Controllers first (the active one last), then brokers; the reverse for a downgrade."""
        choice = parse(broker) if not _several(broker) else None
        if _several(broker):
            node_ids = [int(part) for part in str(broker).replace(",", " ").split()]
            missing = [i for i in node_ids if i not in cluster.nodes]
            if missing:
                raise KafkaPersistenceError(f"No node {missing[0]} in this cluster: give some of "
                                            f"{', '.join(map(str, cluster.nodes))}.")
        elif choice == "all":
            node_ids = list(cluster.nodes)
        else:
            node_ids = select_nodes(self.ctx, cluster, broker, None, 0).node_ids
        controllers = [i for i in node_ids if not cluster.nodes[i].spec.is_broker]
        if len(controllers) > 1:
            active = _active_controller(cluster)
            controllers.sort(key=lambda i: (i == active, i))
        brokers = sorted(i for i in node_ids if cluster.nodes[i].spec.is_broker)
        return controllers + brokers if upgrade else brokers + controllers[::-1]

    def _own_cluster(self, keyword_name: str) -> OwnCluster:
        cluster = self.ctx.require_cluster()
        if not isinstance(cluster, OwnCluster):
            raise KafkaPersistenceError(
                f"'{keyword_name}' re-creates the containers of a cluster the library started; {cluster.description} "
                f"was connected with 'Connect Kafka': upgrade it with its own tooling, then verify with the same "
                f"keywords.")
        return cluster


def behind_target(target: Target, images: dict[int, str], highest: dict[int, int]) -> list[str]:
    """The nodes not on the target yet: by the image the library gave them, then by what each answers
    (``highest``: node id -> the highest metadata.version it supports)."""
    behind = [f"node {i} ({image})" for i, image in images.items() if image != target.image]
    return behind + [f"node {i} (it supports metadata.version up to {level})" for i, level in highest.items()
                     if level < target.metadata_version]


def _several(broker) -> bool:
    text = str(broker).strip()
    return ("," in text or " " in text) and all(p.isdigit() for p in text.replace(",", " ").split())


def _active_controller(cluster) -> int:
    try:
        return active_controller(cluster.connection, 10.0)
    except KafkaPersistenceError:
        return -1


def _require_no_faults(cluster, keyword_name: str) -> None:
    """An upgrade starts from a whole cluster: a fault in place would be carried into it, or lost with the container."""
    faulted = [f"node {i} ({n.expected})" for i, n in cluster.nodes.items() if str(n.expected) != "running"]
    faulted += [f"node {i} (network)" for i in cluster.cut_off()]
    faulted += [f"node {i} (clock)" for i in cluster.skewed] + [f"node {i} (disk)" for i in cluster.disks]
    if faulted:
        raise KafkaPersistenceError(f"'{keyword_name}' needs every node running without a fault of the library's; "
                                    f"{', '.join(faulted)}: undo it first ('Start Broker', 'Resume Broker', "
                                    f"'Heal Network', 'Restore Clock', 'Repair Disk').")


def _require_direction(target: Target, answers: dict, upgrade: bool) -> None:
    """An upgrade goes forward, a downgrade back and only to a version that knows the finalized metadata.version."""
    newest = max(answers.values(), key=lambda f: f.highest_metadata_version)
    if upgrade and target.metadata_version < newest.highest_metadata_version:
        raise KafkaPersistenceError(
            f"Kafka {target.version} is older than the cluster's Kafka {newest.release} (it supports metadata.version "
            f"up to {target.metadata_version}, the cluster's nodes up to {newest.highest_metadata_version}): "
            f"'Upgrade Kafka' only goes forward; use 'Downgrade Kafka    version={target.version}', possible until "
            f"'Finalize Kafka Upgrade'.")
    if upgrade:
        return
    if target.metadata_version > newest.highest_metadata_version:
        raise KafkaPersistenceError(f"Kafka {target.version} is newer than the cluster's Kafka {newest.release}: "
                                    f"use 'Upgrade Kafka    version={target.version}'.")
    finalized = max(f.metadata_version for f in answers.values())
    if finalized > target.metadata_version:
        raise KafkaPersistenceError(
            f"Kafka cannot downgrade to {target.version}: the cluster's finalized metadata.version is {finalized} "
            f"({release_of(finalized)}), and {target.version} knows levels up to {target.metadata_version}. Kafka "
            f"goes back only before 'Finalize Kafka Upgrade' raised the levels; the data stays on "
            f"{release_of(finalized)} or newer.")


def _image_for(version: str) -> str:
    """The image of one Kafka version: the one Start Kafka    version= runs (built on first use)."""
    try:
        from ..broker.image_choice import choose_image
    except ImportError:  # a tree without images per version
        return f"kafka-persistence-library/kafka:{str(version).strip()}"
    return choose_image(None, str(version).strip())
