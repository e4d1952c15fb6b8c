"""Turn Robot-style time strings ("10s", "1 min 30 s", 2.5) into seconds."""

from datetime import timedelta

from robot.utils import timestr_to_secs

from .errors import KafkaPersistenceError


def to_seconds(value: "float | int | str | timedelta", name: str = "timeout") -> float:
    """Accept the forms testers type and refuse negatives with a clear message."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        try:
            seconds = float(timestr_to_secs(value))
        except (ValueError, TypeError):
            raise KafkaPersistenceError(
                f"Invalid {name} '{value}': use a number of seconds or a time string like '10s' or '1 min'."
            ) from None
    if seconds < 0:
        raise KafkaPersistenceError(f"Invalid {name} '{value}': it must not be negative.")
    return seconds
