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
        self.durability_runs: dict = {}  # topic -> DurabilityRun (keywords/durability.py)

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

    def note_restart(self, report) -> None:
        """Mark a restart on every durability history, for per-restart figures."""
        for run in self.durability_runs.values():
            fault = run.history.begin_fault(report.mode, at=report.down_at - run.history.started)
            run.history.end_fault(fault, at=report.up_at - run.history.started)

    def forget_broker(self) -> None:
        """Remove the broker container and drop clients and histories that belonged to it."""
        for run in self.durability_runs.values():
            if run.background is not None:
                run.background.stop(flush_timeout=1)
        self.durability_runs = {}
        if self.producer is not None:
            self.producer.close()
            self.producer = None
        if self.broker is not None:
            self.broker.remove()
            self.broker = None
            self.broker_owner = ""
            self.broker_config = {}
