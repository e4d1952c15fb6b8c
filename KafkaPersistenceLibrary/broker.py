"""One Kafka broker (KRaft, broker + controller) in one container, restartable in place.

Why not testcontainers' ``KafkaContainer``: it only knows Confluent's start
scripts, and the port it advertises is an ephemeral one that Docker changes on
every start. Why not ``DockerContainer.stop()`` to restart: it *removes* the
container and its volumes. So we start a plain ``DockerContainer`` on a host port
we chose, and restart the very same container through its Docker handle.
"""

import base64
import dataclasses
import os
import time
import uuid

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer

from . import docker_engine
from .errors import KafkaPersistenceError
from .kafka_logging import quiet_kafka_client_logs
from .labels import labels_for, sweep_orphans
from .ports import free_loopback_port
from .readiness import NotReady, wait_until_ready

CONTAINER_PORT = 9092
RESTART_MODES = ("graceful", "kill")
PORT_ATTEMPTS = 5


def _disable_ryuk_unless_asked() -> None:
    """Ryuk is an image from a registry; our labels + sweep do its job without one."""
    if "TESTCONTAINERS_RYUK_DISABLED" not in os.environ:
        testcontainers_config.ryuk_disabled = True


def broker_environment(host_port: int, cluster_id: str, config: dict[str, str]) -> dict[str, str]:
    """KAFKA_* variables understood alike by apache/kafka, cp-kafka 7.4+ and our image.

    ``config`` holds extra broker properties by their Kafka names
    (``log.flush.interval.messages``) and may override the defaults.
    """
    properties = {
        "node.id": "1",
        "process.roles": "broker,controller",
        "controller.quorum.voters": "1@localhost:9093",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://0.0.0.0:{CONTAINER_PORT},CONTROLLER://0.0.0.0:9093",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{host_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": "/var/lib/kafka/data",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "num.partitions": "1",
        # After a SIGKILL the controller still holds the dead broker's session and refuses
        # its re-registration until the session expires (default 9 s; measured: kill restart
        # 13.8 s -> 6.9 s). A single-node test broker has no network blips to ride out.
        "broker.session.timeout.ms": "3000",
        "broker.heartbeat.interval.ms": "500",
    }
    properties.update({str(k): str(v) for k, v in config.items()})
    env = {property_to_env(name): value for name, value in properties.items()}
    env["CLUSTER_ID"] = cluster_id
    return env


def property_to_env(name: str) -> str:
    """``log.flush.interval.messages`` -> ``KAFKA_LOG_FLUSH_INTERVAL_MESSAGES`` (the images' rule)."""
    return "KAFKA_" + name.replace("_", "__").replace("-", "___").replace(".", "_").upper()


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclasses.dataclass
class RestartReport:
    """What one restart did, for the log and for durability figures."""

    mode: str
    stop_seconds: float
    downtime_seconds: float
    recovery_seconds: float
    exit_code: int
    clean_shutdown: bool
    down_at: float  # time.monotonic() when the stop began
    up_at: float  # time.monotonic() when the broker served again


class Broker:
    """A running broker container and the fixed address clients use for it."""

    def __init__(self, container: DockerContainer, host_port: int, image: str):
        self._container = container
        self.host_port = host_port
        self.image = image
        self.started_in_seconds = 0.0
        self._last_status_check = 0.0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.host_port}"

    @property
    def name(self) -> str:
        return self._docker.name

    @property
    def _docker(self):
        return self._container.get_wrapped_container()

    @classmethod
    def start(cls, image: str, owner: str, timeout: float, config: dict[str, str]) -> "Broker":
        """Start a broker and return once a produce with acks=all is acknowledged."""
        _disable_ryuk_unless_asked()
        client = docker_engine.connect()
        sweep_orphans(client)
        _require_image(client, image)
        started = time.monotonic()
        cluster_id = new_cluster_id()
        for _ in range(PORT_ATTEMPTS):
            port = free_loopback_port()
            container = (
                DockerContainer(image)
                .with_envs(**broker_environment(port, cluster_id, config))
                .with_name(f"kafka-persistence-{uuid.uuid4().hex[:10]}")
                .with_kwargs(labels=labels_for(owner))
            )
            # testcontainers' with_bind_ports cannot name a host IP; docker-py takes (ip, port).
            container.ports[f"{CONTAINER_PORT}/tcp"] = ("127.0.0.1", port)
            try:
                container.start()
                break
            except APIError as error:
                _remove_quietly(container)
                if "port is already allocated" in str(error) or "address already in use" in str(error):
                    continue  # another process took the port between our check and Docker's bind
                raise KafkaPersistenceError(f"Docker could not start image '{image}': {error.explanation}") from None
        else:
            raise KafkaPersistenceError(f"No free loopback port after {PORT_ATTEMPTS} attempts; free some ports and retry.")
        broker = cls(container, port, image)
        try:
            broker._wait_ready(timeout, "start")
        except BaseException:
            broker.remove()  # a broker that never served is of no use to anyone: leave nothing behind
            raise
        broker.started_in_seconds = time.monotonic() - started
        return broker

    def restart(self, mode: str, downtime: float, timeout: float, stop_timeout: float) -> RestartReport:
        """Stop and start this same container; its data directory stays as it was."""
        if mode not in RESTART_MODES:
            raise KafkaPersistenceError(f"Unknown restart mode '{mode}': use one of {', '.join(RESTART_MODES)}.")
        container = self._docker
        down_at = time.monotonic()
        with quiet_kafka_client_logs():
            if mode == "graceful":
                container.stop(timeout=int(max(1, stop_timeout)))  # SIGTERM, SIGKILL after stop_timeout
            else:
                container.kill(signal="SIGKILL")
            container.wait(timeout=stop_timeout + 30)
            stopped_at = time.monotonic()
            container.reload()
            exit_code = container.attrs["State"]["ExitCode"]
            if downtime:
                time.sleep(max(0.0, downtime - (time.monotonic() - stopped_at)))
            try:
                container.start()
            except APIError as error:
                raise KafkaPersistenceError(
                    f"Docker could not start broker {container.name} again on 127.0.0.1:{self.host_port}: "
                    f"{error.explanation}"
                ) from None
            started_at = time.monotonic()
            self._wait_ready(timeout, f"restart ({mode})")
        up_at = time.monotonic()
        report = RestartReport(
            mode=mode,
            stop_seconds=stopped_at - down_at,
            downtime_seconds=up_at - down_at,
            recovery_seconds=up_at - started_at,
            exit_code=exit_code,
            clean_shutdown=(mode == "graceful" and exit_code != 137),
            down_at=down_at,
            up_at=up_at,
        )
        return report

    def logs(self, tail: int | None = None) -> str:
        """The container's output, across all its restarts."""
        try:
            return self._docker.logs(tail=tail if tail else "all").decode("utf-8", "replace")
        except (NotFound, APIError) as error:
            return f"(no logs: {error})"

    def is_running(self) -> bool:
        try:
            self._docker.reload()
        except NotFound:
            return False
        return self._docker.status == "running"

    def remove(self) -> None:
        """Remove the container and its anonymous volumes; safe to call twice."""
        _remove_quietly(self._container)

    def _wait_ready(self, timeout: float, what: str) -> None:
        try:
            wait_until_ready(self.bootstrap, timeout, still_running=self._running_now)
        except NotReady as why:
            lines = self.logs(tail=60).strip().splitlines()
            cause = next((line.strip() for line in lines if "Exception" in line or " ERROR " in line), "")
            tail = " | ".join(lines[-10:])
            raise KafkaPersistenceError(
                f"Kafka broker {self.name} ({self.image}) did not serve clients after {what}: {why}. "
                + (f"Broker says: {cause[:500]}. " if cause else "")
                + f"Last log lines: {tail[-1200:]}"
            ) from None

    def _running_now(self) -> bool:
        now = time.monotonic()
        if now - self._last_status_check < 0.5:
            return True
        self._last_status_check = now
        return self.is_running()


def _require_image(client: docker.DockerClient, image: str) -> None:
    try:
        client.images.get(image)
    except ImageNotFound:
        raise KafkaPersistenceError(
            f"Image '{image}' is not on this Docker engine: build it with "
            f"'python -m KafkaPersistenceLibrary.image build' (or run './run.sh true'), "
            f"or name another with the library's image= argument or KAFKA_PERSISTENCE_IMAGE."
        ) from None


def _remove_quietly(container: DockerContainer) -> None:
    try:
        wrapped = container.get_wrapped_container()
        if wrapped is not None:
            wrapped.remove(force=True, v=True)
    except (NotFound, APIError):
        pass
