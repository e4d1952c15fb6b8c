"""What a rolling upgrade asks of the cluster: each node's features, the target's levels, replicas in sync,
and whether every partition kept a leader while nodes were replaced."""

import threading
import time

import confluent_kafka
from confluent_kafka.admin import AdminClient
from docker.errors import APIError, ContainerError, ImageNotFound
from kafka.errors import KafkaError

from ..broker import engine
from ..broker.environment import CONTROLLER_PORT, INTERNAL_PORT
from ..broker.labels import labels_for
from ..clients.admin import admin_client
from ..clients.kafka_python_fix import metadata_from
from ..clients.quiet import quiet_kafka_client_logs
from ..errors import KafkaPersistenceError
from .features import (
    METADATA_VERSION,
    RELEASE_LEVELS,
    NodeFeatures,
    mapping_release,
    node_features,
    parse_mapping,
    release_line,
)

ASK_SECONDS = 5.0
POLL_SECONDS = 0.25
LEADER_POLL_SECONDS = 0.5
QUIET = {"log_level": 0, "reconnect.backoff.max.ms": 1000}
# StorageTool's version-mapping prints the feature levels a release gives a new cluster (KIP-1022, 3.9 on).
MAPPING_COMMAND = ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", "/opt/kafka/libs/*",
                   "kafka.tools.StorageTool", "version-mapping"]


def features_of(cluster, node, timeout: float = ASK_SECONDS) -> NodeFeatures:
    """What ``node`` answers about itself, on its plaintext listener on the private network."""
    port = INTERNAL_PORT if node.spec.is_broker else CONTROLLER_PORT
    return node_features(node.ip_address(cluster.network_name), port, timeout)


def node_version(cluster, node) -> tuple[str, int]:
    """(release line, finalized metadata.version) as ``node`` answers, or ("", 0) when it cannot be asked."""
    if cluster.network_name is None:
        return "", 0
    try:
        features = features_of(cluster, node, timeout=2.0)
    except OSError:
        return "", 0
    return features.release, features.metadata_version


def wait_for_features(cluster, wanted, timeout: float, what: str) -> dict[int, NodeFeatures]:
    """Ask every node until ``wanted(features)`` holds for each; one line naming the nodes that do not."""
    deadline = time.monotonic() + timeout
    while True:
        answers, behind = {}, []
        for node_id, node in sorted(cluster.nodes.items()):
            try:
                answers[node_id] = features_of(cluster, node)
            except OSError as error:
                behind.append(f"node {node_id} did not answer ({error})")
                continue
            if not wanted(answers[node_id]):
                behind.append(f"node {node_id} reports {describe(answers[node_id])}")
        if not behind:
            return answers
        if time.monotonic() >= deadline:
            raise KafkaPersistenceError(f"{what} not reported by every node after {timeout:g} s: "
                                        + "; ".join(behind) + ".")
        time.sleep(POLL_SECONDS)


def describe(features: NodeFeatures) -> str:
    finalized = ", ".join(f"{name}={level}" for name, level in sorted(features.finalized.items()))
    return (f"Kafka {features.release} (metadata.version up to {features.highest_metadata_version}), "
            f"finalized {finalized or 'none'}")


def target_levels(image: str, owner: str, version: str) -> tuple[dict[str, int], str]:
    """The feature levels a new cluster of ``image``'s release gets, and the release line, from StorageTool in a
    throw-away container (labelled as ours, so a killed run's sweep removes it). Releases before 3.9 have no
    ``version-mapping``: their metadata.version comes from RELEASE_LEVELS (they finalize nothing else)."""
    client = engine.connect()
    try:
        client.images.get(image)  # else docker-py would try to pull it, and the engine's refusal is an HTTP 500
        output = client.containers.run(image, MAPPING_COMMAND, entrypoint=[], remove=True, labels=labels_for(owner),
                                       stdout=True, stderr=False)
    except ImageNotFound:
        raise KafkaPersistenceError(f"Image '{image}' is not on this Docker engine: build it first ('kafka-persistence-"
                                    f"image build --kafka-version {version}'), or give image= of one that is.") from None
    except ContainerError:
        line = ".".join(map(str, release_line(version)))
        if line not in RELEASE_LEVELS:
            raise KafkaPersistenceError(f"{image} cannot say its feature levels (its StorageTool has no "
                                        f"version-mapping) and Kafka {version} is not a release this library "
                                        f"knows the levels of.") from None
        return {METADATA_VERSION: RELEASE_LEVELS[line]}, line
    except APIError as error:
        raise KafkaPersistenceError(f"Could not read the feature levels of {image}: "
                                    f"{engine.first_line(error)}") from None
    finally:
        client.close()
    text = output.decode("utf-8", "replace")
    levels = parse_mapping(text)
    if METADATA_VERSION not in levels:
        raise KafkaPersistenceError(f"{image} printed no metadata.version level: {text.strip()[:200]}")
    return levels, mapping_release(text) or ".".join(map(str, release_line(version)))


def wait_in_sync(cluster, timeout: float) -> None:
    """Until every partition of every topic, internal ones too, has its whole replica set in sync."""
    deadline = time.monotonic() + timeout
    admin = AdminClient(cluster.connection.librdkafka(QUIET))
    while True:
        try:
            behind = [f"{topic}-{p.id} (replicas {p.replicas}, ISR {p.isrs})"
                      for topic, p in _partitions(admin, min(5.0, max(0.5, deadline - time.monotonic())))
                      if set(p.isrs) != set(p.replicas) or p.leader < 0]
        except confluent_kafka.KafkaException as error:
            behind = [f"no metadata ({error})"]
        if not behind:
            return
        if time.monotonic() >= deadline:
            raise KafkaPersistenceError(f"Replicas not in sync {timeout:g} s after the node came back: "
                                        + "; ".join(behind[:5]) + ".")
        time.sleep(POLL_SECONDS)


def _partitions(admin: AdminClient, timeout: float):
    """(topic, partition metadata) of every partition the cluster knows, internal topics too."""
    metadata = admin.list_topics(timeout=timeout)
    return [(name, p) for name, topic in metadata.topics.items() if topic.error is None
            for p in topic.partitions.values()]


class LeaderWatch:
    """Samples every partition's leader in a thread while nodes are replaced: a partition without one is
    the availability an upgrade must not cost (with enough replicas, a graceful stop moves leaders first).

    One broker's metadata can be behind (seen at load average 200: a sample in which every partition of
    the cluster had no leader, one broker's view for one sample), so a partition counts as leaderless only
    when no running broker, asked itself, names a leader for it."""

    def __init__(self, cluster):
        self._cluster = cluster
        self._admin = AdminClient(cluster.connection.librdkafka(QUIET))
        self._stop = threading.Event()
        self.samples = 0
        self.leaderless: dict[str, float] = {}  # partition -> seconds seen without a leader (sample spacing)
        self._thread = threading.Thread(target=self._run, name="kpl-leader-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(LEADER_POLL_SECONDS):
            try:
                missing = _without_leader(self._admin)
            except confluent_kafka.KafkaException:
                continue  # no broker answered this sample; the next one asks again
            if missing:
                missing = _confirmed(self._cluster, missing)
            now = time.monotonic()
            self.samples += 1
            for key in missing:
                self.leaderless[key] = self.leaderless.get(key, 0.0) + (now - last)
            last = now

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _without_leader(admin: AdminClient, timeout: float = 2.0) -> set[str]:
    return {f"{topic}-{p.id}" for topic, p in _partitions(admin, timeout) if p.leader < 0}


def _confirmed(cluster, missing: set[str]) -> set[str]:
    """The partitions of ``missing`` for which no running broker, asked itself, names a leader."""
    topics = sorted({key.rsplit("-", 1)[0] for key in missing})
    with quiet_kafka_client_logs():
        admin = admin_client(cluster.connection, 2.0)
        try:
            for node_id in cluster.trusted_broker_ids():
                try:
                    answer = metadata_from(admin, node_id, topics)
                except (KafkaError, OSError):
                    continue  # that broker is down now: the others decide
                missing = missing - {f"{t['name']}-{p['partition_index']}" for t in answer["topics"]
                                     for p in t["partitions"] if p["leader_id"] >= 0}
        finally:
            admin.close()
    return missing
