"""State shared by the keyword classes: the running broker, its producer, settings.

Kept in one small object so each keyword class reads like its concern and
nothing else.
"""

import dataclasses

from ..broker import Broker
from ..errors import KafkaPersistenceError
from ..kafka_client import Producer


@dataclasses.dataclass
class Settings:
    image: str | None
    start_timeout: float
    restart_timeout: float
    stop_timeout: float


class LibraryContext:
    """What the library knows now; owned by the library instance."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.broker: Broker | None = None
        self.broker_owner = ""
        self.broker_config: dict[str, str] = {}
        self.producer: Producer | None = None
        self.suites: list[str] = []  # names of running suites, innermost last (from the listener)

    @property
    def current_owner(self) -> str:
        return self.suites[-1] if self.suites else "python"

    def require_broker(self) -> Broker:
        """The running broker, or the error every keyword gives before ``Start Kafka``."""
        if self.broker is None:
            raise KafkaPersistenceError("No Kafka broker is running: call 'Start Kafka' first (e.g. in Suite Setup).")
        return self.broker

    def require_producer(self) -> Producer:
        broker = self.require_broker()
        if self.producer is None or self.producer.bootstrap != broker.bootstrap:
            self.producer = Producer(broker.bootstrap)
        return self.producer

    def forget_broker(self) -> None:
        """Remove the broker container and drop clients that pointed at it."""
        if self.producer is not None:
            self.producer.close()
            self.producer = None
        if self.broker is not None:
            self.broker.remove()
            self.broker = None
            self.broker_owner = ""
            self.broker_config = {}
