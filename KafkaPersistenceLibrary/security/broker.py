"""A secured client listener for our own broker: properties, certificates and SCRAM users.

Only the ``CLIENT`` listener (published on 127.0.0.1; broker/environment.py lays
out the listeners) carries the chosen protocol (PLAINTEXT, SSL, SASL_PLAINTEXT or
SASL_SSL); SASL listeners offer PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 at once.
Inter-broker and controller traffic stay PLAINTEXT on the private network. (The
listener names avoid "SSL://" and "SASL_" on purpose: the official apache/kafka
image's start script switches on its own file-based SSL/JAAS checks when
``KAFKA_ADVERTISED_LISTENERS`` contains them.)

TLS material goes *inline* into the properties (``ssl.keystore.type=PEM``,
``ssl.keystore.key``, ``ssl.keystore.certificate.chain``,
``ssl.truststore.certificates``), escaped for a properties file. Measured with
Kafka 4.1.1: KafkaDockerWrapper writes every ``KAFKA_*`` value verbatim as
``name=value`` into server.properties, so a raw multi-line PEM breaks the file
("No matching PRIVATE KEY entries in PEM file") while ``\\n``-escaped PEM is read
back by ``java.util.Properties`` as the original text and the broker starts. So
the same environment works for our image and apache/kafka, needs no file in the
container (no bind mount, no ``put_archive`` between create and start) and
survives restarts. The broker does not log listener-prefixed values (the tests
check its log for the keys and passwords); ``docker inspect`` does show them, as
it shows every environment variable: fine for a throw-away CA on 127.0.0.1.

SCRAM users cannot be made at format time through the images' env interface
(KafkaDockerWrapper runs ``kafka-storage format`` with only ``--cluster-id`` and
``-c``, never ``--add-scram``), so they are created after start through the Admin
API (AlterUserScramCredentials), logged in as a PLAIN admin user that the
listener's JAAS config defines. They live in the KRaft metadata log, so they
survive restarts like the data.
"""

import dataclasses
import re
import secrets
import time

from kafka import KafkaAdminClient
from kafka.admin import UserScramCredentialUpsertion
from kafka.errors import KafkaError

from ..choices import by_value
from ..errors import KafkaPersistenceError
from .certificates import GeneratedCertificates, generate_certificates
from .diagnose import capture_kafka_python_log, diagnose, explain_kafka_python_log
from .settings import MASK, PLAINTEXT, SASL_PLAINTEXT, SASL_SSL, SSL, ClientSecurity, properties_escape

CLIENT_LISTENER = "CLIENT"
ENABLED_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
SECURITY_CHOICES = {"plaintext": PLAINTEXT, "ssl": SSL, "sasl_plaintext": SASL_PLAINTEXT, "sasl_ssl": SASL_SSL}
DEFAULT_USERNAME = "tester"
ADMIN_USERNAME = "kafka-persistence-admin"
DEFAULT_CLIENT_MECHANISM = "SCRAM-SHA-512"
_USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
_SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


@dataclasses.dataclass(frozen=True, repr=False)
class BrokerSecurity:
    """What a node needs to serve a secured client listener, and what a test needs to use it.

    Build it with :func:`broker_security`. ``client`` is what tests connect
    with; ``admin`` (SASL only) is the PLAIN identity defined in the broker's
    JAAS config, usable as soon as the broker serves (for readiness and for
    :meth:`create_users`); ``client`` SCRAM logins work once :meth:`create_users` ran.
    """

    protocol: str
    client: ClientSecurity
    admin: "ClientSecurity | None"
    certificates: "GeneratedCertificates | None"
    mutual_tls: bool
    username: "str | None"
    password: "str | None"
    admin_password: "str | None"

    @property
    def readiness(self) -> ClientSecurity:
        """The identity that works from the broker's first second (before :meth:`create_users`)."""
        return self.admin or self.client

    def client_listener_properties(self) -> dict:
        """Just the TLS and SASL settings of the ``CLIENT`` listener (``listener.name.client.*``)."""
        props: dict = {}
        prefix = f"listener.name.{CLIENT_LISTENER.lower()}."
        if self.certificates is not None:
            certs = self.certificates
            props.update({
                prefix + "ssl.keystore.type": "PEM",
                prefix + "ssl.keystore.key": _pem_value(certs.read(certs.broker_key_file)),
                prefix + "ssl.keystore.certificate.chain": _pem_value(certs.read(certs.broker_cert_file)),
                prefix + "ssl.truststore.type": "PEM",
                prefix + "ssl.truststore.certificates": _pem_value(certs.read(certs.ca_file)),
                prefix + "ssl.client.auth": "required" if self.mutual_tls else "none",
            })
        if self.admin is not None:
            plain_users = {ADMIN_USERNAME: self.admin_password, self.username: self.password}
            plain = " ".join(f'user_{name}="{_jaas_quote(password)}"' for name, password in plain_users.items())
            props.update({
                prefix + "sasl.enabled.mechanisms": ",".join(ENABLED_MECHANISMS),
                prefix + "plain.sasl.jaas.config": properties_escape(f"{_PLAIN_MODULE} required {plain};"),
                prefix + "scram-sha-256.sasl.jaas.config": f"{_SCRAM_MODULE} required;",
                prefix + "scram-sha-512.sasl.jaas.config": f"{_SCRAM_MODULE} required;",
            })
        return props

    def create_users(self, bootstrap: str, timeout: float) -> float:
        """Create the test user's SCRAM-SHA-256 and SCRAM-SHA-512 credentials; return the seconds it took.

        Returns once the broker accepts a SCRAM-SHA-512 and a SCRAM-SHA-256 login of
        the user (checked with :func:`.diagnose.diagnose`). Nothing to do without SASL.
        """
        started = time.monotonic()
        if self.admin is None:
            return 0.0
        deadline = started + timeout
        budget_ms = int(max(1.0, timeout) * 1000)
        with capture_kafka_python_log() as log:
            try:
                admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=budget_ms,
                                         bootstrap_timeout_ms=budget_ms, **self.admin.kafka_python())
            except KafkaError as error:
                cause = explain_kafka_python_log(log, self.admin, bootstrap) or f"{type(error).__name__}: {error}"
                raise KafkaPersistenceError(f"Cannot create SCRAM users on {bootstrap}: the admin login failed: "
                                            f"{self.admin.mask(cause)}") from None
        try:
            for mechanism in SCRAM_MECHANISMS:
                # One request per mechanism: Kafka 4.1 refuses two credentials of one user in one
                # request ("A user credential cannot be altered twice in the same request").
                result = admin.alter_user_scram_credentials(
                    [UserScramCredentialUpsertion(self.username, mechanism, self.password)])
                if result.get(self.username):
                    raise KafkaPersistenceError(f"The broker at {bootstrap} refused the {mechanism} credential of "
                                                f"'{self.username}': {result[self.username]}")
        except KafkaError as error:
            raise KafkaPersistenceError(f"Creating SCRAM users on {bootstrap} failed: "
                                        f"{self.admin.mask(str(error))}") from None
        finally:
            admin.close()
        for mechanism in reversed(SCRAM_MECHANISMS):
            user = dataclasses.replace(self.client, sasl_mechanism=mechanism)
            while True:  # the brokers apply the credential from the metadata log shortly after the controller
                cause = diagnose(bootstrap, user, max(0.5, deadline - time.monotonic()))
                if cause is None:
                    break
                if time.monotonic() >= deadline:
                    raise KafkaPersistenceError(f"The SCRAM user '{self.username}' does not work on {bootstrap} "
                                                f"within {timeout:g} s of its creation: {cause}")
                time.sleep(0.1)
        return time.monotonic() - started

    def describe(self) -> str:
        parts = [f"client listener {self.protocol}"]
        if self.certificates is not None:
            parts.append(f"throw-away CA {self.certificates.ca_file}"
                         + (", client certificates required" if self.mutual_tls else ""))
        if self.admin is not None:
            parts.append(f"user '{self.username}' (password {MASK}) for {', '.join(ENABLED_MECHANISMS)}")
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"BrokerSecurity({self.describe()})"

    __str__ = describe


def broker_security(security: str, directory: str, broker_hosts: "tuple[str, ...] | list[str]" = (),
                    username: "str | None" = None, password: "str | None" = None,
                    mutual_tls: "bool | None" = None, client_mechanism: str = DEFAULT_CLIENT_MECHANISM,
                    ) -> BrokerSecurity:
    """Plan a secured broker: ``security`` is plaintext, ssl, sasl_plaintext or sasl_ssl (any case).

    TLS choices generate a throw-away CA, broker and client certificates into
    ``directory`` (broker certificate valid for localhost, 127.0.0.1 and
    ``broker_hosts``). SASL choices define a user (``username``, default
    ``tester``; ``password``, default random) for PLAIN, SCRAM-SHA-256 and
    SCRAM-SHA-512, and a PLAIN admin with a random password. ``mutual_tls``
    (default: only for ``ssl``) makes the broker require client certificates; the
    returned ``client`` then carries the generated one. ``client_mechanism`` is the
    mechanism of the returned ``client`` (the broker offers all three).
    """
    choice = by_value(SECURITY_CHOICES, security, "Invalid security")
    protocol = SECURITY_CHOICES[choice]
    uses_tls, uses_sasl = protocol in (SSL, SASL_SSL), protocol in (SASL_PLAINTEXT, SASL_SSL)
    if mutual_tls is None:
        mutual_tls = protocol == SSL
    if mutual_tls and not uses_tls:
        raise KafkaPersistenceError(f"mutual_tls needs TLS, but security is {choice}: use ssl or sasl_ssl.")
    if not uses_sasl and (username is not None or password is not None):
        raise KafkaPersistenceError(f"username and password need SASL, but security is {choice}: use sasl_ssl or "
                                    f"sasl_plaintext, or leave them out.")
    if uses_sasl:
        username = username or DEFAULT_USERNAME
        if not _USERNAME.match(username) or username == ADMIN_USERNAME:
            raise KafkaPersistenceError(f"Invalid username '{username}' for the broker's user: use 1-64 letters, "
                                        f"digits, '.', '_' or '-' (and not '{ADMIN_USERNAME}').")
        if password is not None and not password:
            raise KafkaPersistenceError("Empty password for the broker's user: give one, or leave it out for a "
                                        "random one.")
        password = password or secrets.token_urlsafe(18)
    certificates = generate_certificates(directory, broker_hosts) if uses_tls else None
    tls = {}
    if certificates is not None:
        tls = dict(ca_file=certificates.ca_file)
        if mutual_tls:
            tls.update(cert_file=certificates.client_cert_file, key_file=certificates.client_key_file)
    admin = admin_password = None
    if uses_sasl:
        admin_password = secrets.token_urlsafe(18)
        admin = ClientSecurity(protocol=protocol, sasl_mechanism="PLAIN", username=ADMIN_USERNAME,
                               password=admin_password, **tls)
        client = ClientSecurity(protocol=protocol, sasl_mechanism=client_mechanism, username=username,
                                password=password, **tls)
    else:
        client = ClientSecurity(protocol=protocol, **tls)
    return BrokerSecurity(protocol=protocol, client=client, admin=admin, certificates=certificates,
                          mutual_tls=bool(mutual_tls), username=username if uses_sasl else None,
                          password=password if uses_sasl else None, admin_password=admin_password)


def _pem_value(data: bytes) -> str:
    return properties_escape(data.decode("ascii").strip() + "\n")


def _jaas_quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
