"""Labels on every container we start, and the sweep that uses them.

Ryuk (testcontainers' reaper) cannot be pulled on machines without a registry,
so cleanup is ours: each container says which process on which host owns it.
A later run removes containers whose owner process is gone (a killed run),
and leaves alone those of live processes (parallel runs, e.g. pabot).
"""

import os
import socket

import docker

LABEL = "kafka-persistence-library"
LABEL_PID = f"{LABEL}.pid"
LABEL_HOST = f"{LABEL}.host"
LABEL_OWNER = f"{LABEL}.owner"
LABEL_STARTED = f"{LABEL}.pid-started"


def labels_for(owner: str) -> dict[str, str]:
    """Labels naming this process as the owner; ``owner`` is e.g. the suite name."""
    return {
        LABEL: "true",
        LABEL_PID: str(os.getpid()),
        LABEL_STARTED: _process_start(os.getpid()),
        LABEL_HOST: socket.gethostname(),
        LABEL_OWNER: owner[:200],
    }


def sweep_orphans(client: docker.DockerClient) -> list[str]:
    """Remove our containers whose owning process on this host has died; return their names."""
    removed = []
    host = socket.gethostname()
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        labels = container.labels
        if labels.get(LABEL_HOST) != host or _alive(labels.get(LABEL_PID, ""), labels.get(LABEL_STARTED, "")):
            continue
        try:
            container.remove(force=True, v=True)
            removed.append(container.name)
        except docker.errors.NotFound:
            pass  # another run swept it first
    return removed


def _alive(pid_text: str, started: str) -> bool:
    """True when that process still runs: same pid *and* same start time (pids get reused)."""
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return _process_start(pid) == started != ""


def _process_start(pid: int) -> str:
    """The process start time in clock ticks since boot (field 22 of /proc/PID/stat), or ''."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return ""
