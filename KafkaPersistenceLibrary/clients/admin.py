"""Topics and partition state through the admin API, with one-line errors."""

import dataclasses
import time

import confluent_kafka
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import InvalidReplicationFactorError, KafkaError, TopicAlreadyExistsError
from kafka.protocol.metadata import CoordinatorType

from ..errors import KafkaPersistenceError
from .client_errors import is_retriable
from .connection import Connection
from .kafka_python_fix import metadata_from
from .quiet import quiet_kafka_client_logs

RETRY_PAUSE_SECONDS = 0.1
FENCED_PAUSE_SECONDS = 0.5


@dataclasses.dataclass(frozen=True)
class PartitionState:
    """Who leads a partition and who has its records, as the cluster's metadata says now."""

    topic: str
    partition: int
    leader: int  # -1: no leader (offline)
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader_epoch: int

    @property
    def followers(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r != self.leader)


def admin_client(connection: Connection, timeout: float) -> KafkaAdminClient:
    timeout_ms = int(max(timeout, 0.5) * 1000)
    return KafkaAdminClient(**connection.kafka_python(request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms))


def with_admin(connection: Connection, timeout: float, request):
    """Run ``request(admin)`` on a fresh kafka-python admin client, again while the cluster settles.

    kafka-python 3.0 sends a request to a node it picks among those the metadata
    names, a broker that was just killed included; it then fails at once with a
    connection error instead of trying another node. A new attempt picks again.
    Other retriable errors (a request timed out, no leader or controller yet) are
    asked again too, until ``timeout``.
    """
    deadline = time.monotonic() + timeout
    with quiet_kafka_client_logs():
        while True:
            admin = admin_client(connection, max(0.5, deadline - time.monotonic()))
            try:
                return request(admin)
            except KafkaError as error:
                if not is_retriable(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(RETRY_PAUSE_SECONDS)
            finally:
                admin.close()


def create_topic(connection: Connection, name: str, partitions: int, replication_factor: int,
                 config: dict[str, str], timeout: float) -> None:
    """Create a topic; an existing one is an error that says so."""
    if partitions < 1:
        raise KafkaPersistenceError(f"Invalid partitions {partitions}: a topic needs at least 1.")
    new_topic = NewTopic(name, partitions, replication_factor, topic_configs={k: str(v) for k, v in config.items()})
    attempts = []
    deadline = time.monotonic() + timeout

    def create(admin):
        attempts.append(1)
        while True:
            try:
                return admin.create_topics([new_topic], timeout_ms=int(max(0.5, deadline - time.monotonic()) * 1000))
            except InvalidReplicationFactorError as error:
                # KRaft's answer while the controller has fenced every broker for a moment (seen in CI after a
                # clock jump on one node): they register again within seconds, so ask again until the timeout.
                if "fenced" not in broker_reason(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(FENCED_PAUSE_SECONDS)

    try:
        with_admin(connection, timeout, create)
    except TopicAlreadyExistsError:
        if len(attempts) > 1:
            return  # an earlier attempt made it, though its answer was lost to a fault
        raise KafkaPersistenceError(f"Topic '{name}' already exists: use a new name or reuse it as it is.") from None
    except KafkaError as error:
        raise KafkaPersistenceError(f"Creating topic '{name}' failed: {broker_reason(error)}") from None


def partition_states(connection: Connection, topic: str, timeout: float,
                     ask: "list[int] | None" = None) -> "list[PartitionState] | None":
    """Every partition of ``topic`` (None when it does not exist), as the first of ``ask`` that answers sees it.

    ``ask`` names brokers whose view can be trusted (not cut off from the others);
    without it, any broker answers.
    """
    def describe(admin):
        if not ask:
            return admin.describe_topics([topic])
        for node_id in ask:
            try:
                return metadata_from(admin, node_id, [topic])["topics"]
            except KafkaError as error:  # that broker cannot answer now: ask the next one
                if node_id == ask[-1] or not is_retriable(error):
                    raise
        return []

    try:
        described = with_admin(connection, timeout, describe)
    except KafkaError as error:
        raise KafkaPersistenceError(f"Describing topic '{topic}' failed: {broker_reason(error)}") from None
    topics = [t for t in described if t["name"] == topic and t.get("error_code", 0) == 0]
    if not topics:
        return None
    return sorted((PartitionState(topic, p["partition_index"], p["leader_id"], tuple(p["replica_nodes"]),
                                  tuple(p["isr_nodes"]), p.get("leader_epoch", -1))
                   for p in topics[0]["partitions"]), key=lambda s: s.partition)


def broker_reason(error: BaseException) -> str:
    """Lead with what the broker said; kafka-python wraps it in a long repr of the request."""
    text = str(error)
    name = type(error).__name__
    message = getattr(error, "message", None) or ""
    for marker in ("error_message='", 'error_message="'):
        if marker in text:
            start = text.index(marker) + len(marker)
            end = text.find(marker[-1], start)
            message = text[start:end if end > 0 else None]
            break
    if message:
        return f"{message} ({name})"
    return text[:300] if text.startswith(name) else f"{name}: {text[:300]}"


def active_controller(connection: Connection, timeout: float) -> int:
    """The node id of the KRaft quorum's leader (the active controller)."""
    try:
        quorum = with_admin(connection, timeout, lambda admin: admin.describe_metadata_quorum())
    except KafkaError as error:
        raise KafkaPersistenceError(f"Asking the cluster for its active controller failed: "
                                    f"{broker_reason(error)}") from None
    return int(quorum["topics"][0]["partitions"][0]["leader_id"])


def coordinator(connection: Connection, key: str, transactional: bool, timeout: float) -> int:
    """The node id of the coordinator of group ``key`` (or of transactional id ``key``): Kafka's FindCoordinator.

    kafka-python 3.0 has FindCoordinator only inside its admin client
    (``_find_coordinator_id``, pinned in constraints.txt); confluent-kafka has
    none for transactional ids. A fresh client each attempt, so no cached
    answer names a coordinator that moved.
    """
    key_type = CoordinatorType.TRANSACTION if transactional else CoordinatorType.GROUP

    def find(admin):
        return admin._manager.run(admin._find_coordinator_id, key, key_type)

    try:
        return int(with_admin(connection, timeout, find))
    except KafkaError as error:
        what = "transactional id" if transactional else "group"
        raise KafkaPersistenceError(f"Asking the cluster for the coordinator of {what} '{key}' failed: "
                                    f"{broker_reason(error)}") from None


def min_insync_replicas(connection: Connection, topic: str, timeout: float) -> "int | None":
    """The topic's effective min.insync.replicas (its own, else the broker's), or None if it cannot be read."""
    admin = AdminClient(connection.librdkafka({"log_level": 0}))
    resource = ConfigResource(ResourceType.TOPIC, topic)
    try:
        entries = admin.describe_configs([resource], request_timeout=timeout)[resource].result(timeout=timeout)
        return int(entries["min.insync.replicas"].value)
    except (confluent_kafka.KafkaException, KeyError, ValueError, TypeError):
        return None


def why_not_acknowledged(connection: Connection, topic: str, partition: "int | None", timeout: float,
                         ask: "list[int] | None" = None) -> "str | None":
    """What keeps a partition from acknowledging with acks=all: no leader, or too few in-sync replicas."""
    try:
        states = partition_states(connection, topic, timeout, ask)
    except KafkaPersistenceError:
        return None
    if not states:
        return None
    wanted = [s for s in states if partition is None or s.partition == partition]
    leaderless = [s for s in wanted if s.leader < 0]
    if leaderless:
        s = leaderless[0]
        return (f"partition {topic}-{s.partition} has no leader (replicas {list(s.replicas)}, ISR {list(s.isr)}): "
                f"start its replicas' brokers again")
    min_isr = min_insync_replicas(connection, topic, timeout)
    short = [s for s in wanted if min_isr is not None and len(s.isr) < min_isr]
    if short:
        s = short[0]
        return (f"not enough in-sync replicas: partition {topic}-{s.partition} has ISR {list(s.isr)}, fewer than "
                f"min.insync.replicas={min_isr}, so acks=all cannot be met. Start the stopped brokers, or send "
                f"with acks=1")
    return None
