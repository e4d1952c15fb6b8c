"""Robot Framework keywords that prove Kafka keeps acknowledged messages across broker restarts."""

from .errors import KafkaPersistenceError, VerificationFailed
from .library import KafkaPersistenceLibrary

__all__ = ["KafkaPersistenceLibrary", "KafkaPersistenceError", "VerificationFailed"]
