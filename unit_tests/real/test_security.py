"""Security: settings validation and masking (no Docker), and real SASL_SSL and mutual-TLS brokers.

The real-broker tests also pin down what each client library reports for each
mistake and how long it takes, so the keywords can rely on it:

- kafka-python 3.0.12 always raises ``KafkaTimeoutError: Unable to bootstrap
  from HOST:PORT`` after ``bootstrap_timeout_ms``; the cause is only in its log.
- librdkafka (confluent-kafka 2.16.1) retries forever; the cause comes through
  ``error_cb`` while the client is polled.
- ``check_connection``/``diagnose`` ask the broker directly and answer in well
  under a second.
"""

import dataclasses
import gc
import os
import re
import shutil
import tempfile
import time
import unittest
import uuid
import warnings

import confluent_kafka
import docker
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError

from KafkaPersistenceLibrary.broker.labels import labels_for
from KafkaPersistenceLibrary.broker.ports import free_loopback_port
from KafkaPersistenceLibrary.errors import KafkaPersistenceError
from KafkaPersistenceLibrary.image import image_for_version, resolve_image
from KafkaPersistenceLibrary.security import (
    ClientSecurity,
    broker_security,
    capture_kafka_python_log,
    diagnose,
    explain_client_error,
    explain_kafka_python_log,
    generate_certificates,
)
from unit_tests.fast.test_security_settings import SECRET, CertificateFiles, properties_unescape, write  # noqa: F401
from unit_tests.security_helpers import INTERNAL_PORT, java_properties, server_properties

READY_TIMEOUT = 60
KAFKA_PYTHON_BOOTSTRAP_MS = 1500  # how long kafka-python tries before "Unable to bootstrap"


def node_environment(properties: dict, cluster_id: str) -> dict:
    """A single combined node's KAFKA_* variables (the images' env interface), plus ours on top."""
    base = {
        "node.id": "1", "process.roles": "broker,controller", "controller.quorum.voters": "1@localhost:9093",
        "controller.listener.names": "CONTROLLER", "log.dirs": "/var/lib/kafka/data",
        "offsets.topic.replication.factor": "1", "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1", "group.initial.rebalance.delay.ms": "0",
    }
    base.update(properties)
    env = {"KAFKA_" + name.replace("_", "__").replace("-", "___").replace(".", "_").upper(): value
           for name, value in base.items()}
    env["CLUSTER_ID"] = cluster_id
    return env


class Node:
    """One broker container with a secured CLIENT listener on 127.0.0.1:P (inside the container too)."""

    def __init__(self, security, owner: str):
        self.security = security
        self.client = docker.from_env()
        for _ in range(5):
            self.port, self.internal_port = free_loopback_port(), free_loopback_port()
            environment = node_environment(server_properties(security, self.port, client_port=self.port),
                                           "security-test-" + uuid.uuid4().hex[:10])
            try:
                self.container = self.client.containers.run(
                    resolve_image(None), detach=True, environment=environment, labels=labels_for(owner),
                    name=f"kafka-persistence-security-{uuid.uuid4().hex[:10]}",
                    ports={f"{self.port}/tcp": ("127.0.0.1", self.port),
                           f"{INTERNAL_PORT}/tcp": ("127.0.0.1", self.internal_port)})
                break
            except docker.errors.APIError as error:
                if "already allocated" not in str(error) and "address already in use" not in str(error):
                    raise
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.internal = f"127.0.0.1:{self.internal_port}"

    def wait_ready(self, who: ClientSecurity, timeout: float = READY_TIMEOUT) -> float:
        started = time.monotonic()
        cause = "not tried"
        while time.monotonic() - started < timeout:
            self.container.reload()
            if self.container.status not in ("created", "running"):
                break
            cause = diagnose(self.bootstrap, who, 2)
            if cause is None:
                return time.monotonic() - started
            time.sleep(0.2)
        tail = self.container.logs(tail=15).decode("utf-8", "replace")
        raise AssertionError(f"broker not ready ({self.container.status}): {cause}\n{tail}")

    def remove(self):
        try:
            self.container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass


# Kafka's ConfigCommand is in kafka_2.13 up to 4.1 (kafka.admin.ConfigCommand); later releases moved it to the
# kafka-tools jar, which our image of them does not hold. So it runs from our 4.1.1 image (a tested version),
# in a container of its own on the host's loopback, against whichever broker the test started.
TOOLS_IMAGE_VERSION = "4.1.1"


def config_command(properties: str, *arguments: str) -> str:
    """Run Kafka's ConfigCommand with ``--command-config`` holding ``properties``; return its output."""
    client = docker.from_env()
    script = ('printf "%s" "$CLIENT_PROPERTIES" > /tmp/client.properties && exec java -Xmx128m '
              '-XX:TieredStopAtLevel=1 -cp "/opt/kafka/libs/*" '
              '-Dlog4j2.configurationFile=/etc/kafka/docker/tools-log4j2.yaml kafka.admin.ConfigCommand '
              '--command-config /tmp/client.properties "$@"')
    container = client.containers.run(image_for_version(TOOLS_IMAGE_VERSION, log=lambda _: None),
                                      ["bash", "-c", script, "config-command", *arguments], detach=True,
                                      network_mode="host", environment={"CLIENT_PROPERTIES": properties},
                                      labels=labels_for("security tests (ConfigCommand)"))
    try:
        exit_code = container.wait(timeout=120)["StatusCode"]
        output = container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)
        client.close()
    assert exit_code == 0, output[-2000:]
    return output


def kafka_python_attempt(bootstrap: str, security: ClientSecurity):
    """Try to connect with kafka-python; return (exception, seconds, log messages)."""
    started = time.monotonic()
    with capture_kafka_python_log() as log, warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # kafka-python leaves the failed sockets to the GC
        try:
            KafkaProducer(bootstrap_servers=bootstrap, bootstrap_timeout_ms=KAFKA_PYTHON_BOOTSTRAP_MS,
                          **security.kafka_python()).close()
            error = None
        except Exception as caught:  # noqa: BLE001 - what it raises is what we measure
            error = caught
        seconds = time.monotonic() - started
        gc.collect()
    return error, seconds, list(log)


class LibrdkafkaErrors:
    """An ``error_cb`` for confluent-kafka that keeps the errors that will not go away by retrying.

    librdkafka retries authentication and TLS failures forever and reports them
    only here (codes ``_AUTHENTICATION`` and ``_SSL``, measured within ~0.3 s of
    the first poll). Pass it as ``error_cb``, keep polling, and call
    :meth:`raise_if_hopeless` in the loop to stop at once with the cause.
    """

    HOPELESS = ("_AUTHENTICATION", "_SSL", "_UNSUPPORTED_FEATURE", "SASL_AUTHENTICATION_FAILED")
    # A transport error with these words is the broker refusing our client certificate (TLS 1.3
    # sends that alert after the handshake, so librdkafka files it under _TRANSPORT).
    HOPELESS_TRANSPORT = ("alert certificate required", "alert unknown ca", "alert bad certificate",
                          "alert certificate unknown")

    def __init__(self, security: ClientSecurity, where: str):
        self.security, self.where = security, where
        self.errors: list[tuple[str, str]] = []

    def __call__(self, error) -> None:
        self.errors.append((error.name(), error.str()))

    def hopeless(self) -> "tuple[str, str] | None":
        """The first error that retrying will not cure, as (librdkafka error name, text), or None."""
        for name, text in self.errors:
            if name in self.HOPELESS or (name == "_TRANSPORT" and any(w in text for w in self.HOPELESS_TRANSPORT)):
                return name, text
        return None

    def raise_if_hopeless(self) -> None:
        found = self.hopeless()
        if found:
            name, text = found
            cause = explain_client_error(f"{name} {text}", self.security, self.where)
            raise KafkaPersistenceError(cause or f"Kafka at {self.where}: {self.security.mask(text)}")


def librdkafka_attempt(bootstrap: str, security: ClientSecurity, seconds: float = 3.0):
    """Poll a confluent-kafka producer until a hopeless error or ``seconds``; return (watcher, seconds)."""
    errors = LibrdkafkaErrors(security, bootstrap)
    producer = confluent_kafka.Producer(dict(security.librdkafka(), **{
        "bootstrap.servers": bootstrap, "error_cb": errors, "log_level": 0}))
    started = time.monotonic()
    while errors.hopeless() is None and time.monotonic() - started < seconds:
        producer.poll(0.05)
    return errors, time.monotonic() - started


def produce_both(bootstrap: str, security: ClientSecurity, topic: str, tag: str) -> list[bytes]:
    values = [f"kafka-python {tag}".encode(), f"confluent-kafka {tag}".encode()]
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_block_ms=20000, **security.kafka_python())
    try:
        producer.send(topic, values[0]).get(timeout=20)
    finally:
        producer.close()
    outcome = []
    confluent = confluent_kafka.Producer(dict(security.librdkafka(), **{"bootstrap.servers": bootstrap, "acks": "all"}))
    confluent.produce(topic, values[1], on_delivery=lambda error, message: outcome.append(error))
    confluent.flush(20)
    assert outcome == [None], outcome
    return values


def consume_both(bootstrap: str, security: ClientSecurity, topic: str, count: int) -> tuple[list, list]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             **security.kafka_python())
    python_values = []
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        deadline = time.monotonic() + 15
        while len(python_values) < count and time.monotonic() < deadline:
            python_values += [m.value for ms in consumer.poll(timeout_ms=500).values() for m in ms]
    finally:
        consumer.close()
    confluent = confluent_kafka.Consumer(dict(security.librdkafka(), **{
        "bootstrap.servers": bootstrap, "group.id": "security-test", "enable.auto.commit": False}))
    confluent_values = []
    try:
        confluent.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
        deadline = time.monotonic() + 15
        while len(confluent_values) < count and time.monotonic() < deadline:
            confluent_values += [m.value() for m in confluent.consume(100, timeout=0.5) if m.error() is None]
    finally:
        confluent.close()
    return python_values, confluent_values


class RealBrokerTest(unittest.TestCase):
    """A SASL_SSL broker (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and an mTLS (SSL) broker, started side by side."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="kpl-security-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.sasl = broker_security("sasl_ssl", os.path.join(cls.dir, "sasl"), username="alice", password=SECRET)
        cls.mtls = broker_security("ssl", os.path.join(cls.dir, "mtls"))
        cls.other = generate_certificates(os.path.join(cls.dir, "other"))
        cls.sasl_node = Node(cls.sasl, "security tests (SASL_SSL)")
        cls.addClassCleanup(cls.sasl_node.remove)
        cls.mtls_node = Node(cls.mtls, "security tests (mTLS)")
        cls.addClassCleanup(cls.mtls_node.remove)
        cls.sasl_node.wait_ready(cls.sasl.readiness)
        cls.users_seconds = cls.sasl.create_users(cls.sasl_node.bootstrap, 20)
        cls.mtls_node.wait_ready(cls.mtls.readiness)

    def client(self, **changes) -> ClientSecurity:
        return dataclasses.replace(self.sasl.client, **changes)

    def topic(self) -> str:
        return f"{self._testMethodName}-{uuid.uuid4().hex[:6]}"

    def test_each_mechanism_produces_and_consumes_with_both_clients(self):
        topic, sent = self.topic(), []
        for mechanism in ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"):
            sent += produce_both(self.sasl_node.bootstrap, self.client(sasl_mechanism=mechanism), topic, mechanism)
        python_values, confluent_values = consume_both(self.sasl_node.bootstrap, self.client(), topic, len(sent))
        self.assertEqual(sorted(python_values), sorted(sent))
        self.assertEqual(sorted(confluent_values), sorted(sent))
        self.assertLess(self.users_seconds, 5, "creating and checking the SCRAM users")

    def test_wrong_password(self):
        bootstrap = self.sasl_node.bootstrap
        for mechanism, broker_says in (
                ("SCRAM-SHA-512", "Authentication failed during authentication due to invalid credentials with SASL "
                                  "mechanism SCRAM-SHA-512"),
                ("SCRAM-SHA-256", "Authentication failed during authentication due to invalid credentials with SASL "
                                  "mechanism SCRAM-SHA-256"),
                ("PLAIN", "Authentication failed: Invalid username or password")):
            with self.subTest(mechanism):
                wrong = self.client(sasl_mechanism=mechanism, password="not-" + SECRET)
                expected = (f"Authentication failed for user 'alice' with {mechanism} on {bootstrap} (wrong password, "
                            f"or no such user?): the broker says: {broker_says}")
                started = time.monotonic()
                self.assertEqual(diagnose(bootstrap, wrong), expected)
                self.assertLess(time.monotonic() - started, 2)  # ~0.3 s: the broker delays failed logins

                error, seconds, log = kafka_python_attempt(bootstrap, wrong)
                self.assertIsInstance(error, KafkaTimeoutError)
                self.assertEqual(str(error), f"KafkaTimeoutError: Unable to bootstrap from {bootstrap}")
                self.assertGreaterEqual(seconds, KAFKA_PYTHON_BOOTSTRAP_MS / 1000 - 0.1)  # no early exit
                if any("SaslAuthenticationFailedError" in m for m in log):
                    self.assertTrue(any(broker_says in m for m in log), log)
                    self.assertEqual(explain_kafka_python_log(log, wrong, bootstrap), expected)
                else:  # measured: now and then kafka-python only sees the close that follows the broker's answer
                    self.assertIsNone(explain_kafka_python_log(log, wrong, bootstrap), log)

                errors, seconds = librdkafka_attempt(bootstrap, wrong)
                name, text = errors.hopeless()
                self.assertEqual(name, "_AUTHENTICATION")
                self.assertIn(f"SASL authentication error: {broker_says}", text)
                self.assertLess(seconds, 3)
                with self.assertRaises(KafkaPersistenceError) as raised:
                    errors.raise_if_hopeless()
                self.assertEqual(str(raised.exception), expected)
                self.assertNotIn(SECRET, str(raised.exception) + str(log) + str(errors.errors))

    def test_client_without_tls_on_the_tls_listener(self):
        bootstrap = self.sasl_node.bootstrap
        for security in (ClientSecurity(), ClientSecurity.from_arguments("SASL_PLAINTEXT", "SCRAM-SHA-512", "alice",
                                                                         SECRET)):
            with self.subTest(security.protocol):
                self.assertEqual(diagnose(bootstrap, security),
                                 f"The broker expects TLS on {bootstrap}: use security_protocol=SASL_SSL (with "
                                 f"ca_file).")
                error, _, log = kafka_python_attempt(bootstrap, security)
                self.assertIsInstance(error, KafkaTimeoutError)
                # kafka-python reads the broker's TLS alert as a frame size (0x1503xxxx), but only when the
                # alert arrives before the close: sometimes all it logs is "socket disconnected".
                if any(re.search(r"Invalid frame length: 35\d{7}", m) for m in log):
                    self.assertRegex(explain_kafka_python_log(log, security, bootstrap), r"^The broker expects TLS on ")
                else:
                    self.assertTrue(all("socket disconnected" in m or "Bootstrap" in m for m in log), log)
                    self.assertIsNone(explain_kafka_python_log(log, security, bootstrap))
                errors, seconds = librdkafka_attempt(bootstrap, security, seconds=1.5)
                self.assertIsNone(errors.hopeless(), "librdkafka cannot tell this from a broker that went away")
                self.assertIn("_ALL_BROKERS_DOWN", [name for name, _ in errors.errors])

    def test_untrusted_ca(self):
        bootstrap = self.sasl_node.bootstrap
        stranger = self.client(ca_file=self.other.ca_file)
        cause = diagnose(bootstrap, stranger)
        self.assertRegex(cause, rf"^TLS handshake with {bootstrap} failed: the broker's certificate is not trusted by "
                                rf"ca_file {re.escape(self.other.ca_file)} \(it was issued by 'CN=Throw-away test CA .*"
                                rf"'\); verify error: self-signed certificate in certificate chain\.$")
        error, _, log = kafka_python_attempt(bootstrap, stranger)
        self.assertIsInstance(error, KafkaTimeoutError)
        self.assertTrue(any("CERTIFICATE_VERIFY_FAILED" in m for m in log), log)
        self.assertEqual(explain_kafka_python_log(log, stranger, bootstrap),
                         f"TLS handshake with {bootstrap} failed: the broker's certificate is not trusted by ca_file "
                         f"{self.other.ca_file}.")
        errors, seconds = librdkafka_attempt(bootstrap, stranger)
        name, text = errors.hopeless()
        self.assertEqual(name, "_SSL")
        self.assertIn("certificate verify failed", text)
        self.assertLess(seconds, 2)

    def test_tls_client_on_a_plaintext_listener(self):
        internal = self.sasl_node.internal
        self.assertEqual(diagnose(internal, self.client()),
                         f"The broker does not speak TLS on {internal}: use security_protocol=PLAINTEXT there, or the "
                         f"address of its TLS listener.")
        self.assertIsNone(diagnose(internal, ClientSecurity()))

    def test_tls_without_sasl_on_the_sasl_listener(self):
        bootstrap = self.sasl_node.bootstrap
        cause = diagnose(bootstrap, ClientSecurity.from_arguments("SSL", ca_file=self.sasl.client.ca_file))
        self.assertRegex(cause, rf"^The broker on {bootstrap} expects SASL authentication \(it offers (PLAIN|SCRAM-SHA"
                                rf"-256|SCRAM-SHA-512)(, (PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)){{2}}\): use "
                                rf"security_protocol=SASL_SSL with sasl_mechanism, username and password\.$")

    def test_java_client_properties_work_for_kafka_tools(self):
        node = self.sasl_node
        output = config_command(java_properties(self.client(), embed_files=True), "--bootstrap-server", node.bootstrap,
                                "--describe", "--entity-type", "users", "--entity-name", "alice")
        self.assertRegex(output, r"SCRAM credential configs for user-principal 'alice' are "
                                 r"SCRAM-SHA-(256|512)=iterations=4096, SCRAM-SHA-(256|512)=iterations=4096")
        mtls = self.mtls_node
        output = config_command(java_properties(self.mtls.client, embed_files=True), "--bootstrap-server",
                                mtls.bootstrap, "--describe", "--entity-type", "brokers", "--entity-name", "1")
        self.assertIn("Dynamic configs for broker 1 are:", output)

    def test_mutual_tls(self):
        bootstrap, client = self.mtls_node.bootstrap, self.mtls.client
        topic = self.topic()
        sent = produce_both(bootstrap, client, topic, "mTLS")
        python_values, confluent_values = consume_both(bootstrap, client, topic, len(sent))
        self.assertEqual((sorted(python_values), sorted(confluent_values)), (sorted(sent), sorted(sent)))

        no_certificate = dataclasses.replace(client, cert_file=None, key_file=None)
        self.assertEqual(diagnose(bootstrap, no_certificate),
                         f"The broker on {bootstrap} requires a client certificate: give cert_file and key_file.")
        error, _, log = kafka_python_attempt(bootstrap, no_certificate)
        self.assertTrue(any("TLSV13_ALERT_CERTIFICATE_REQUIRED" in m for m in log), log)
        errors, seconds = librdkafka_attempt(bootstrap, no_certificate)
        name, text = errors.hopeless()
        self.assertEqual(name, "_TRANSPORT")
        self.assertIn("tlsv13 alert certificate required", text)

        foreign = dataclasses.replace(client, cert_file=self.other.client_cert_file,
                                      key_file=self.other.client_key_file)
        self.assertEqual(diagnose(bootstrap, foreign),
                         f"The broker on {bootstrap} rejected the client certificate in {self.other.client_cert_file} "
                         f"(sslv3 alert certificate unknown): it is not signed by a CA the broker trusts.")
        self.assertEqual(diagnose(bootstrap, ClientSecurity()),
                         f"The broker expects TLS on {bootstrap}: use security_protocol=SSL or SASL_SSL with ca_file, "
                         f"cert_file and key_file (it requires a client certificate).")

    def test_broker_log_holds_no_secret(self):
        key_body = self.sasl.certificates.read(self.sasl.certificates.broker_key_file).decode().splitlines()[1]
        for node in (self.sasl_node, self.mtls_node):
            log = node.container.logs().decode("utf-8", "replace")
            self.assertIn("Kafka Server started", log)
            for secret in (SECRET, self.sasl.admin_password, "PRIVATE KEY", key_body):
                self.assertNotIn(secret, log)

    def test_users_and_records_survive_a_restart(self):
        node, topic = self.sasl_node, self.topic()
        sent = produce_both(node.bootstrap, self.client(), topic, "before restart")
        node.container.restart(timeout=20)
        node.wait_ready(self.client(sasl_mechanism="SCRAM-SHA-256"))  # the SCRAM user itself, not the admin
        python_values, confluent_values = consume_both(node.bootstrap, self.client(), topic, len(sent))
        self.assertEqual((sorted(python_values), sorted(confluent_values)), (sorted(sent), sorted(sent)))


if __name__ == "__main__":
    unittest.main()
