"""Records as a test sees them, and the conversions between Robot values and Kafka bytes (pure)."""

import dataclasses
import re

from ..errors import KafkaPersistenceError
from ..text import shown

_LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_TOPIC_LENGTH = 249


@dataclasses.dataclass(frozen=True)
class Record:
    """One record as read back: where it is stored and what it holds."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int

    @property
    def value_text(self) -> "str | bytes | None":
        """The value as text when it is UTF-8, else the raw bytes (None for a tombstone)."""
        return as_text(self.value)

    @property
    def key_text(self) -> "str | bytes | None":
        return as_text(self.key)

    def describe(self) -> str:
        return f"{shown(self.value_text)} at partition {self.partition} offset {self.offset}"


def validate_topic(name: str) -> None:
    """Apply Kafka's own topic-name rules before any network call."""
    if not isinstance(name, str) or not name:
        raise KafkaPersistenceError("Topic name is empty: give a name like 'orders'.")
    if name in (".", "..") or len(name) > MAX_TOPIC_LENGTH or not _LEGAL_TOPIC.match(name):
        raise KafkaPersistenceError(
            f"Invalid topic name '{name}': use 1-{MAX_TOPIC_LENGTH} characters of a-z, A-Z, 0-9, '.', '_' and '-' "
            f"(not '.' or '..')."
        )


def to_bytes(value: "str | bytes | bytearray | None") -> bytes | None:
    """Text is sent as UTF-8; bytes as they are; None stays None (a null value: a tombstone)."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    return str(value).encode("utf-8")


def to_headers(headers: "dict | None") -> list[tuple[str, bytes]]:
    if not headers:
        return []
    if not isinstance(headers, dict):
        raise KafkaPersistenceError(f"Headers must be a dictionary like &{{headers}}, got {type(headers).__name__}.")
    return [(str(name), to_bytes(value) or b"") for name, value in headers.items()]


def as_text(data: bytes | None) -> "str | bytes | None":
    """UTF-8 text when the bytes are text, else the bytes themselves (None stays None)."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data
