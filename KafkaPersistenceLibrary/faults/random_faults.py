"""Runs a random fault schedule in the background: each fault made on one node, held, undone, and recorded.

One thread does it all, so faults never race each other. Without overlap each
fault is undone, and the cluster serves again, before the next one's wait
begins; with overlap the next fault may come while earlier ones still hold.
Every fault is marked on the durability histories (the verdict's table and
timeline) and kept in :attr:`RandomFaults.ran`. The first fault that cannot be
made or undone stops the schedule; what it left is undone by the caller.
"""

import dataclasses
import threading
import time
from collections.abc import Callable

from ..broker.cluster import Cluster
from ..broker.node import NodeState
from ..durability.history import Fault, SendHistory
from ..errors import KafkaPersistenceError
from .fault import FaultKind
from .schedule import Draw, Schedule, Targets

METADATA_TIMEOUT_SECONDS = 10.0


@dataclasses.dataclass
class RanFault:
    """One fault of the schedule, as it ran; times in seconds since the schedule started."""

    number: int
    kind: FaultKind
    node: "int | None"  # None: no node could be chosen then (skipped)
    at: float
    held: "float | None" = None  # from made to the start of its undoing
    recovery: "float | None" = None  # seconds the undoing took until the cluster served
    error: str = ""

    def describe(self) -> str:
        what = (f"{self.kind.name} of node {self.node}" if self.node is not None
                else f"{self.kind.name} (no node to choose)")
        return f"fault {self.number} at {self.at:.1f} s: {what}" + (f": FAILED: {self.error}" if self.error else "")


@dataclasses.dataclass
class _Holding:
    """A fault that is made and not yet undone."""

    ran: RanFault
    heal_at: float
    made_at: float
    marks: list[tuple[SendHistory, Fault]]


class RandomFaults:
    def __init__(self, cluster: Cluster, schedule: Schedule, targets: Targets, topics: list[str], overlap: bool,
                 settings, histories: Callable[[], list[SendHistory]], clock: Callable[[], float] = time.monotonic):
        """``settings`` has the library's ``stop_timeout`` and ``restart_timeout``, as each fault kind takes them."""
        self.cluster, self.schedule, self.targets, self.topics = cluster, schedule, targets, topics
        self.overlap, self._settings = overlap, settings
        self._histories, self._clock = histories, clock
        self.ran: list[RanFault] = []
        self.error: "RanFault | None" = None
        self._holding: list[_Holding] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kpl-random-faults", daemon=True)
        self._started = 0.0
        self._since = 0.0  # when the wait for the next fault began

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._started = self._since = self._clock()
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Ask the thread to undo what it holds and end; True once it has ended within ``timeout``."""
        self._stop.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the thread ----------------------------------------------------------------

    def _run(self) -> None:
        draw = self.schedule.next()
        while not self._stop.is_set() and self.error is None:
            now = self._clock()
            for holding in [h for h in self._holding if h.heal_at <= now]:
                self._undo(holding)
            if self.error is not None:
                break
            if (self.overlap or not self._holding) and now >= self._since + draw.wait:
                self._make(draw)
                if self.overlap or not self._holding:  # the next wait runs from now (also after a skip)
                    self._since = self._clock()
                draw = self.schedule.next()
                continue
            wake = [h.heal_at for h in self._holding]
            if self.overlap or not self._holding:
                wake.append(self._since + draw.wait)
            self._stop.wait(max(0.0, min(wake) - self._clock()))
        for holding in list(self._holding):
            self._undo(holding)

    def _make(self, draw: Draw) -> None:
        kind = draw.kind
        made_at = self._clock()
        node = draw.node(self._candidates())
        ran = RanFault(len(self.ran) + 1, kind, node, made_at - self._started)
        self.ran.append(ran)
        if node is None:
            return
        marks = [(history, history.begin_fault(kind.name, at=made_at - history.started, target=f"node {node}",
                                               colour=kind.colour)) for history in self._histories()]
        holding = _Holding(ran, made_at + draw.hold, made_at, marks)
        try:
            kind.make(self.cluster, [node], self._settings, f"random {kind.name}")
        except Exception as error:  # noqa: BLE001 - kept on the fault and reported by Stop Random Faults
            self._failed(holding, error)
            return
        self._holding.append(holding)

    def _undo(self, holding: _Holding) -> None:
        self._holding.remove(holding)
        ran, node = holding.ran, holding.ran.node
        began = self._clock()
        ran.held = began - holding.made_at
        try:
            ran.recovery = ran.kind.undo(self.cluster, [node], self._settings)
        except Exception as error:  # noqa: BLE001 - kept on the fault and reported by Stop Random Faults
            self._failed(holding, error)
            return
        ended = self._clock()
        for history, fault in holding.marks:
            history.end_fault(fault, at=ended - history.started)
        if not self.overlap:
            try:
                self._wait_until_in_sync(began + self._settings.restart_timeout)
            except Exception as error:  # noqa: BLE001 - kept on the fault and reported by Stop Random Faults
                self._failed(holding, error)
                return
            self._since = self._clock()

    def _wait_until_in_sync(self, deadline: float) -> None:
        """Without overlap the next fault starts from a whole cluster: the node is back in every ISR.

        Serving again is not enough: a broker back from a power cut that is still
        copying from the leader holds no replica yet, and a second fault in that
        window would be two faults at once.
        """
        while True:
            behind = []
            for topic in self.topics:
                try:
                    states = self.cluster.partition_states(topic, METADATA_TIMEOUT_SECONDS) or []
                except KafkaPersistenceError as error:  # no broker answered this time: not in sync yet
                    behind.append(str(error))
                    continue
                behind += [f"{s.topic}-{s.partition} (replicas {list(s.replicas)}, ISR {list(s.isr)})"
                           for s in states if set(s.isr) != set(s.replicas) or s.leader < 0]
            if not behind or self._stop.is_set():  # stopping: Stop Random Faults waits for it itself
                return
            if self._clock() >= deadline:
                raise TimeoutError(f"replicas not back in sync within {self._settings.restart_timeout:g} s: "
                                   f"{'; '.join(behind[:3])}")
            time.sleep(0.25)

    def _failed(self, holding: _Holding, error: Exception) -> None:
        text = (str(error).splitlines() or [type(error).__name__])[0][:300]
        holding.ran.error = text
        for history, fault in holding.marks:
            history.fail_fault(fault, text)
        if self.error is None:
            self.error = holding.ran

    def _candidates(self) -> list[int]:
        """The running, uncut nodes the targets allow now, sorted (the draw picks among them)."""
        cluster = self.cluster
        if self.targets is Targets.ANY:
            ids = {n.node_id for n in cluster.brokers}
        elif self.targets is Targets.CONTROLLERS:
            ids = {n.node_id for n in cluster.controllers}
        else:
            ids = set()
            for topic in self.topics:
                try:
                    states = cluster.partition_states(topic, METADATA_TIMEOUT_SECONDS) or []
                except Exception:  # noqa: BLE001 - no answer now: no candidate from this topic this time
                    states = []
                for state in states:
                    ids |= {state.leader} if self.targets is Targets.LEADERS else set(state.isr) - {state.leader}
        held = {h.ran.node for h in self._holding}
        return sorted(i for i in ids if i in cluster.nodes and i not in held and not cluster.nodes[i].cut
                      and cluster.nodes[i].expected is NodeState.RUNNING)
