"""Errors a tester reads: one line that says what was wrong and what to do.

``ROBOT_SUPPRESS_NAME`` keeps Robot from prefixing the class name, so the
message is exactly the sentence we wrote.
"""


class KafkaPersistenceError(RuntimeError):
    """A user mistake or an environment problem (no engine, no image, bad input)."""

    ROBOT_SUPPRESS_NAME = True


class VerificationFailed(AssertionError):
    """Kafka did not hold what the test expected: the verdict is *fail*.

    ``counts`` holds the verdict's counts (acknowledged, read, lost, ...) when a
    durability verdict failed, for callers that want the numbers, not the sentence.
    """

    ROBOT_SUPPRESS_NAME = True

    def __init__(self, message: str, counts: "dict | None" = None):
        super().__init__(message)
        self.counts = counts or {}
