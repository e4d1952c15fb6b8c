"""A rolling upgrade's step: a node stopped gracefully and started again on another Kafka version's image.

Not a fault anyone would make at random, but the riskiest restart of a cluster's life: the timeline
shows each node's replacement as a row of its own, as it shows a restart. Made and undone by
`Upgrade Kafka` and `Downgrade Kafka` (keywords/upgrade.py), never by the random schedule.
"""

from ...errors import KafkaPersistenceError
from ..fault import FaultKind, Need


def _not_by_itself(*_args, **_options):
    raise KafkaPersistenceError("An upgrade is made by 'Upgrade Kafka' and 'Downgrade Kafka' only.")


UPGRADE = FaultKind(
    "upgrade", "a rolling upgrade's restart: a graceful stop, then the node made anew from another version's "
    "image with its data", Need.NOTHING, "#2e7d32", ("Upgrade Kafka", "Downgrade Kafka"), "`Upgrade Kafka`",
    make=_not_by_itself, undo=_not_by_itself, random=False)

ORDER = 9  # where its kinds stand in lists of every kind
KINDS = (UPGRADE,)
