"""Keywords that run a random schedule of faults in the background, as Jepsen's nemesis does."""

import html
import time
from datetime import timedelta

from robot.api import logger
from robot.utils import DotDict

from ..broker.node import NodeState
from ..choices import by_value
from ..errors import KafkaPersistenceError
from ..faults import registry
from ..faults.fault import FaultKind
from ..faults.random_faults import RandomFaults
from ..faults.schedule import Schedule, Span, Targets, parse_kinds
from ..timeouts import to_seconds
from .context import LibraryContext
from .one_line import keyword

JOIN_MARGIN_SECONDS = 30
_CELL = "border:1px solid #bbb;padding:2px 8px;"


class RandomFaultKeywords:
    ctx: LibraryContext

    @keyword(tags=["faults"])
    def start_random_faults(self, kinds: "str | None" = None, interval: str = "3s..8s", duration: str = "1s..4s",
                            broker: "Targets | str" = Targets.ANY, topic: "str | None" = None,
                            seed: "int | None" = None, overlap: bool = False) -> int:
        """Makes random faults on random nodes in the background until `Stop Random Faults`; returns the seed.

        ``kinds`` is a comma-separated list of ``kill``, ``graceful``,
        ``power-loss``, ``pause`` and ``isolate`` (from the other nodes); by
        default every kind the cluster can make (``power-loss`` needs `Start
        Kafka` ``power_loss=True``, ``isolate`` a cluster of several nodes the
        library started). A kind the cluster cannot make fails at once.

        Each fault waits ``interval`` (a time, or a range like ``3s..8s`` to
        draw from), is made on one node, held for ``duration``, then undone:
        a stopped node starts again, a paused one resumes, a cut one is healed,
        and the next wait begins once the cluster serves again. With
        ``overlap=True`` the next fault may come while earlier ones still hold
        (``interval`` then counts from the previous fault).

        ``broker`` chooses the nodes: ``any`` broker (the default), ``leaders``
        or ``followers`` of a partition of ``topic`` (by default the topics the
        library's producers write), or ``controllers``. ``seed`` repeats a
        schedule: the same kinds, waits and holds, and with ``any`` or
        ``controllers`` (without overlap) the same nodes in the same order.

        Every fault is in the verdict's table and timeline. While the schedule
        runs, the other fault keywords and the verdicts wait for `Stop Random
        Faults`; producers and the cluster state keywords work as usual.

        | `Start Random Faults`
        | `Start Random Faults`    kinds=kill,pause,isolate    interval=5s..10s    seed=4711
        | ${seed} =    `Start Random Faults`    broker=leaders    topic=orders    overlap=True
        """
        targets = by_value(Targets, broker, "Invalid broker")
        wait, hold = Span.parse(interval, "interval", allow_zero=True), Span.parse(duration, "duration")
        asked = parse_kinds(kinds) if kinds is not None else None
        ctx = self.ctx
        cluster = ctx.require_cluster()
        if ctx.random_faults is not None:
            raise KafkaPersistenceError("Random faults are already running: call 'Stop Random Faults' first.")
        chosen = asked or _every_kind(cluster)
        for kind in chosen:
            registry.require(kind, cluster)
        topics = [topic] if topic else sorted(ctx.runs)
        if targets in (Targets.LEADERS, Targets.FOLLOWERS) and not topics:
            raise KafkaPersistenceError(f"broker={targets} needs the partitions they lead or follow: give topic=, "
                                        f"or start a producer first.")
        if not cluster.whole or cluster.cut_off():
            raise KafkaPersistenceError(f"Random faults start from a whole cluster, and nodes are down: "
                                        f"{cluster.down_nodes()}. Bring them back first.")
        seed = seed if seed is not None else ctx.random.randrange(1, 10**6)
        faults = RandomFaults(cluster, Schedule(seed, chosen, wait, hold), targets, topics, overlap, ctx.settings,
                              lambda: [run.history for run in list(ctx.runs.values())])
        faults.start()
        ctx.random_faults = faults
        logger.info(f"Random faults started: {', '.join(kind.name for kind in chosen)} on {targets} node(s), every "
                    f"{wait}, each held {hold}{', overlapping' if overlap else ''}; seed {seed} repeats them.")
        return seed

    @keyword(tags=["faults"])
    def stop_random_faults(self, timeout: timedelta = timedelta(seconds=120)) -> DotDict:
        """Stops the random faults, undoes every fault they left, and waits until the cluster is whole again.

        Returns once every node runs, the cluster serves, and every partition
        of the producers' topics has all its replicas in sync (bounded by
        ``timeout``). The result has ``seed`` (give it to `Start Random Faults`
        to repeat the schedule), ``faults`` (each with ``number``, ``kind``,
        ``node``, ``at``, ``held``, ``recovery`` and ``error``) and ``counts``
        (faults per kind). The log gets the schedule as a table. Fails after
        undoing everything when a fault could not be made or undone, naming it.

        | ${schedule} =    `Stop Random Faults`
        | Log    ${schedule.counts}
        | Should Be True    ${schedule.counts.kill} > 0
        """
        seconds = to_seconds(timeout)
        ctx = self.ctx
        faults = ctx.random_faults
        if faults is None:
            raise KafkaPersistenceError("No random faults are running: start them with 'Start Random Faults'.")
        cluster = ctx.require_cluster(alive=False)
        settings = ctx.settings
        ended = faults.stop(settings.restart_timeout + settings.stop_timeout + JOIN_MARGIN_SECONDS)
        ctx.random_faults = None
        if not ended:
            raise KafkaPersistenceError(
                f"The random fault schedule did not end within "
                f"{settings.restart_timeout + settings.stop_timeout + JOIN_MARGIN_SECONDS:g} s: a fault is stuck "
                f"(nodes down: {cluster.down_nodes()}).")
        _undo_what_is_left(cluster, settings.restart_timeout)
        deadline = time.monotonic() + seconds
        for topic in sorted(ctx.runs):
            self.wait_until_replicas_in_sync(topic, timeout=max(1.0, deadline - time.monotonic()))
        logger.info(_schedule_html(faults), html=True)
        counts = DotDict({name: sum(1 for f in faults.ran if f.kind.name == name and f.node is not None)
                          for name, kind in registry.KINDS.items() if kind.random})
        logger.info(f"Random faults stopped after {len(faults.ran)} fault(s) ({dict(counts)}); seed "
                    f"{faults.schedule.seed}.")
        if faults.error is not None:
            raise KafkaPersistenceError(f"Random {faults.error.describe()}. Every fault was undone; seed "
                                        f"{faults.schedule.seed} repeats the schedule.")
        return DotDict(seed=faults.schedule.seed, counts=counts,
                       faults=[DotDict(number=f.number, kind=f.kind.name, node=f.node, at=round(f.at, 3),
                                       held=None if f.held is None else round(f.held, 3),
                                       recovery=None if f.recovery is None else round(f.recovery, 3),
                                       error=f.error) for f in faults.ran])


def _every_kind(cluster) -> list[FaultKind]:
    return [kind for kind in registry.KINDS.values() if kind.random and not kind.why_not(cluster)]


def _undo_what_is_left(cluster, timeout: float) -> None:
    """Whatever a failed fault left: resume, start, heal; then the cluster must serve."""
    if cluster.in_state(NodeState.PAUSED):
        cluster.resume(cluster.in_state(NodeState.PAUSED), timeout)
    if cluster.in_state(NodeState.STOPPED):
        cluster.start_again(cluster.in_state(NodeState.STOPPED), timeout)
    if cluster.cut_off():
        cluster.heal_network(cluster.cut_off(), timeout)
    cluster.wait_ready(timeout, "the random faults")


def _schedule_html(faults: RandomFaults) -> str:
    heads = ["#", "at", "kind", "node", "held", "back after", "error"]
    rows = [[str(f.number), f"{f.at:.1f} s", f.kind.name, "-" if f.node is None else str(f.node),
             "-" if f.held is None else f"{f.held:.1f} s", "-" if f.recovery is None else f"{f.recovery:.1f} s",
             f.error] for f in faults.ran]
    out = [f"<p>Random faults, seed {faults.schedule.seed}: {len(faults.ran)} fault(s)</p>",
           '<table style="border-collapse:collapse"><tr>'
           + "".join(f'<th style="{_CELL}">{h}</th>' for h in heads) + "</tr>"]
    out += ["<tr>" + "".join(f'<td style="{_CELL}">{html.escape(c)}</td>' for c in row) + "</tr>" for row in rows]
    return "\n".join(out) + "</table>"
