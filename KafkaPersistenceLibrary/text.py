"""Short, safe renderings of values for log lines and failure messages."""

MAX_SHOWN = 80


def shown(value) -> str:
    """repr() of a value, cut to a readable length so a 1 MiB record does not flood the log."""
    text = repr(value)
    if len(text) > MAX_SHOWN:
        size = len(value) if hasattr(value, "__len__") else "?"
        text = f"{text[:MAX_SHOWN - 3]}...' ({size} chars)"
    return text
