"""Choices a tester types as text (``kill``, ``power-loss``, ``clients``), read into Enums by their values."""

import enum

from .errors import KafkaPersistenceError


def by_value(choices: "type[enum.Enum]", value, what: str):
    """The member whose value ``value`` names (any case, ``_`` for ``-``); else one line listing the choices.

    Robot converts arguments by member name itself; this serves Python callers and
    ``Enum | str`` arguments, so both get the same message.
    """
    if isinstance(value, choices):
        return value
    text = str(value).strip().lower().replace("_", "-")
    for member in choices:
        if member.value == text:
            return member
    raise KafkaPersistenceError(f"{what} '{value}': use one of {', '.join(m.value for m in choices)}.")
