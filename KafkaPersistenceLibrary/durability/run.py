"""One durability run: a topic's send history and the background producer writing it, if any.

Fault keywords tell every run about each fault (:func:`faults_marked` around a restart,
:class:`OpenFaults` for a fault that spans keywords, e.g. Stop Broker ... Start Broker), so the
verdict can show per-fault figures and the timeline which node was down when,
including faults whose recovery failed (the case a reader most wants to see).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

from .history import Fault, SendHistory


class Stoppable(Protocol):
    """What a run needs of its background producer (implemented in ``clients.recording``)."""

    error: Exception | None

    def stop(self, flush_timeout: float) -> None: ...


class Run:
    """The history of one topic's traceable sends."""

    def __init__(self, history: SendHistory):
        self.history = history
        self.background: Stoppable | None = None

    def stop_background(self, flush_timeout: float) -> Exception | None:
        """Stop the background producer (if one runs) and return the error that stopped it early, if any."""
        background, self.background = self.background, None
        if background is None:
            return None
        background.stop(flush_timeout)
        return background.error


@contextlib.contextmanager
def faults_marked(runs: list[Run], kind: str, target: str, clock, colour: str = "") -> Iterator[None]:
    """Mark a fault on every run while the block runs: begun now, ended when the block returns.

    If the block raises, the fault is kept with the error and no end: the
    cluster did not serve again, which the timeline shows as such.
    """
    started = clock()
    marks: list[tuple[SendHistory, Fault]] = [
        (run.history, run.history.begin_fault(kind, at=started - run.history.started, target=target, colour=colour))
        for run in runs]
    try:
        yield
    except BaseException as error:
        for history, fault in marks:
            history.fail_fault(fault, str(error).splitlines()[0][:200] if str(error) else type(error).__name__)
        raise
    ended = clock()
    for history, fault in marks:
        history.end_fault(fault, at=ended - history.started)


class OpenFaults:
    """Faults that span keywords (Stop Broker ... Start Broker, Isolate Broker ... Heal Network).

    Begun on every run when the fault starts, ended on the same runs when the
    keyword that undoes it returns; keyed by what they concern (e.g. "node 2").
    """

    def __init__(self) -> None:
        self._open: dict[str, list[tuple[SendHistory, Fault]]] = {}

    def begin(self, key: str, runs: list[Run], kind: str, target: str, at: float, colour: str = "") -> None:
        marks = [(run.history, run.history.begin_fault(kind, at=at - run.history.started, target=target,
                                                       colour=colour)) for run in runs]
        self._open.setdefault(key, []).extend(marks)

    def end(self, key: str, at: float) -> None:
        for history, fault in self._open.pop(key, []):
            history.end_fault(fault, at=at - history.started)

    def keys(self) -> list[str]:
        return list(self._open)
