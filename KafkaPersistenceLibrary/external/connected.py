"""A cluster the library connected to: its brokers come from the cluster's own metadata, and faults
go through the driver chosen at connect time. Letting go of it removes and changes nothing."""

import time

import confluent_kafka
import docker
from confluent_kafka.admin import AdminClient

from ..broker import engine
from ..broker.cluster import Cluster
from ..clients.connection import Connection
from ..errors import KafkaPersistenceError
from ..security.diagnose import check_connection
from ..security.settings import ClientSecurity
from .commands import CommandNode, CommandTemplates
from .containers import container_nodes, find_containers, is_broker

DRIVERS = ("none", "docker", "compose", "command")


class ConnectedCluster(Cluster):
    """Someone else's Kafka: brokers by metadata, nodes by driver."""

    def __init__(self, bootstrap: str, security: ClientSecurity, driver: str,
                 client: "docker.DockerClient | None" = None):
        super().__init__(f"the cluster at {bootstrap}", security)
        self.given_bootstrap = bootstrap
        self.driver = driver
        self._client = client

    @property
    def bootstrap(self) -> str:
        return self.given_bootstrap

    @property
    def description(self) -> str:
        return f"the cluster at {self.given_bootstrap} (driver={self.driver})"

    @property
    def single_node(self) -> bool:
        return len(self.nodes) == 1

    def remove(self) -> list[str]:
        if self._client is not None:
            self._client.close()
        return []

    @classmethod
    def connect(cls, bootstrap: str, security: ClientSecurity, driver: str, project: "str | None",
                containers: "str | None", commands: "CommandTemplates | None", timeout: float) -> "ConnectedCluster":
        """Check that a client can log in, learn the brokers, and attach each to its driver."""
        deadline = time.monotonic() + timeout
        check_connection(bootstrap, security, timeout)
        connection = Connection(bootstrap, security)
        brokers = _brokers(connection, timeout)
        client = engine.connect() if driver in ("docker", "compose") else None
        cluster = cls(bootstrap, security, driver, client)
        if client is not None:
            found = find_containers(client, project if driver == "compose" else None,
                                    containers if driver == "docker" else None)
            while True:  # a broker container that was just started registers within seconds
                unregistered = [c.name for i, c in found.items() if is_broker(c) and i not in brokers]
                if not unregistered or time.monotonic() >= deadline:
                    break
                time.sleep(0.5)
                brokers = _brokers(connection, max(0.5, deadline - time.monotonic()))
            if unregistered:
                raise KafkaPersistenceError(
                    f"Broker container(s) {', '.join(unregistered)} are not registered in the cluster at "
                    f"{bootstrap} after {timeout:g} s: are they running and part of this cluster?")
            nodes = container_nodes(client, found, brokers)
        else:
            templates = commands if commands is not None else CommandTemplates((), timeout)
            nodes = [CommandNode(node_id, address, templates) for node_id, address in sorted(brokers.items())]
        cluster.nodes = {node.node_id: node for node in sorted(nodes, key=lambda n: n.node_id)}
        return cluster


def _brokers(connection: Connection, timeout: float) -> dict[int, str]:
    """Node id -> advertised address of every broker, from the cluster's metadata."""
    admin = AdminClient(connection.librdkafka({"log_level": 0}))
    try:
        metadata = admin.list_topics(timeout=timeout)
    except confluent_kafka.KafkaException as error:
        raise KafkaPersistenceError(
            f"No metadata from {connection.bootstrap} within {timeout:g} s: "
            f"{connection.security.mask(str(error.args[0].str() if error.args else error))}") from None
    return {b.id: f"{b.host}:{b.port}" for b in metadata.brokers.values()}
