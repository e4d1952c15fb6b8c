"""State shared by the keyword classes: settings, the running cluster, its producer, durability runs.

Plain, typed state in one small object, so each keyword class reads like its
concern and nothing else. Behaviour lives with the things themselves (the
cluster, a run); the context only holds them and says when one is missing.
"""

import dataclasses
import random

from robot.api import logger

from ..broker.cluster import Cluster
from ..broker.own import ClusterSpec
from ..clients.producer import Producer
from ..consumers.group import ConsumerGroup, StopMode
from ..consumers.watch import CommittedOffsetWatcher
from ..durability.run import OpenFaults, Run
from ..errors import KafkaPersistenceError
from ..faults.random_faults import RandomFaults
from ..transactions.copier import Copier

NOT_STARTED = "No Kafka broker is running: call 'Start Kafka' first (e.g. in Suite Setup)."
LOG_LINES_WHEN_GONE = 50


@dataclasses.dataclass
class Settings:
    image: str | None
    start_timeout: float
    restart_timeout: float
    stop_timeout: float
    seed: int | None = None


class LibraryContext:
    """What the library knows now; owned by the library instance."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.cluster: Cluster | None = None
        self.cluster_owner = ""
        self.cluster_spec: ClusterSpec | None = None
        self.producer: Producer | None = None
        self.suites: list[str] = []  # names of running suites, innermost last (from the listener)
        self.runs: dict[str, Run] = {}  # topic -> its durability run
        self.open_faults = OpenFaults()
        self.random_faults: "RandomFaults | None" = None  # Start Random Faults' schedule, until it is stopped
        self.consumer_groups: dict[str, ConsumerGroup] = {}  # group name -> our member processes (and their logs)
        self.watched_groups: dict[str, CommittedOffsetWatcher] = {}  # an application's group -> its offsets' watcher
        self.upgrade_target = None  # Upgrade Kafka's target (keywords/upgrade.py), until finalized or the cluster goes
        self.copiers: dict[str, Copier] = {}  # a copier's group -> its member processes (and their logs)
        self.seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(1, 10**6)
        self.random = random.Random(self.seed)

    @property
    def current_owner(self) -> str:
        return self.suites[-1] if self.suites else "python"

    def require_cluster(self, alive: bool = True) -> Cluster:
        """The running cluster, or one line saying why there is none.

        With ``alive`` it also checks (one inspect per node) that every container
        the library keeps up still runs: a broker that crashed or was removed is
        reported at once, instead of after each keyword's whole timeout.
        """
        if self.cluster is None:
            raise KafkaPersistenceError(NOT_STARTED)
        if not alive:
            return self.cluster
        down = self.cluster.down_node()
        if down is not None:
            node, state = down
            if state.status != "removed":
                logger.info(f"Last {LOG_LINES_WHEN_GONE} log lines of {node.name}:\n"
                            f"{node.logs(tail=LOG_LINES_WHEN_GONE).strip()}")
            raise KafkaPersistenceError(f"The broker container {node.name} (node {node.node_id}) {state.describe()}: "
                                        f"{node.when_gone}.")
        return self.cluster

    def require_no_random_faults(self, keyword_name: str) -> None:
        """Faults and verdicts wait for the random schedule to end: two hands on one cluster would race."""
        if self.random_faults is not None:
            raise KafkaPersistenceError(f"Random faults are running: call 'Stop Random Faults' before "
                                        f"'{keyword_name}' (it undoes every fault it made).")

    def require_producer(self) -> Producer:
        connection = self.require_cluster().connection
        if self.producer is None or self.producer.connection != connection:
            self.close_producer()
            self.producer = Producer(connection)
        return self.producer

    def close_producer(self) -> None:
        if self.producer is not None:
            self.producer.close()
            self.producer = None

    def forget_consumer_groups(self) -> None:
        """Kill every member process of our groups and remove their logs (the cluster they read is going)."""
        for group in self.consumer_groups.values():
            group.stop(StopMode.KILL)
            group.close()
        self.consumer_groups = {}

    def forget_copiers(self) -> None:
        """Kill every copier member process and remove their logs (the cluster they copy in is going)."""
        for copier in self.copiers.values():
            copier.stop(StopMode.KILL)
            copier.close()
        self.copiers = {}

    def forget_cluster(self) -> list[str]:
        """Remove the cluster and drop the clients and histories that belonged to it.

        Returns what could not be removed (normally nothing), for the caller to report.
        """
        if self.random_faults is not None:
            self.random_faults.stop(timeout=5)  # the cluster goes next: nothing is left to undo
            self.random_faults = None
        self.forget_consumer_groups()
        self.forget_copiers()
        for watcher in self.watched_groups.values():
            watcher.stop()
        self.watched_groups = {}
        for run in self.runs.values():
            run.stop_background(flush_timeout=1)
        self.runs = {}
        self.open_faults = OpenFaults()
        self.close_producer()
        problems: list[str] = []
        if self.cluster is not None:
            problems = self.cluster.remove()
            self.cluster = None
            self.cluster_owner = ""
            self.cluster_spec = None
        self.upgrade_target = None
        return problems
