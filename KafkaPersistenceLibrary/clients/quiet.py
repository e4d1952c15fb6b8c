"""kafka-python's log records go to Robot's log at DEBUG, never to its console or error list.

Robot turns every Python logging record of WARNING and above into a test warning or
error (printed on the console, listed in log.html) and INFO into the log's INFO. While
a broker is down kafka-python logs each refused connection as an error: one failed
Produce Message printed over a hundred such lines before the library's own one-line
error, and every send put kafka-python's bootstrap and metadata lines at INFO. They
are a client library's internals: the library reports what matters itself.
"""

import contextlib
import logging

from robot.api import logger as robot_logger
from robot.running.context import EXECUTION_CONTEXTS

_KAFKA_LOGGER = logging.getLogger("kafka")


class _RobotDebugHandler(logging.Handler):
    """Re-emits a record at DEBUG (kafka-python's own DEBUG at TRACE) while Robot runs; drops it otherwise.

    Robot itself keeps only messages of its main and timeout threads; outside Robot
    nothing is printed (``logging.getLogger("kafka").propagate = True`` brings the
    records back to Python's logging for those who want them there).
    """

    def emit(self, record: logging.LogRecord) -> None:
        if EXECUTION_CONTEXTS.current is None:
            return
        try:
            message = f"{record.name}: {self.format(record)}"
            if record.levelno >= logging.INFO:
                robot_logger.debug(message)
            else:
                robot_logger.trace(message)
        except Exception:  # noqa: BLE001 - logging must never break a keyword
            self.handleError(record)


def route_kafka_python_logs() -> None:
    """Send the ``kafka`` logger hierarchy to our handler instead of Robot's (once; again is a no-op)."""
    if not any(isinstance(h, _RobotDebugHandler) for h in _KAFKA_LOGGER.handlers):
        _KAFKA_LOGGER.addHandler(_RobotDebugHandler())
    _KAFKA_LOGGER.propagate = False


@contextlib.contextmanager
def quiet_kafka_client_logs():
    """Drop the ``kafka`` logger's records for the block, even at DEBUG: admin retries while nodes are down."""
    previous = _KAFKA_LOGGER.level
    _KAFKA_LOGGER.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        _KAFKA_LOGGER.setLevel(previous)
