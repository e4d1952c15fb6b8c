"""Find the Docker engine, or say in one line why there is none.

The library never installs or starts an engine itself (that is the set-up
script's job, see README); it only checks, quickly, that one answers.
"""

import os

import docker
from docker.errors import DockerException

from .errors import KafkaPersistenceError

PING_TIMEOUT_SECONDS = 5


def connect() -> docker.DockerClient:
    """Return a client for the engine at DOCKER_HOST or the default socket."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=PING_TIMEOUT_SECONDS)
        client.ping()
    except (DockerException, OSError) as error:
        raise KafkaPersistenceError(
            f"No Docker engine answers at {where}: start one (on Debian as root: "
            f"'./run.sh true' installs docker.io and starts dockerd) or set DOCKER_HOST. "
            f"Cause: {_first_line(error)}"
        ) from None
    client.api.timeout = 120  # ping fast, but let stop/start of a broker take their time
    return client


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]
