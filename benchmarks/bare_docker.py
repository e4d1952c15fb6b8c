"""The "bare docker" floor: one broker container of the library's image and environment,
started, restarted and killed with plain Docker API calls, and a raw producer until an ack.

What the library does on top of this floor (a private network, its own container names,
readiness checks, sweeping dead runs' containers) is what the benchmark's ratio measures.
The container gets exactly the library's single-node environment
(``single_node_environment()``: the same ``KAFKA_*`` variables, ``KAFKA_JVM_PERFORMANCE_OPTS``
included) and the host name that environment names (its controller voter and inter-broker
address), on Docker's default bridge network, its client port published on 127.0.0.1 only.
Docker calls go through docker-py (the engine's API, as the library's do), not the ``docker``
CLI, whose own start-up would be counted against the floor.

Python API::

    with BareDockerBroker(image, config=None, power_loss=False) as broker:
        broker.start()             -> {"seconds", "docker_seconds", "probe_attempts"}
        broker.restart("graceful") -> {"seconds", "docker_seconds", "probe_attempts"}   # or "kill"
        broker.memory_bytes()      -> what `docker stats` shows as its memory use now
    container_memory_bytes(container)   # the same figure for any container

Every container carries the library's owner labels (a killed run's leftovers are swept by
the next ``Start Kafka``) and is removed by ``close()``/``__exit__``, also on Ctrl-C.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _path in (str(HERE.parent), str(HERE)):  # run as a script or imported: this checkout's library
    if _path not in sys.path:
        sys.path.insert(0, _path)

from bare_java import PROBE_TOPIC, RawProducer, free_port  # noqa: E402
from docker.errors import APIError, NotFound  # noqa: E402

from KafkaPersistenceLibrary.broker import engine  # noqa: E402
from KafkaPersistenceLibrary.broker.environment import CLIENT_PORT, new_cluster_id, single_node_environment  # noqa: E402
from KafkaPersistenceLibrary.broker.labels import labels_for  # noqa: E402

STOP_TIMEOUT = 60  # seconds a graceful stop gets before Docker sends SIGKILL (the library's default)
ALIVE_CHECK_SECONDS = 1.0
# What the library adds for power_loss=True (broker.node.Node.create).
POWER_LOSS_OPTIONS = dict(user="root", devices=["/dev/fuse:/dev/fuse:rwm"], cap_add=["NET_ADMIN", "SYS_ADMIN"])


def container_memory_bytes(container) -> int:
    """Memory use as ``docker stats`` shows it: the cgroup's usage minus its inactive file cache."""
    stats = container.stats(stream=False, one_shot=True).get("memory_stats") or {}
    usage = int(stats.get("usage") or 0)
    detail = stats.get("stats") or {}
    inactive = detail.get("inactive_file", detail.get("total_inactive_file", 0))  # cgroup v2, v1
    return max(0, usage - int(inactive or 0))


class BareDockerBroker:
    """One combined broker+controller container; restartable in place; removed by close()."""

    def __init__(self, image: str, config: dict | None = None, *, power_loss: bool = False,
                 owner: str = "benchmarks/bare_docker.py", ready_timeout: float = 180.0):
        self.image = image
        self.config = dict(config or {})
        self.power_loss = power_loss
        self.owner = owner
        self.ready_timeout = ready_timeout
        self.name = f"kpl-bench-docker-{uuid.uuid4().hex[:8]}"
        self.port = 0
        self._client = None
        self._container = None

    def __enter__(self) -> "BareDockerBroker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def container(self):
        return self._container

    def _options(self) -> dict:
        """Everything `docker run` gets; the host name is the one the environment names."""
        self.port = free_port()
        environment = single_node_environment(self.port, new_cluster_id(), self.config, hostname=self.name)
        options = dict(name=self.name, hostname=self.name, environment=environment, detach=True,
                       labels=labels_for(self.owner), ports={f"{CLIENT_PORT}/tcp": ("127.0.0.1", self.port)})
        if self.power_loss:
            options["environment"] = {**environment, "KPL_POWER_LOSS": "1"}
            options.update(POWER_LOSS_OPTIONS)
        return options

    # -- the timed operations --
    def start(self) -> dict:
        """`docker run` (create + start) -> first ack. Connecting to the engine is not timed."""
        if self._client is None:
            self._client = engine.connect()
        options = self._options()
        t0 = time.monotonic()
        try:
            self._container = self._client.containers.run(self.image, **options)
        except BaseException:
            self._remove_by_name()  # a Ctrl-C between create and start must not leave it behind
            raise
        t_docker = time.monotonic()
        attempts = self._first_ack()
        return {"seconds": time.monotonic() - t0, "docker_seconds": t_docker - t0, "probe_attempts": attempts}

    def restart(self, mode: str) -> dict:
        """``graceful``: `docker restart` (SIGTERM, SIGKILL after 60 s, start); ``kill``:
        `docker kill` + wait for the exit + `docker start`; then -> first ack."""
        t0 = time.monotonic()
        if mode == "graceful":
            self._container.restart(timeout=STOP_TIMEOUT)
        elif mode == "kill":
            self._container.kill()
            self._container.wait(timeout=STOP_TIMEOUT)
            self._container.start()
        else:
            raise ValueError(f"unknown restart mode {mode!r}: use graceful or kill")
        t_docker = time.monotonic()
        attempts = self._first_ack()
        return {"seconds": time.monotonic() - t0, "docker_seconds": t_docker - t0, "probe_attempts": attempts}

    def _first_ack(self) -> int:
        producer = RawProducer(self.bootstrap)
        try:
            return producer.first_ack(PROBE_TOPIC, self.ready_timeout, self._still_running())
        finally:
            producer.close()

    def _still_running(self):
        """A check for the probe that asks Docker at most once a second."""
        last = {"at": 0.0, "running": True}

        def still_running() -> bool:
            if time.monotonic() - last["at"] >= ALIVE_CHECK_SECONDS:
                self._container.reload()
                last.update(at=time.monotonic(), running=self._container.status == "running")
            return last["running"]
        return still_running

    def memory_bytes(self) -> int:
        return container_memory_bytes(self._container)

    def logs(self, tail: int = 40) -> str:
        return self._container.logs(tail=tail).decode("utf-8", "replace") if self._container else ""

    def close(self) -> None:
        """Remove the container and its volumes; safe to call twice."""
        if self._client is None:
            return
        self._remove_by_name()
        self._container = None
        self._client.close()
        self._client = None

    def _remove_by_name(self) -> None:
        try:
            self._client.api.remove_container(self.name, force=True, v=True)
        except (NotFound, APIError):
            pass
