"""Keep kafka-python's connection chatter out of the Robot log while we expect it.

While a broker is down or starting, kafka-python logs every refused connection
as a warning or error; Robot would show each one as a test warning. The library
reports what matters itself (timings, and what the last attempt saw on timeout).
"""

import contextlib
import logging

_KAFKA_LOGGER = logging.getLogger("kafka")


@contextlib.contextmanager
def quiet_kafka_client_logs():
    """Silence the ``kafka`` logger for the duration of the block."""
    previous = _KAFKA_LOGGER.level
    _KAFKA_LOGGER.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        _KAFKA_LOGGER.setLevel(previous)
