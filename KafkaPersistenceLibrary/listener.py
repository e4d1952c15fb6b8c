"""The library as its own listener: it owns cleanup and shows broker logs on failure.

What a suite started is removed when that suite ends; at process exit anything
left is removed too. A run killed with SIGKILL is swept by the next start
(see ``broker/labels.py``).
"""

import atexit
import signal
import sys
import threading

from robot.api import logger

from .errors import KafkaPersistenceError
from .keywords.context import LibraryContext
from .keywords.disk_faults import undo_every_disk_fault

LOG_LINES_ON_FAILURE = 200


class CleanupListener:
    ROBOT_LISTENER_API_VERSION = 3
    ctx: LibraryContext

    def _register_exit_cleanup(self) -> None:
        """Remove the cluster at exit, also when the process gets SIGTERM.

        Python skips atexit on SIGTERM by default; if nobody else handles SIGTERM
        (Robot does, and ends suites cleanly), we turn it into a normal exit.
        """
        atexit.register(self.ctx.forget_cluster)
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
            signal.signal(signal.SIGTERM, _exit_on_sigterm)

    def start_suite(self, data, result):
        self.ctx.suites.append(result.full_name)

    def end_suite(self, data, result):
        name = self.ctx.suites.pop() if self.ctx.suites else ""
        cluster = self.ctx.cluster
        if cluster is not None and self.ctx.cluster_owner == name:
            cluster_name = cluster.name
            for problem in self.ctx.forget_cluster():
                logger.warn(f"Cleanup: {problem}; the next 'Start Kafka' removes it once this process has ended.")
            logger.info(f"Removed Kafka cluster {cluster_name} started by suite '{name}'.")

    def end_test(self, data, result):
        cluster = self.ctx.cluster
        if result.failed and cluster is not None:
            lines = LOG_LINES_ON_FAILURE // len(cluster.nodes)
            for node in cluster.nodes.values():
                logger.info(f"Last {lines} lines of Kafka node {node.node_id} ({node.name}) "
                            f"(test '{result.name}' failed):\n{node.logs(tail=lines)}")
            self._heal_disks(cluster, result.name)

    def _heal_disks(self, cluster, test: str) -> None:
        """A failed test's disk faults must not fail the next test: every disk works again (logged)."""
        try:
            healed = undo_every_disk_fault(cluster)
        except KafkaPersistenceError as error:
            logger.warn(f"Test '{test}' failed with disk faults in place, and undoing them failed: {error}")
            return
        if healed:
            logger.info(f"Test '{test}' failed with disk faults in place: the disks of node(s) "
                        f"{', '.join(map(str, healed))} work again.")

    def close(self):
        self.ctx.forget_cluster()


def _exit_on_sigterm(signum, frame):
    sys.exit(128 + signum)
