"""What a node says of itself over the wire: the feature levels it supports and the finalized ones (KIP-584).

Kafka has no request that answers a broker's software version. Its ApiVersions
response does carry, per node, the range of each feature the node's software
supports; the highest ``metadata.version`` level it supports names its release
(4.1.1 supports up to level 27, "4.1-IV1"). So a node's version here is what the
node itself answers, never our bookkeeping; patch releases of one line (4.1.0,
4.1.1) answer alike and cannot be told apart this way.

Asked on the private network, on a listener that is always plaintext (a broker's
INTERNAL one, a controller's CONTROLLER one), so secured clusters answer too.
"""

import dataclasses
import socket
import struct

from kafka.protocol.metadata.api_versions import ApiVersionsRequest, ApiVersionsResponse

from ..errors import KafkaPersistenceError

METADATA_VERSION = "metadata.version"
# Raising kraft.version turns a static quorum (controller.quorum.voters) into a dynamic one (KIP-853):
# a change of how the quorum is configured, not a step of Kafka's upgrade notes. Finalize leaves it.
NOT_FINALIZED = ("kraft.version",)
UNSUPPORTED_VERSION = 35  # the error a node answers to an ApiVersions version it does not know
# The newest metadata.version level of each release line, as each release's StorageTool prints it
# (`version-mapping --release-version X`, printed by 4.1.1's and 4.4.0's images here). Older levels of a line
# belong to it too (4.1 has 26 and 27).
RELEASE_LEVELS = {"3.3": 7, "3.4": 8, "3.5": 11, "3.6": 14, "3.7": 19, "3.8": 20, "3.9": 21, "4.0": 25, "4.1": 27,
                  "4.2": 29, "4.3": 30, "4.4": 33}


@dataclasses.dataclass(frozen=True)
class NodeFeatures:
    """One node's answer: feature -> (min, max) it supports, feature -> finalized level, and their epoch."""

    supported: dict
    finalized: dict
    epoch: int

    @property
    def highest_metadata_version(self) -> int:
        return self.supported.get(METADATA_VERSION, (0, 0))[1]

    @property
    def metadata_version(self) -> int:
        """The finalized metadata.version this node applies (0: none reported)."""
        return self.finalized.get(METADATA_VERSION, 0)

    @property
    def release(self) -> str:
        """The release line the node's software is ("4.1"), from the highest metadata.version it supports."""
        return release_of(self.highest_metadata_version)


def release_of(level: int, known: "dict[str, int] | None" = None) -> str:
    """The release line whose metadata.version levels include ``level`` ("4.1" for 27); ``known`` adds lines
    learnt from newer images."""
    lines = sorted({**RELEASE_LEVELS, **(known or {})}.items(), key=lambda item: item[1])
    for line, newest in lines:
        if level <= newest:
            return line
    return f"newer than {lines[-1][0]} (metadata.version {level})"


def release_line(version: str) -> tuple[int, int]:
    """(4, 4) for "4.4.0"; the caller has checked the text is a version."""
    major, minor = str(version).split(".")[:2]
    return int(major), int(minor)


def parse_version(version) -> tuple[int, ...]:
    """(3, 9, 1) for "3.9.1", or one line when it is no Kafka version number."""
    text = str(version).strip()
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise KafkaPersistenceError(f"Invalid version '{version}': give a Kafka release as major.minor.patch, "
                                    f"e.g. 4.1.1.")
    return tuple(int(p) for p in parts)


def parse_mapping(text: str) -> dict[str, int]:
    """StorageTool's ``version-mapping`` output (``metadata.version=27 (4.1-IV1)``, ``group.version=1``) as levels."""
    levels = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and value.split(" ")[0].isdigit() and "." in name and " " not in name:
            levels[name] = int(value.split(" ")[0])
    return levels


def mapping_release(text: str) -> str:
    """The release line the mapping is for ("4.4" from ``metadata.version=NN (4.4-IV0)``), or ""."""
    for line in text.splitlines():
        if line.startswith(f"{METADATA_VERSION}=") and "(" in line:
            return line.split("(", 1)[1].split("-", 1)[0].rstrip(")")
    return ""


def node_features(host: str, port: int, timeout: float) -> NodeFeatures:
    """Ask one node (ApiVersions v4, else v3: v4 also lists features whose lowest level is 0)."""
    response = _api_versions(host, port, 4, timeout)
    if isinstance(response, int) and response == UNSUPPORTED_VERSION:
        response = _api_versions(host, port, 3, timeout)
    if isinstance(response, int):
        raise OSError(f"{host}:{port} answered ApiVersions with error {response}")
    return NodeFeatures(
        supported={f.name: (f.min_version, f.max_version) for f in response.supported_features or []},
        finalized={f.name: f.max_version_level for f in response.finalized_features or []},
        epoch=response.finalized_features_epoch if response.finalized_features_epoch is not None else -1)


def _api_versions(host: str, port: int, version: int, timeout: float):
    """One ApiVersions round trip on a fresh connection: the response, or the error code it carried."""
    request = ApiVersionsRequest(client_software_name="kafka-persistence-library", client_software_version="1")
    request.with_header(correlation_id=1, client_id="kafka-persistence-library")
    frame = request.encode(version=version, header=True, framed=True)
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(frame)
        size = struct.unpack(">i", _read(connection, 4))[0]
        body = _read(connection, size)
    error_code = struct.unpack(">h", body[4:6])[0]  # after the correlation id; a node that does not know
    if error_code:  # the version answers in v0's shape, so read nothing more
        return error_code
    return ApiVersionsResponse.decode(body, version=version, header=True)


def _read(connection: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise OSError("the node closed the connection")
        data += chunk
    return data
