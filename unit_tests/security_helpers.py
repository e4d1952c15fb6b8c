"""What the security tests need and the library does not: a whole secured node's properties, Java client properties.

The library writes only the ``CLIENT`` listener's TLS and SASL settings
(``BrokerSecurity.client_listener_properties``; broker/environment.py lays out its
listeners). unit_tests/real/test_security.py runs one broker by hand with these
properties and calls Kafka's own Java tools in it with ``java_properties``.
"""

from cryptography.hazmat.primitives import serialization

from KafkaPersistenceLibrary.security.broker import CLIENT_LISTENER, BrokerSecurity
from KafkaPersistenceLibrary.security.settings import (
    ClientSecurity,
    _load_certificates,
    _load_key,
    _read,
    properties_escape,
)

INTERNAL_LISTENER, CONTROLLER_LISTENER = "INTERNAL", "CONTROLLER"
CLIENT_PORT, CONTROLLER_PORT, INTERNAL_PORT = 9092, 9093, 9094


def server_properties(plan: BrokerSecurity, host_port: int, node_host: str = "localhost", controller: bool = True,
                      client_port: int = CLIENT_PORT) -> dict:
    """Kafka properties of one node: listeners, their protocols, TLS and SASL settings.

    ``host_port`` is the 127.0.0.1 port published for ``CLIENT`` (and
    advertised); ``node_host`` the node's name on the private network
    (advertised for ``INTERNAL``); ``controller`` whether the node also runs
    the KRaft controller (then ``CONTROLLER`` is among its listeners);
    ``client_port`` the container port of ``CLIENT`` (give ``host_port`` and
    publish ``127.0.0.1:P:P`` to make the advertised address work inside the
    container too, e.g. for Kafka's own tools run there). The
    caller keeps ``controller.listener.names``, ``controller.quorum.voters``
    and the rest.

    Values are escaped for a properties file (``\\n`` for a line break): that is
    how KafkaDockerWrapper needs them in ``KAFKA_*`` variables, and how they go
    into any server.properties. They hold secrets.
    """
    listeners = [f"{CLIENT_LISTENER}://0.0.0.0:{client_port}", f"{INTERNAL_LISTENER}://0.0.0.0:{INTERNAL_PORT}"]
    if controller:
        listeners.append(f"{CONTROLLER_LISTENER}://0.0.0.0:{CONTROLLER_PORT}")
    props = {
        "listeners": ",".join(listeners),
        "advertised.listeners": f"{CLIENT_LISTENER}://127.0.0.1:{host_port},"
                                f"{INTERNAL_LISTENER}://{node_host}:{INTERNAL_PORT}",
        "listener.security.protocol.map": f"{CLIENT_LISTENER}:{plan.protocol},{INTERNAL_LISTENER}:PLAINTEXT,"
                                          f"{CONTROLLER_LISTENER}:PLAINTEXT",
        "inter.broker.listener.name": INTERNAL_LISTENER,
    }
    props.update(plan.client_listener_properties())
    return props


def java_properties(security: ClientSecurity, embed_files: bool = False) -> str:
    """The settings as a Java client properties text (``--command-config`` of Kafka's tools).

    The CA is referenced by path (``ssl.truststore.type=PEM``), or embedded
    with ``embed_files=True`` so the text works where the file is not (e.g.
    inside a container). A client key and certificate are always embedded:
    Java reads them from one PEM store, and only in PKCS#8 form, so the key is
    re-written that way (encrypted with ``key_password`` when one is given).
    The text holds the password: treat it as a secret.
    """
    lines = [("security.protocol", security.protocol)]
    if security.uses_sasl:
        module = ("org.apache.kafka.common.security.plain.PlainLoginModule" if security.sasl_mechanism == "PLAIN"
                  else "org.apache.kafka.common.security.scram.ScramLoginModule")
        lines += [("sasl.mechanism", security.sasl_mechanism),
                  ("sasl.jaas.config", f'{module} required username="{_jaas_quote(security.username)}" '
                                       f'password="{_jaas_quote(security.password)}";')]
    if security.uses_tls:
        lines.append(("ssl.endpoint.identification.algorithm", "https" if security.check_hostname else ""))
        if security.ca_file:
            lines.append(("ssl.truststore.type", "PEM"))
            if embed_files:
                lines.append(("ssl.truststore.certificates", _read(security.ca_file, "ca_file").decode()))
            else:
                lines.append(("ssl.truststore.location", security.ca_file))
        if security.cert_file:
            key = _load_key(security.key_file, security.key_password)
            encryption = (serialization.BestAvailableEncryption(security.key_password.encode())
                          if security.key_password else serialization.NoEncryption())
            pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
            chain = b"".join(c.public_bytes(serialization.Encoding.PEM)
                             for c in _load_certificates(security.cert_file, "cert_file"))
            lines += [("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", chain.decode()),
                      ("ssl.keystore.key", pkcs8.decode())]
            if security.key_password:
                lines.append(("ssl.key.password", security.key_password))
    return "".join(f"{name}={properties_escape(value)}\n" for name, value in lines)


def _jaas_quote(text: str) -> str:
    """A JAAS option value inside double quotes (Kafka parses it with a StreamTokenizer)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
