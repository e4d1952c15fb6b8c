"""Topics and partition state through the admin API, with one-line errors."""

import dataclasses

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ..errors import KafkaPersistenceError
from .connection import Connection
from .quiet import quiet_kafka_client_logs


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


def create_topic(connection: Connection, name: str, partitions: int, replication_factor: int,
                 config: dict[str, str], timeout: float) -> None:
    """Create a topic; an existing one is an error that says so."""
    if partitions < 1:
        raise KafkaPersistenceError(f"Invalid partitions {partitions}: a topic needs at least 1.")
    admin = admin_client(connection, timeout)
    try:
        admin.create_topics([NewTopic(name, partitions, replication_factor,
                                      topic_configs={k: str(v) for k, v in config.items()})],
                            timeout_ms=int(timeout * 1000))
    except TopicAlreadyExistsError:
        raise KafkaPersistenceError(f"Topic '{name}' already exists: use a new name or reuse it as it is.") from None
    except KafkaError as error:
        raise KafkaPersistenceError(f"Creating topic '{name}' failed: {broker_reason(error)}") from None
    finally:
        admin.close()


def partition_states(connection: Connection, topic: str, timeout: float) -> "list[PartitionState] | None":
    """Every partition of ``topic`` (None when it does not exist)."""
    with quiet_kafka_client_logs():
        admin = admin_client(connection, timeout)
        try:
            described = admin.describe_topics([topic])
        except KafkaError as error:
            raise KafkaPersistenceError(f"Describing topic '{topic}' failed: {broker_reason(error)}") from None
        finally:
            admin.close()
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
    return f"{message} ({name})" if message else f"{name}: {text[:300]}"


def active_controller(connection: Connection, timeout: float) -> int:
    """The node id of the KRaft quorum's leader (the active controller)."""
    with quiet_kafka_client_logs():
        admin = admin_client(connection, timeout)
        try:
            quorum = admin.describe_metadata_quorum()
        except KafkaError as error:
            raise KafkaPersistenceError(f"Asking the cluster for its active controller failed: "
                                        f"{broker_reason(error)}") from None
        finally:
            admin.close()
    return int(quorum["topics"][0]["partitions"][0]["leader_id"])
