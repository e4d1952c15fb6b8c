"""Power loss: the node dies at once and every write it had not fsynced is gone.

Needs the power-loss filesystem (volatilefs, ``Start Kafka    power_loss=True``):
the container is killed as a whole, the filesystem's daemon with it. Undone by
a start, after which the cluster must serve again.
"""

from ...broker.node import StopMode
from ..fault import FaultKind, Need
from .process import start_again, stop_in

POWER_LOSS = FaultKind(
    "power-loss", "a power cut: every write the node had not fsynced is gone", Need.FILESYSTEM, "#4e342e",
    ("Restart Broker", "Stop Broker", "Start Random Faults"), "`mode=power-loss`", make=stop_in(StopMode.POWER_LOSS),
    undo=start_again)

ORDER = 2  # where its kinds stand in lists of every kind
KINDS = (POWER_LOSS,)
