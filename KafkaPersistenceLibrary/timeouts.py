"""Turn Robot-style time strings ("10s", "1 min 30 s", 2.5) into seconds."""

from datetime import timedelta

from robot.utils import timestr_to_secs

from .errors import KafkaPersistenceError


def to_seconds(value: "float | int | str | timedelta", name: str = "timeout", allow_zero: bool = False) -> float:
    """Accept the forms testers type; refuse negatives, and zero where it could never be met.

    Robot has already turned a typed ``-1s`` into a timedelta by the time we see
    it, so the value is echoed as seconds (``'-1s'``), not as Python prints a
    negative timedelta (``'-1 day, 23:59:59'``).
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        typed = f"{seconds:g}s"
    else:
        typed = value
        try:
            seconds = float(timestr_to_secs(value))
        except (ValueError, TypeError):
            raise KafkaPersistenceError(
                f"Invalid {name} '{value}': use a number of seconds or a time string like '10s' or '1 min'."
            ) from None
    if seconds < 0:
        raise KafkaPersistenceError(f"Invalid {name} '{typed}': it must not be negative.")
    if seconds == 0 and not allow_zero:
        raise KafkaPersistenceError(f"Invalid {name} '{typed}': it must be more than zero, or it can never be met.")
    return seconds
