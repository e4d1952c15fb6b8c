"""Which Kafka releases the image build takes, and what each one needs.

Any ``org.apache.kafka:kafka_2.13`` release from 3.7 on: KRaft clusters and the
``kafka.docker.KafkaDockerWrapper`` our entrypoint relies on both exist from 3.7.
The logging backend follows the release: 3.x logs through log4j 1 (reload4j, read
from ``log4j.properties``), 4.x through log4j2 (``log4j2.yaml``).
"""

import re

from ..versions import KAFKA_VERSION, LOG4J_VERSION, RELOAD4J_VERSION, SLF4J_VERSION
from .tools import ImageError

IMAGE_REPOSITORY = "kafka-persistence-library/kafka"
MINIMUM = (3, 7, 0)
VERSION_ENV = "KAFKA_PERSISTENCE_VERSION"
_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def parse_version(version) -> tuple[int, int, int]:
    """``"3.9.1"`` -> ``(3, 9, 1)``; a string that is no Kafka release, or one before 3.7, is one line."""
    text = str(version).strip()
    match = _RELEASE.match(text)
    if not match:
        raise ImageError(f"Invalid Kafka version '{version}': use a release number such as "
                         f"{KAFKA_VERSION} or 3.9.1 (major.minor.patch, as on Maven Central)", exit_code=2)
    numbers = tuple(int(part) for part in match.groups())
    if numbers < MINIMUM:
        raise ImageError(f"Kafka {text} is older than 3.7: the image needs KRaft and the Docker "
                         f"wrapper Kafka ships from 3.7 on; use 3.7.0 or newer", exit_code=2)
    return numbers


def check_version(version) -> str:
    """The version as a canonical string, or ImageError."""
    return ".".join(str(part) for part in parse_version(version))


def image_name(version: str) -> str:
    """The image of one version: the name carries it."""
    return f"{IMAGE_REPOSITORY}:{version}"


def logging_backend(version: str) -> str:
    """``reload4j`` (log4j 1, Kafka 3.x) or ``log4j2`` (Kafka 4.x)."""
    return "reload4j" if parse_version(version) < (4, 0, 0) else "log4j2"


def maven_properties(version: str) -> dict[str, str]:
    """The ``-D`` properties of files/pom.xml for one release (its profile picks the backend)."""
    properties = {"kafka.version": version, "logging": logging_backend(version)}
    if properties["logging"] == "log4j2":
        properties["log4j.version"] = LOG4J_VERSION
    else:
        properties.update({"reload4j.version": RELOAD4J_VERSION, "slf4j.version": SLF4J_VERSION})
    return properties
