"""Security for Kafka clients and for our own broker: TLS, SASL (PLAIN, SCRAM), throw-away certificates.

- :mod:`.settings`: :class:`ClientSecurity`, a validated value built from keyword
  arguments, with translations for kafka-python and librdkafka.
- :mod:`.certificates`: a throw-away CA with broker and client certificates.
- :mod:`.broker`: :func:`broker_security`, the properties of a secured client
  listener of our broker and the SCRAM users it needs.
- :mod:`.diagnose`: :func:`check_connection`, the one-line cause of a failing
  connection, found by asking the broker itself.

Where the library uses it: ``Connect Kafka`` builds a ``ClientSecurity`` and calls
``check_connection`` (external/connected.py); every client gets its settings from
clients/connection.py; ``Start Kafka  security=`` plans the client listener with
``broker_security`` (broker/own.py) and creates its SCRAM users after start.
"""

from .broker import BrokerSecurity, broker_security
from .certificates import GeneratedCertificates, generate_certificates
from .diagnose import (
                       capture_kafka_python_log,
                       check_connection,
                       diagnose,
                       explain_client_error,
                       explain_kafka_python_log,
)
from .settings import MASK, MECHANISMS, PLAINTEXT_SECURITY, PROTOCOLS, ClientSecurity

__all__ = [
    "BrokerSecurity", "broker_security", "GeneratedCertificates", "generate_certificates",
    "capture_kafka_python_log", "check_connection", "diagnose", "explain_client_error",
    "explain_kafka_python_log", "MASK", "MECHANISMS", "PLAINTEXT_SECURITY", "PROTOCOLS", "ClientSecurity"]
