"""Choices a tester types as text (``kill``, ``power-loss``, ``sasl_ssl``, ``all``): the one place they are read.

Every choice argument goes through `by_value`, so each accepts the same spellings
(any case, ``-`` or ``_``) and refuses in the same shape:
``Invalid <what> '<value>': use one of a, b, c.``
"""

import enum
from collections.abc import Iterable

from .errors import KafkaPersistenceError


def fold(text) -> str:
    """The spelling choices are compared in: ``Power_Loss``, ``power-loss`` and ``POWER-LOSS`` are one."""
    return str(text).strip().lower().replace("_", "-")


def spelling(member) -> str:
    """How a choice is written in messages: a member's ``spelling`` if it has one (Acks: ``all``), else its value."""
    return str(getattr(member, "spelling", member.value if isinstance(member, enum.Enum) else member))


def by_value(choices: "type[enum.Enum] | Iterable[str]", value, what: str):
    """The choice ``value`` names; else one line: ``<what> '<value>': use one of ...``.

    ``choices`` is an Enum (a member matches by its spelling, value or name:
    Acks takes ``all``, ``-1`` and ``ALL``) or the spellings themselves (returns
    the one as listed). ``what`` starts the message (``Invalid acks``). Robot
    converts Enum arguments by name itself; this serves Python callers and
    ``Enum | str`` arguments, so both get the same message.
    """
    if isinstance(choices, type) and isinstance(value, choices):
        return value
    text = fold(value)
    members = list(choices)
    for member in members:
        names = (spelling(member), member.value, member.name) if isinstance(member, enum.Enum) else (member,)
        if text in (fold(name) for name in names):
            return member
    raise KafkaPersistenceError(f"{what} '{value}': use one of {', '.join(spelling(m) for m in members)}.")

