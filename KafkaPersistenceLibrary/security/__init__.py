"""Security for Kafka clients and for our own broker: TLS, SASL (PLAIN, SCRAM), throw-away certificates.

- :mod:`.settings`: :class:`ClientSecurity`, a validated value built from keyword
  arguments, with translations for kafka-python, librdkafka and Java clients.
- :mod:`.certificates`: a throw-away CA with broker and client certificates.
- :mod:`.broker`: :func:`broker_security`, the properties of a secured client
  listener of our broker and the SCRAM users it needs.
- :mod:`.diagnose`: :func:`check_connection`, the one-line cause of a failing
  connection, found by asking the broker itself.
"""

from .broker import BrokerSecurity, broker_security
from .certificates import GeneratedCertificates, generate_certificates
from .diagnose import (LibrdkafkaErrors, capture_kafka_python_log, check_connection, diagnose, explain_client_error,
                       explain_kafka_python_log)
from .settings import MASK, MECHANISMS, PLAINTEXT_SECURITY, PROTOCOLS, ClientSecurity, masked_config

__all__ = [
    "BrokerSecurity", "broker_security", "GeneratedCertificates", "generate_certificates",
    "LibrdkafkaErrors", "capture_kafka_python_log", "check_connection", "diagnose", "explain_client_error",
    "explain_kafka_python_log", "MASK", "MECHANISMS", "PLAINTEXT_SECURITY", "PROTOCOLS", "ClientSecurity",
    "masked_config",
]
