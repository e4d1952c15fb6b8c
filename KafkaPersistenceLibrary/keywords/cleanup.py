"""The library as its own listener: it owns cleanup and shows broker logs on failure.

What a suite started is removed when that suite ends; at process exit anything
left is removed too. A run killed with SIGKILL is swept by the next start
(see ``labels.py``).
"""

import atexit
import signal
import sys
import threading

from robot.api import logger

from .context import LibraryContext

LOG_LINES_ON_FAILURE = 200


class CleanupListener:
    ROBOT_LISTENER_API_VERSION = 3
    ctx: LibraryContext

    def _register_exit_cleanup(self) -> None:
        """Remove the broker at exit, also when the process gets SIGTERM.

        Python skips atexit on SIGTERM by default; if nobody else handles SIGTERM
        (Robot does, and ends suites cleanly), we turn it into a normal exit.
        """
        atexit.register(self.ctx.forget_broker)
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
            signal.signal(signal.SIGTERM, _exit_on_sigterm)

    def start_suite(self, data, result):
        self.ctx.suites.append(result.full_name)

    def end_suite(self, data, result):
        name = self.ctx.suites.pop() if self.ctx.suites else ""
        broker = self.ctx.broker
        if broker is not None and self.ctx.broker_owner == name:
            broker_name = broker.name
            self.ctx.forget_broker()
            logger.info(f"Removed Kafka broker {broker_name} started by suite '{name}'.")

    def end_test(self, data, result):
        broker = self.ctx.broker
        if result.failed and broker is not None:
            logs = broker.logs(tail=LOG_LINES_ON_FAILURE)
            logger.info(f"Last {LOG_LINES_ON_FAILURE} lines of Kafka broker {broker.name} "
                        f"(test '{result.name}' failed):\n{logs}")

    def close(self):
        self.ctx.forget_broker()


def _exit_on_sigterm(signum, frame):
    sys.exit(128 + signum)
