"""Unique, traceable record values.

Every value starts with an ASCII prefix ``kpl:<run_id>:<seq>:`` so that a record
read back can be tied to exactly one send of one run, whatever else lives in the
topic. The rest is padding up to the requested size, so record size stays a test
parameter.
"""

from __future__ import annotations

from collections.abc import Callable

MAGIC = b"kpl:"
_PAD = b"."


def make_payload(run_id: str, seq: int, size: int) -> bytes:
    """Return ``kpl:<run_id>:<seq>:`` padded with dots to exactly ``size`` bytes."""
    if not run_id or ":" in run_id or not run_id.isascii():
        raise ValueError(f"run_id must be non-empty ASCII without ':', got {run_id!r}")
    if seq < 0:
        raise ValueError(f"seq must be >= 0, got {seq}")
    prefix = b"%s%s:%d:" % (MAGIC, run_id.encode("ascii"), seq)
    if size < len(prefix):
        raise ValueError(
            f"payload size {size} is smaller than its {len(prefix)}-byte prefix "
            f"{prefix.decode('ascii')!r}; use size >= {len(prefix)}"
        )
    return prefix + _PAD * (size - len(prefix))


def parse_payload(value: bytes | None) -> tuple[str, int] | None:
    """Return ``(run_id, seq)`` of a value made by :func:`make_payload`, else None.

    Uses ``find`` instead of ``split`` so the padding is never copied.
    """
    if not value or not value.startswith(MAGIC):
        return None
    end_run = value.find(b":", 4)
    end_seq = value.find(b":", end_run + 1) if end_run > 4 else -1
    if end_seq < 0:
        return None
    digits = value[end_run + 1:end_seq]
    if not digits.isdigit():
        return None
    try:
        run_id = value[4:end_run].decode("ascii")
    except UnicodeDecodeError:
        return None
    return run_id, int(digits)


def seq_parser(run_id: str) -> Callable[[bytes | None], int | None]:
    """Return a function giving the seq of this run's values and None for any other.

    Faster than :func:`parse_payload` in the verdict's hot loop: it compares the
    whole ``kpl:<run_id>:`` prefix as bytes and decodes nothing.
    """
    prefix = MAGIC + run_id.encode("ascii") + b":"
    start = len(prefix)

    def seq_of(value: bytes | None) -> int | None:
        if not value or not value.startswith(prefix):
            return None
        end = value.find(b":", start)
        digits = value[start:end]
        if end < 0 or not digits.isdigit():
            return None
        return int(digits)

    return seq_of


def payload_maker(run_id: str, size: int) -> Callable[[int], bytes]:
    """Return a fast ``seq -> payload`` for one run: checks once, formats many times.

    Same bytes as :func:`make_payload`; used on the producer's hot path.
    """
    make_payload(run_id, 0, size)  # validates run_id and that size fits a prefix
    prefix = b"%s%s:" % (MAGIC, run_id.encode("ascii"))
    padding = _PAD * size

    def payload(seq: int) -> bytes:
        head = prefix + b"%d:" % seq
        if len(head) > size:
            return make_payload(run_id, seq, size)  # raises with the explanation
        return head + padding[len(head):]

    return payload
