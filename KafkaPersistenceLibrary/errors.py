"""Errors a tester reads: one line that says what was wrong and what to do.

``ROBOT_SUPPRESS_NAME`` keeps Robot from prefixing the class name, so the
message is exactly the sentence we wrote.
"""


class KafkaPersistenceError(RuntimeError):
    """A user mistake or an environment problem (no engine, no image, bad input)."""

    ROBOT_SUPPRESS_NAME = True


class VerificationFailed(AssertionError):
    """Kafka did not hold what the test expected: the verdict is *fail*."""

    ROBOT_SUPPRESS_NAME = True
