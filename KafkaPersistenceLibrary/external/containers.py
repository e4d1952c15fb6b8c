"""The nodes of a cluster as existing containers (a compose project, or containers named by the user).

Faults act on those containers (docker stop / kill / start / pause / unpause);
the library never removes or changes them. A container's node id comes from the
``KAFKA_NODE_ID`` (or ``KAFKA_BROKER_ID``) variable the Kafka images are configured
with, or from the user's ``containers=1:name,2:name`` mapping.
"""

import docker
from docker.errors import NotFound

from ..broker.environment import NodeSpec
from ..broker.node import Node, NodeOptions
from ..errors import KafkaPersistenceError

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"


class ExistingContainerNode(Node):
    """A node in a container someone else created: the library stops and starts it, never removes it."""

    when_gone = "bring it back yourself (e.g. docker compose up -d), then 'Connect Kafka' again"

    def __init__(self, client: docker.DockerClient, spec: NodeSpec, container, address: str):
        super().__init__(client, spec, container, container.image.tags[0] if container.image.tags else "",
                         None, NodeOptions())
        self._address = address

    @property
    def address(self) -> str:
        return self._address

    def remove(self) -> None:
        return None  # not ours


def find_containers(client: docker.DockerClient, project: "str | None", names: "str | None") -> dict[int, object]:
    """Node id -> container, from a compose project or a list ``name,...`` / ``id:name,...``."""
    if project:
        containers = client.containers.list(all=True, filters={"label": f"{COMPOSE_PROJECT_LABEL}={project}"})
        found = {}
        for container in containers:
            node_id = _node_id(container)
            if node_id is not None:
                found[node_id] = container
        if not found:
            raise KafkaPersistenceError(
                f"No Kafka container in compose project '{project}' (none of its {len(containers)} containers has "
                f"KAFKA_NODE_ID): check the project name (docker compose ls), or name them with containers=.")
        return found
    found = {}
    for item in [part.strip() for part in (names or "").split(",") if part.strip()]:
        given_id, _, name = item.rpartition(":")
        try:
            container = client.containers.get(name)
        except NotFound:
            raise KafkaPersistenceError(f"No container named '{name}' on this Docker engine: give the names "
                                        f"'docker ps' shows, as containers=name,... or containers=1:name,...") from None
        node_id = int(given_id) if given_id.isdigit() else _node_id(container)
        if node_id is None:
            raise KafkaPersistenceError(f"Container '{name}' has no KAFKA_NODE_ID: say its node id as "
                                        f"containers=1:{name},...")
        found[node_id] = container
    if not found:
        raise KafkaPersistenceError("driver=docker needs containers=name,... (or driver=compose with project=).")
    return found


def container_nodes(client: docker.DockerClient, containers: dict[int, object],
                    broker_addresses: dict[int, str]) -> list[ExistingContainerNode]:
    """One node per container; every broker the cluster names must have one."""
    missing = sorted(set(broker_addresses) - set(containers))
    if missing:
        raise KafkaPersistenceError(
            f"Broker(s) {', '.join(map(str, missing))} of the cluster have no container among "
            f"{', '.join(c.name for c in containers.values())}: name every broker's container.")
    nodes = []
    for node_id, container in containers.items():
        roles = _env(container).get("KAFKA_PROCESS_ROLES", "broker" if node_id in broker_addresses else "controller")
        spec = NodeSpec(node_id, roles.replace(" ", ""), container.name)
        nodes.append(ExistingContainerNode(client, spec, container, broker_addresses.get(node_id, "")))
    return nodes


def is_broker(container) -> bool:
    """A broker (or combined) node by the roles its environment gives it; brokers when not said."""
    return "broker" in _env(container).get("KAFKA_PROCESS_ROLES", "broker")


def _env(container) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.attrs.get("Config", {}).get("Env") or [] if "=" in item)


def _node_id(container) -> "int | None":
    env = _env(container)
    text = env.get("KAFKA_NODE_ID") or env.get("KAFKA_BROKER_ID")
    return int(text) if text and text.strip().isdigit() else None
