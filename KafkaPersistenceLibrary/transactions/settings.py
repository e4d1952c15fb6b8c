"""What a transactional producer and the per-transaction verdict are asked for, checked before anything connects (pure)."""

import enum
from dataclasses import dataclass

from ..choices import by_value
from ..clients.delivery import Acks
from ..errors import KafkaPersistenceError

DEFAULT_PER_TRANSACTION = 100


class Isolation(enum.Enum):
    """Kafka's ``isolation.level`` for the verdict's reader."""

    READ_COMMITTED = "read_committed"
    """Only committed transactions (and records sent outside transactions): what an exactly-once consumer sees."""
    READ_UNCOMMITTED = "read_uncommitted"
    """Every record written, aborted transactions included: Kafka's default for consumers."""


@dataclass(frozen=True)
class TransactionSettings:
    per_transaction: int
    abort: float


def transaction_settings(transactional: bool, per_transaction: "int | None", abort: "float | None",
                         acks: Acks, idempotent: "bool | None") -> "TransactionSettings | None":
    """The settings of a transactional producer; None for a plain one. One line for what cannot work."""
    if not transactional:
        if per_transaction is not None or abort is not None:
            raise KafkaPersistenceError("per_transaction= and abort= need transactional=True: "
                                        "add it, or drop them.")
        return None
    if acks is not Acks.ALL or idempotent is False:
        given = f"acks={acks.text}" if acks is not Acks.ALL else "idempotent=False"
        raise KafkaPersistenceError(f"A transactional producer needs acks=all and idempotence, not {given}: "
                                    f"Kafka refuses transactions without both. Drop {given.split('=')[0]}=.")
    per_transaction = DEFAULT_PER_TRANSACTION if per_transaction is None else per_transaction
    if per_transaction < 1:
        raise KafkaPersistenceError(f"Invalid per_transaction {per_transaction}: a transaction holds at least "
                                    f"1 record.")
    abort = 0.0 if abort is None else abort
    if not 0 <= abort <= 1:
        raise KafkaPersistenceError(f"Invalid abort {abort:g}: give the share of transactions to abort on "
                                    f"purpose, from 0 (none) to 1 (all).")
    return TransactionSettings(per_transaction, float(abort))


def isolation_for(value: "Isolation | str | None", transactional: bool) -> Isolation:
    """The verdict reader's isolation: read_committed by default for a transactional history."""
    if value is None:
        return Isolation.READ_COMMITTED if transactional else Isolation.READ_UNCOMMITTED
    return by_value(Isolation, value, "Invalid isolation")
