"""One Kafka node in one container: created under a name we chose, stopped and started in place.

Why not testcontainers' ``KafkaContainer``: it only knows Confluent's start
scripts, and the port it advertises is an ephemeral one that Docker changes on
every start. Why not ``DockerContainer.stop()`` to restart: it *removes* the
container and its data. So a node is a plain container, created by name through
docker-py (a Ctrl-C between "created" and "started" still leaves us its name to
remove), published on a host port we chose, and restarted as the very same container.
"""

import contextlib
import dataclasses
import enum
import io
import os
import tarfile
import tempfile
import time

import docker
from docker.errors import APIError, NotFound
from requests.exceptions import RequestException

from ..choices import by_value
from ..errors import KafkaPersistenceError
from .engine import first_line
from .environment import CLIENT_PORT, NodeSpec

JAVA_PID_FILE = "/run/kafka-broker.pid"  # written by the image's entrypoint in power-loss mode
METADATA_DIR = "/var/lib/kafka/metadata"  # with disk=: KRaft's metadata log, on the container's own disk
DATA_ROOT = "/var/lib/kafka"  # every directory of a node's data: data, backing (power loss), metadata (disk=)
STOP_WAIT_MARGIN_SECONDS = 30
FREEZE_ATTEMPTS = 5
FREEZE_RETRY_SECONDS = 0.5


class StopMode(enum.Enum):
    """How a node goes down. Robot converts ``graceful``, ``kill``, ``power-loss`` (any case)."""

    GRACEFUL = "graceful"
    """SIGTERM: Kafka shuts down in a controlled way (SIGKILL after the library's ``stop_timeout``)."""
    KILL = "kill"
    """SIGKILL of the broker process: a crash. The host's page cache keeps every write it made."""
    POWER_LOSS = "power-loss"
    """The node stops at once and every write it had not fsynced is gone (``Start Kafka power_loss=True``)."""

    @classmethod
    def parse(cls, value: "StopMode | str") -> "StopMode":
        """The member for ``value`` (for Python callers; Robot converts by itself)."""
        return by_value(cls, value, "Invalid restart mode")


class NodeState(enum.StrEnum):
    """What the library last did to a node, and so what it expects Docker (or the driver) to show."""

    RUNNING = "running"
    STOPPED = "stopped"
    PAUSED = "paused"

    @property
    def undo(self) -> str:
        """The keyword that brings a node in this state back."""
        return {NodeState.STOPPED: "'Start Broker' starts it", NodeState.PAUSED: "'Resume Broker' resumes it",
                NodeState.RUNNING: "it is running"}[self]


class PortTaken(Exception):
    """Docker could not publish the node's host port: another process holds it."""


@dataclasses.dataclass(frozen=True)
class ContainerState:
    """What Docker says about a node's container right now."""

    status: str  # created | running | paused | restarting | exited | dead | removed
    exit_code: int = 0
    oom_killed: bool = False

    @property
    def running(self) -> bool:
        return self.status == "running"

    def describe(self) -> str:
        if self.status == "removed":
            return "was removed"
        if self.status in ("exited", "dead"):
            return f"exited (exit code {self.exit_code}{', out of memory' if self.oom_killed else ''})"
        return f"is {self.status}"


@dataclasses.dataclass(frozen=True)
class NodeOptions:
    """Container options that depend on the faults a cluster was started for."""

    power_loss: bool = False  # log directory on the image's volatile filesystem (FUSE)
    clock_skew: bool = False  # the broker's wall clock can be moved (libfaketime, our image only)
    disk: str = ""  # "faulty" or "lying": volatilefs as the disk fault layer (faults/kinds/disk.py)

    @property
    def volatile(self) -> bool:
        """The log directory is on volatilefs: a power cut loses what was not fsynced."""
        return self.power_loss or bool(self.disk)


class Node:
    """One node's container and the fixed address clients use for it (brokers only)."""

    when_gone = "'Start Kafka' starts a new one"  # what to do when the container died or went

    def __init__(self, client: docker.DockerClient, spec: NodeSpec, container, image: str,
                 client_port: int | None, options: NodeOptions):
        self._client = client
        self.spec = spec
        self._container = container
        self.image = image
        self.client_port = client_port
        self.options = options
        self.expected = NodeState.RUNNING  # what the library last did to it
        self.cut = False  # Isolate Broker's rules in its namespace, until Heal Network
        self.created_with: tuple = ()  # (environment, network, labels) of create(), for recreate()

    @property
    def node_id(self) -> int:
        return self.spec.node_id

    @property
    def name(self) -> str:
        return self._container.name

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.client_port}" if self.client_port else ""

    @classmethod
    def create(cls, client: docker.DockerClient, image: str, spec: NodeSpec, environment: dict[str, str],
               network: str, labels: dict[str, str], client_port: int | None, options: NodeOptions) -> "Node":
        """Create (not start) the container; on any failure, even Ctrl-C, nothing is left by that name."""
        kwargs = dict(
            name=spec.hostname, hostname=spec.hostname, environment=environment, labels=labels,
            network=network, detach=True, cap_add=["NET_ADMIN"],  # iptables in its own namespace
        )
        if client_port:
            kwargs["ports"] = {f"{CLIENT_PORT}/tcp": ("127.0.0.1", client_port)}
        if options.clock_skew:
            kwargs["environment"] = {**kwargs["environment"], "KPL_CLOCK_SKEW": "1"}
        if options.disk:  # the KRaft metadata log off the faulty disk: see faults/kinds/disk.py
            kwargs["environment"] = {**kwargs["environment"], "KPL_DISK": options.disk,
                                     "KAFKA_METADATA_LOG_DIR": METADATA_DIR}
        if options.volatile:
            kwargs["environment"] = {**kwargs["environment"], "KPL_POWER_LOSS": "1"}
            kwargs.update(user="root", devices=["/dev/fuse:/dev/fuse:rwm"], cap_add=["NET_ADMIN", "SYS_ADMIN"])
        try:
            container = client.containers.create(image, **kwargs)
        except APIError as error:
            remove_by_name(client, spec.hostname)
            raise KafkaPersistenceError(_cannot_create(spec.hostname, image, error)) from None
        except BaseException:
            remove_by_name(client, spec.hostname)
            raise
        node = cls(client, spec, container, image, client_port, options)
        node.created_with = (environment, network, labels)  # what recreate() needs to make it again
        return node

    def recreate(self, image: str) -> "Node":
        """This stopped node made anew from ``image`` (a rolling upgrade): same name, host name, port,
        environment and labels, not started yet. This container is renamed aside first (``<name>-replaced``);
        the caller copies the data over, then removes it, or gives the name back with :meth:`restore_name`."""
        self._container.rename(f"{self.name}-replaced")
        self._container.reload()
        environment, network, labels = self.created_with
        return Node.create(self._client, image, self.spec, environment, network, labels, self.client_port,
                           self.options)

    def restore_name(self) -> None:
        """Undo :meth:`recreate`'s rename (the new container must be gone)."""
        self._container.rename(self.spec.hostname)
        self._container.reload()

    def copy_data_to(self, other: "Node") -> int:
        """Copy ``/var/lib/kafka`` (log and metadata directories, volatilefs's backing directory) of this stopped
        container into ``other``, owners and modes kept; return the bytes copied. Spooled through an unlinked
        temporary file: nothing is left behind, however the process ends."""
        stream, _ = self._container.get_archive(DATA_ROOT)
        with tempfile.TemporaryFile() as spool:
            for chunk in stream:
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            if not other._container.put_archive(os.path.dirname(DATA_ROOT), spool):
                raise KafkaPersistenceError(f"Docker could not copy the data of {self.name} into {other.name}.")
        return size

    def start(self) -> None:
        """Start the container; PortTaken when its host port is held by someone else."""
        try:
            with self._gone_is_one_line("start", dead_is_gone=False):
                self._container.start()
        except APIError as error:
            text = str(error)
            if "port is already allocated" in text or "address already in use" in text:
                raise PortTaken(first_line(error)) from None
            raise KafkaPersistenceError(
                f"Docker could not start {self.name} ({self.image}): {error.explanation or first_line(error)}"
            ) from None
        self.expected = NodeState.RUNNING

    def stop(self, mode: StopMode, stop_timeout: float) -> int:
        """Bring the node down in ``mode`` and return the exit code once the container has stopped."""
        container = self._container
        try:
            with self._gone_is_one_line(f"stop ({mode.value})"):
                if mode is StopMode.GRACEFUL:
                    container.stop(timeout=int(max(1, stop_timeout)))  # SIGTERM, SIGKILL after stop_timeout
                elif mode is StopMode.KILL and self.options.volatile:
                    # Only the broker process dies; the entrypoint then writes the filesystem's
                    # buffered data through, as a host's page cache survives a process crash.
                    self.exec(["sh", "-c", f"kill -KILL $(cat {JAVA_PID_FILE})"])
                else:
                    container.kill(signal="SIGKILL")  # every process of the container at once
                result = container.wait(timeout=stop_timeout + STOP_WAIT_MARGIN_SECONDS)
        except RequestException:
            raise KafkaPersistenceError(
                f"{self.name} did not stop within {stop_timeout + STOP_WAIT_MARGIN_SECONDS:g} s after {mode.value}."
            ) from None
        self.expected = NodeState.STOPPED
        return int(result.get("StatusCode", -1))

    def pause(self) -> None:
        """Freeze every process (cgroup freezer), asking again while the kernel cannot freeze them yet."""
        for attempt in range(1, FREEZE_ATTEMPTS + 1):
            try:
                with self._gone_is_one_line("pause"):
                    self._container.pause()
                break
            except APIError as error:
                # Seen under load (CI with other clusters beside it): "OCI runtime pause failed: unable to
                # freeze"; runc thaws the container again, so another attempt starts from a running one.
                if "unable to freeze" not in str(error):
                    raise
                if attempt == FREEZE_ATTEMPTS:
                    raise KafkaPersistenceError(
                        f"Docker could not freeze {self.name} (node {self.node_id}) in {FREEZE_ATTEMPTS} attempts: "
                        f"{first_line(error)}; the machine may be too loaded to pause it now.") from None
                time.sleep(FREEZE_RETRY_SECONDS)
        self.expected = NodeState.PAUSED

    def unpause(self) -> None:
        with self._gone_is_one_line("resume"):
            self._container.unpause()
        self.expected = NodeState.RUNNING

    @contextlib.contextmanager
    def _gone_is_one_line(self, action: str, dead_is_gone: bool = True):
        """A container removed (or, but for a start, dead) behind our back is named in one line, not a 404/409."""
        try:
            yield
        except (NotFound, APIError) as error:
            state = self.state()
            if isinstance(error, NotFound) or state.status == "removed" or (
                    dead_is_gone and state.status in ("exited", "dead")):
                raise KafkaPersistenceError(
                    f"Could not {action} {self.name} (node {self.node_id}): the container {state.describe()}: "
                    f"{self.when_gone}.") from None
            raise

    def state(self) -> ContainerState:
        """Docker's view now (one inspect call)."""
        try:
            self._container.reload()
        except NotFound:
            return ContainerState("removed")
        state = self._container.attrs.get("State", {})
        return ContainerState(state.get("Status", "unknown"), int(state.get("ExitCode", 0) or 0),
                              bool(state.get("OOMKilled")))

    def ip_address(self, network: str) -> str:
        """The node's address on the cluster's private network."""
        self._container.reload()
        return self._container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]

    def exec(self, command: list[str]) -> tuple[int, str]:
        """Run a command in the node as root; return (exit code, output)."""
        result = self._container.exec_run(command, user="root", demux=False)
        return result.exit_code, (result.output or b"").decode("utf-8", "replace")

    def write_file(self, path: str, text: str) -> None:
        """Write a small file into the container, running or not (Docker's archive upload)."""
        data = text.encode()
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            info = tarfile.TarInfo(os.path.basename(path))
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        with self._gone_is_one_line("write to", dead_is_gone=False):
            self._container.put_archive(os.path.dirname(path), archive.getvalue())

    def logs(self, tail: int | None = None, since: float | None = None) -> str:
        """The container's output, across all its restarts."""
        try:
            options = {"tail": tail if tail else "all"}
            if since is not None:
                options["since"] = int(since)
            return self._container.logs(**options).decode("utf-8", "replace")
        except (NotFound, APIError) as error:
            return f"(no logs: {first_line(error)})"

    def remove(self) -> "str | None":
        """Remove the container and its data; None when done or already gone, else why not."""
        try:
            self._container.remove(force=True, v=True)
        except NotFound:
            pass
        except (APIError, RequestException) as error:
            return f"could not remove {self.name}: {first_line(error)}"
        return None


def _cannot_create(name: str, image: str, error: APIError) -> str:
    """What the engine refused, and what to do about it."""
    text = str(error.explanation or error)
    if "/dev/fuse" in text:
        return (f"power_loss=True needs /dev/fuse on the Docker host, and this engine has none ({text[:160]}): "
                f"load the kernel's fuse module (modprobe fuse), or start Kafka without power_loss.")
    return f"Docker could not create {name} from {image}: {first_line(error)}"


def remove_by_name(client: docker.DockerClient, name: str) -> None:
    """Best effort, for a container whose creation was interrupted."""
    try:
        client.api.remove_container(name, force=True, v=True)
    except (NotFound, APIError, RequestException):
        pass

