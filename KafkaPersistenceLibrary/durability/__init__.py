"""Pure persistence-checking logic: no broker, no Kafka client, no Robot Framework.

Modelled on Kafka's VerifiableProducer / ``validate_delivery`` and Jepsen's kafka
test: every send gets a traceable payload (:mod:`.payload`), its outcome is kept
in a compact history (:mod:`.history`), one fresh consumer's read-back is judged
against it (:mod:`.verdict`) and the result is rendered for the Robot log
(:mod:`.report`). A :class:`.run.Run` ties a history to the producer writing it.
"""

from .history import ACKED, FAILED, PENDING, UNKNOWN, Fault, SendHistory
from .payload import make_payload, parse_payload, payload_maker, seq_parser
from .run import Run
from .verdict import Verdict, check, fault_figures

__all__ = [
    "ACKED", "FAILED", "PENDING", "UNKNOWN", "Fault", "SendHistory",
    "make_payload", "parse_payload", "payload_maker", "seq_parser",
    "Run", "Verdict", "check", "fault_figures",
]
