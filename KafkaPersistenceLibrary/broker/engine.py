"""Find the Docker engine, or say in one line why there is none.

The library never installs or starts an engine itself (that is the set-up
script's job, see README); it only checks, quickly, that one answers. Every
Docker call of the library at run time goes through the client returned here
(docker-py); the ``docker`` CLI is used only by the image build.
"""

import os

import docker
from docker.errors import DockerException

from ..errors import KafkaPersistenceError

PING_TIMEOUT_SECONDS = 5
# Stopping a broker gracefully may take the library's stop_timeout; the API call must outlast it.
API_TIMEOUT_SECONDS = 180


def connect() -> docker.DockerClient:
    """Return a client for the engine at DOCKER_HOST or the default socket."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    client = None
    try:
        if where.startswith("unix://") and not os.path.exists(where[len("unix://"):]):
            # Said before docker-py tries: its failed version check leaves an unclosed socket behind.
            raise FileNotFoundError(f"no socket at {where[len('unix://'):]}")
        client = docker.from_env(timeout=PING_TIMEOUT_SECONDS)
        client.ping()
    except (DockerException, OSError) as error:
        if client is not None:
            client.close()
        cause = first_line(error)
        if "Permission denied" in cause or "PermissionError" in cause:
            raise KafkaPersistenceError(
                f"No permission to use the Docker engine at {where}: add this user to the 'docker' group "
                f"(then log in again), run as root, or set DOCKER_HOST to an engine you may use. Cause: {cause}"
            ) from None
        raise KafkaPersistenceError(
            f"No Docker engine answers at {where}: start one (on Debian as root: "
            f"'./run.sh true' installs docker.io and starts dockerd) or set DOCKER_HOST. Cause: {cause}"
        ) from None
    client.api.timeout = API_TIMEOUT_SECONDS  # ping fast, but let stop/start of a broker take their time
    return client


def first_line(error: BaseException) -> str:
    """The first line of an error's text, short enough for a one-line message."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]
