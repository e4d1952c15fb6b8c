"""A random fault schedule, as Jepsen's nemesis makes them: which fault, on which node, when, for how long (pure).

Every draw comes from one ``random.Random(seed)``, and each fault takes the same
number of draws whatever the cluster looks like, so one seed repeats the same
kinds, waits and holds, and - for ``broker=any`` and ``controllers`` without
overlap - the same nodes in the same order. ``leaders`` and ``followers`` repeat
the same roles; which node holds a role then is the cluster's doing.
"""

import dataclasses
import enum
import random
import re

from ..errors import KafkaPersistenceError
from ..timeouts import to_seconds
from . import registry
from .fault import FaultKind


class Targets(enum.StrEnum):
    """Which nodes the schedule picks from."""

    ANY = "any"  # any broker
    LEADERS = "leaders"  # a broker that leads a partition of the topic(s) under test
    FOLLOWERS = "followers"  # a broker that follows one
    CONTROLLERS = "controllers"  # a KRaft controller (the single node, in a one-node cluster)


def parse_kinds(text: str) -> list[FaultKind]:
    """``kill,graceful,pause`` -> the kinds, in that order, each once."""
    chosen: list[FaultKind] = []
    names = [name for name, kind in registry.KINDS.items() if kind.random]  # not those that need values (slow)
    for part in str(text).split(","):
        if part.strip():
            if part.strip().lower().replace("_", "-") not in names:
                raise KafkaPersistenceError(f"Invalid fault kind '{part}': use one of {', '.join(names)}.")
            kind = registry.kind(part)
            if kind not in chosen:
                chosen.append(kind)
    if not chosen:
        raise KafkaPersistenceError(f"Invalid kinds '{text}': name at least one of "
                                    f"{', '.join(names)}, separated by commas.")
    return chosen


@dataclasses.dataclass(frozen=True)
class Span:
    """A range of seconds to draw from: ``3s..8s``, or one value (``5s``)."""

    low: float
    high: float

    @classmethod
    def parse(cls, value, name: str, allow_zero: bool = False) -> "Span":
        parts = re.split(r"\s*\.\.\s*", str(value).strip()) if isinstance(value, str) else [value]
        if len(parts) > 2 or not all(str(p).strip() for p in parts):
            raise KafkaPersistenceError(f"Invalid {name} '{value}': give a time like '5s' or a range like '3s..8s'.")
        low, high = (to_seconds(p, name, allow_zero=allow_zero) for p in (parts[0], parts[-1]))
        if high < low:
            raise KafkaPersistenceError(f"Invalid {name} '{value}': the range must go from low to high.")
        return cls(low, high)

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    def __str__(self) -> str:
        return f"{self.low:g}s" if self.low == self.high else f"{self.low:g}s..{self.high:g}s"


@dataclasses.dataclass(frozen=True)
class Draw:
    """One planned fault: wait ``wait`` s, make ``kind`` on the candidate at ``pick`` (0..1), hold ``hold`` s."""

    wait: float
    kind: FaultKind
    pick: float
    hold: float

    def node(self, candidates: list[int]) -> "int | None":
        """The candidate this draw picks (candidates sorted), None when there is none."""
        return candidates[min(int(self.pick * len(candidates)), len(candidates) - 1)] if candidates else None


class Schedule:
    """The endless sequence of draws one seed gives."""

    def __init__(self, seed: int, kinds: list[FaultKind], interval: Span, duration: Span):
        self.seed, self.kinds, self.interval, self.duration = seed, kinds, interval, duration
        self._rng = random.Random(seed)

    def next(self) -> Draw:
        rng = self._rng
        return Draw(wait=self.interval.draw(rng), kind=rng.choice(self.kinds), pick=rng.random(),
                    hold=self.duration.draw(rng))
