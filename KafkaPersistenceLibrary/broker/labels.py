"""Labels on every container and network we create, and the sweep that uses them.

Ryuk (testcontainers' reaper) cannot be pulled on machines without a registry,
so cleanup is ours: each resource says which process on which host owns it.
A later run removes resources whose owner process is gone (a killed run),
and leaves alone those of live processes (parallel runs, e.g. pabot).

The sweep runs while other runs create and remove their own resources, and
while another run may be sweeping the same orphans: a resource that vanishes
or is already being removed is simply someone else's work, never an error.
"""

import dataclasses
import os
import socket

import docker
from docker.errors import APIError, NotFound

LABEL = "kafka-persistence-library"
LABEL_PID = f"{LABEL}.pid"
LABEL_HOST = f"{LABEL}.host"
LABEL_OWNER = f"{LABEL}.owner"
LABEL_STARTED = f"{LABEL}.pid-started"
LABEL_CLUSTER = f"{LABEL}.cluster"


def labels_for(owner: str, cluster: str = "") -> dict[str, str]:
    """Labels naming this process as the owner; ``owner`` is e.g. the suite name."""
    labels = {
        LABEL: "true",
        LABEL_PID: str(os.getpid()),
        LABEL_STARTED: process_start(os.getpid()),
        LABEL_HOST: socket.gethostname(),
        LABEL_OWNER: owner[:200],
    }
    if cluster:
        labels[LABEL_CLUSTER] = cluster
    return labels


@dataclasses.dataclass(frozen=True)
class Swept:
    """One resource a dead run left behind, removed by the sweep."""

    kind: str  # "container" or "network"
    name: str
    owner: str
    pid: str

    def describe(self) -> str:
        return f"{self.kind} {self.name} (left by '{self.owner}', pid {self.pid})"


def sweep_orphans(client: docker.DockerClient) -> list[Swept]:
    """Remove our containers, then networks, whose owning process on this host has died."""
    removed = []
    for summary in _list(client.api.containers, all=True, filters={"label": LABEL}):
        name = (summary.get("Names") or [summary["Id"][:12]])[0].lstrip("/")
        labels = summary.get("Labels") or {}
        if _orphaned(labels) and _remove(client.api.remove_container, summary["Id"], force=True, v=True):
            removed.append(Swept("container", name, labels.get(LABEL_OWNER, "?"), labels.get(LABEL_PID, "?")))
    for summary in _list(client.api.networks, filters={"label": LABEL}):
        labels = summary.get("Labels") or {}
        if _orphaned(labels) and _remove(client.api.remove_network, summary["Id"]):
            removed.append(Swept("network", summary.get("Name", summary["Id"][:12]),
                                 labels.get(LABEL_OWNER, "?"), labels.get(LABEL_PID, "?")))
    return removed


def _list(lister, **filters) -> list[dict]:
    """One listing call: summaries carry labels, so no per-resource inspect can race a removal."""
    try:
        return lister(**filters)
    except NotFound:
        return []


def _remove(remover, resource_id: str, **options) -> bool:
    """True when we removed it; False when it vanished, is being removed, or is still in use."""
    try:
        remover(resource_id, **options)
        return True
    except NotFound:
        return False  # another run swept it first
    except APIError:
        return False  # 409 "removal already in progress", or a network whose container is still going


def _orphaned(labels: dict) -> bool:
    """Ours, on this host, and the owning process is gone."""
    return labels.get(LABEL_HOST) == socket.gethostname() and not _alive(
        labels.get(LABEL_PID, ""), labels.get(LABEL_STARTED, ""))


def _alive(pid_text: str, started: str) -> bool:
    """True when that process still runs: same pid *and* same start time (pids get reused)."""
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return process_start(pid) == started != ""


def process_start(pid: int) -> str:
    """The process start time in clock ticks since boot (field 22 of /proc/PID/stat), or ''."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return ""
