"""What a producer is promised: ``acks`` and idempotence, chosen by the test (pure)."""

import enum

from ..choices import by_value
from ..errors import KafkaPersistenceError


class Acks(enum.IntEnum):
    """How many replicas must have a record before the producer calls it acknowledged.

    Robot converts ``all``, ``1``, ``0`` (and ``-1``, ``leader``, ``none``).
    """

    ALL = -1
    """Every replica in the in-sync set (and at least ``min.insync.replicas``)."""
    LEADER = 1
    """The partition leader alone: lost when the leader dies before followers copied it."""
    NONE = 0
    """Nobody: the producer does not wait, so nothing is ever acknowledged."""

    @classmethod
    def parse(cls, value: "Acks | int | str") -> "Acks":
        """The member for ``value`` (for Python callers; Robot converts by itself)."""
        return by_value(cls, value, "Invalid acks")

    @property
    def kafka_python(self) -> "str | int":
        return "all" if self is Acks.ALL else int(self)

    @property
    def text(self) -> str:
        """As a tester writes it (``all``, ``1``, ``0``): in messages and in the list of choices."""
        return "all" if self is Acks.ALL else str(int(self))

    spelling = text


def idempotence(acks: Acks, idempotent: "bool | None") -> bool:
    """Idempotence is on by default with acks=all (as in Kafka's clients) and impossible without it."""
    if idempotent is None:
        return acks is Acks.ALL
    if idempotent and acks is not Acks.ALL:
        raise KafkaPersistenceError(
            f"An idempotent producer needs acks=all, not acks={acks.text}: drop idempotent=True, or use acks=all.")
    return bool(idempotent)
