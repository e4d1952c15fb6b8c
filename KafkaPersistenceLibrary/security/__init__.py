"""Security for Kafka clients and for our own broker: TLS, SASL (PLAIN, SCRAM), throw-away certificates.

- :mod:`.settings`: :class:`ClientSecurity`, a validated value built from keyword
  arguments, with translations for kafka-python, librdkafka and Java clients.
- :mod:`.certificates`: a throw-away CA with broker and client certificates.
- :mod:`.broker`: :func:`broker_security`, the properties of a secured client
  listener of our broker and the SCRAM users it needs.
- :mod:`.diagnose`: :func:`check_connection`, the one-line cause of a failing
  connection, found by asking the broker itself.

Wiring it into the keywords:

- ``Connect Kafka``: ``security = ClientSecurity.from_arguments(**security_arguments)``
  (one-line errors before any network call), then ``check_connection(bootstrap,
  security)`` (one line naming the cause, in well under a second). Log
  ``security.describe()``; give ``**security.kafka_python()`` to every
  kafka-python client and merge ``security.librdkafka()`` into every
  confluent-kafka config, with ``error_cb=LibrdkafkaErrors(security, bootstrap)``
  and ``raise_if_hopeless()`` in its poll loops (librdkafka retries
  authentication and TLS failures forever). When a client fails later,
  ``explain_client_error`` or ``diagnose`` give the sentence; pass any other
  client text through ``security.mask``.
- ``Start Kafka  security=sasl_ssl``: ``plan = broker_security("sasl_ssl",
  directory, broker_hosts=[container names])`` (a per-cluster directory, removed
  with the cluster), merge ``plan.server_properties(host_port, node_host=name,
  controller=...)`` into each node's properties (they replace listeners,
  advertised.listeners, the protocol map and inter.broker.listener.name), wait
  for readiness as ``plan.readiness``, then ``plan.create_users(bootstrap,
  timeout)``, and hand ``plan.client`` to the test. Log ``plan.describe()`` and
  ``plan.masked(properties)``, never the properties themselves: they hold the
  broker's key and the JAAS passwords (so keep them out of messages that show the
  user's broker settings, too).
"""

from .broker import BrokerSecurity, broker_security
from .certificates import GeneratedCertificates, generate_certificates
from .diagnose import (
                       LibrdkafkaErrors,
                       capture_kafka_python_log,
                       check_connection,
                       diagnose,
                       explain_client_error,
                       explain_kafka_python_log,
)
from .settings import MASK, MECHANISMS, PLAINTEXT_SECURITY, PROTOCOLS, ClientSecurity, masked_config

__all__ = [
    "BrokerSecurity", "broker_security", "GeneratedCertificates", "generate_certificates",
    "LibrdkafkaErrors", "capture_kafka_python_log", "check_connection", "diagnose", "explain_client_error",
    "explain_kafka_python_log", "MASK", "MECHANISMS", "PLAINTEXT_SECURITY", "PROTOCOLS", "ClientSecurity",
    "masked_config",
]
