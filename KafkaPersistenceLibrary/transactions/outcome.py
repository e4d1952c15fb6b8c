"""What became of a transaction, as its producer knows it."""

from enum import StrEnum


class Outcome(StrEnum):
    """A transaction's outcome: in doubt when the commit call failed or timed out (the client cannot know)."""

    COMMITTED = "committed"
    ABORTED = "aborted"
    IN_DOUBT = "in doubt"
