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
import datetime
import gc
import io
import os
import re
import shutil
import socket
import ssl
import tarfile
import tempfile
import threading
import time
import unittest
import uuid
import warnings

import confluent_kafka
import docker
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError

from KafkaPersistenceLibrary.errors import KafkaPersistenceError
from KafkaPersistenceLibrary.image import resolve_image
from KafkaPersistenceLibrary.labels import labels_for
from KafkaPersistenceLibrary.ports import free_loopback_port
from KafkaPersistenceLibrary.security import (MASK, ClientSecurity, LibrdkafkaErrors, broker_security,
                                              capture_kafka_python_log, check_connection, diagnose,
                                              explain_client_error, explain_kafka_python_log, generate_certificates,
                                              masked_config)
from KafkaPersistenceLibrary.security.broker import ADMIN_USERNAME, INTERNAL_PORT
from KafkaPersistenceLibrary.security.settings import properties_escape

SECRET = "pa$$ w0rd\\with\"quotes"  # spaces, backslash and quotes: every escaping layer is exercised
KEY_PASSWORD = "key-secret-123"


def write(path: str, data: bytes) -> str:
    with open(path, "wb") as file:
        file.write(data)
    return path


def properties_unescape(text: str) -> str:
    """What java.util.Properties.load makes of an escaped value (the subset we write)."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u":
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append({"n": "\n", "r": "\r", "t": "\t", "f": "\f"}.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


class CertificateFiles(unittest.TestCase):
    """Our own CA and one from elsewhere, plus the odd files a tester may hand us."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="kpl-security-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.certs = generate_certificates(os.path.join(cls.dir, "ours"), broker_hosts=["kafka-1", "10.9.8.7"])
        cls.other = generate_certificates(os.path.join(cls.dir, "other"))
        key = serialization.load_pem_private_key(cls.certs.read(cls.certs.client_key_file), None)
        cls.encrypted_key = write(os.path.join(cls.dir, "client-key-encrypted.pem"), key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(KEY_PASSWORD.encode())))
        cls.combined = write(os.path.join(cls.dir, "client-combined.pem"),
                             cls.certs.read(cls.certs.client_cert_file) + cls.certs.read(cls.certs.client_key_file))
        cert = x509.load_pem_x509_certificate(cls.certs.read(cls.certs.ca_file))
        cls.der = write(os.path.join(cls.dir, "ca.der"), cert.public_bytes(serialization.Encoding.DER))
        cls.text = write(os.path.join(cls.dir, "notes.txt"), b"not a certificate\n")
        old_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old CA")])
        past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
        expired = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(old_key.public_key())
                   .serial_number(1).not_valid_before(past).not_valid_after(past + datetime.timedelta(days=1))
                   .sign(old_key, hashes.SHA256()))
        cls.expired = write(os.path.join(cls.dir, "expired.pem"), expired.public_bytes(serialization.Encoding.PEM))

    def assertOneLineError(self, pattern: str, **arguments):
        with self.assertRaises(KafkaPersistenceError) as raised:
            ClientSecurity.from_arguments(**arguments)
        message = str(raised.exception)
        self.assertRegex(message, pattern)
        self.assertNotIn("\n", message)
        for secret in (SECRET, KEY_PASSWORD):
            self.assertNotIn(secret, message)
        self.assertIsNone(raised.exception.__cause__)
        self.assertTrue(raised.exception.__suppress_context__ or raised.exception.__context__ is None)
        return message


class SettingsTest(CertificateFiles):
    def test_nothing_given_is_plaintext(self):
        security = ClientSecurity.from_arguments()
        self.assertEqual(security.protocol, "PLAINTEXT")
        self.assertEqual(security.kafka_python(), {"security_protocol": "PLAINTEXT"})
        self.assertEqual(security.librdkafka(), {"security.protocol": "PLAINTEXT"})
        self.assertEqual(ClientSecurity.from_arguments("", "", "", "", "", "", "", ""), security)

    def test_names_and_case_are_normalised(self):
        security = ClientSecurity.from_arguments("sasl_ssl", "scram_sha_512", "alice", SECRET, self.certs.ca_file,
                                                 check_hostname="False")
        self.assertEqual((security.protocol, security.sasl_mechanism, security.check_hostname),
                         ("SASL_SSL", "SCRAM-SHA-512", False))

    def test_each_mistake_fails_in_one_line_naming_the_cause(self):
        ca, cert, key = self.certs.ca_file, self.certs.client_cert_file, self.certs.client_key_file
        sasl = dict(security_protocol="SASL_SSL", sasl_mechanism="PLAIN", username="alice", password=SECRET)
        cases = {
            r"^Unknown security_protocol 'TLS': use one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL\.$":
                dict(security_protocol="TLS"),
            r"^Unknown sasl_mechanism 'GSSAPI': use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512\.$":
                dict(sasl, sasl_mechanism="GSSAPI"),
            r"^sasl_mechanism=SCRAM-SHA-512 needs a SASL security_protocol":
                dict(sasl_mechanism="SCRAM-SHA-512", username="alice", password=SECRET),
            r"^sasl_mechanism is a SASL setting, but security_protocol is SSL: use SASL_SSL":
                dict(security_protocol="SSL", sasl_mechanism="PLAIN"),
            r"^username is a SASL setting, but security_protocol is PLAINTEXT":
                dict(username="alice", password=SECRET),
            r"^security_protocol=SASL_SSL needs sasl_mechanism \(PLAIN, SCRAM-SHA-256, SCRAM-SHA-512\), username "
            r"and password\.$": dict(security_protocol="SASL_SSL"),
            r"^security_protocol=SASL_PLAINTEXT needs password\.$":
                dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", username="alice"),
            r"^ca_file is a TLS setting, but security_protocol is SASL_PLAINTEXT: use SASL_SSL":
                dict(sasl, security_protocol="SASL_PLAINTEXT", ca_file=ca),
            r"^ca_file /nonexistent/ca\.pem does not exist\.$": dict(security_protocol="SSL", ca_file="/nonexistent/ca.pem"),
            r"is a directory: give the PEM file itself\.$": dict(security_protocol="SSL", ca_file=self.dir),
            r"^ca_file .*client-key\.pem holds a private key, not a certificate\.$":
                dict(security_protocol="SSL", ca_file=key),
            r"^ca_file .*notes\.txt is not a PEM certificate": dict(security_protocol="SSL", ca_file=self.text),
            r"^ca_file .*ca\.der is a DER \(binary\) certificate: give it in PEM form":
                dict(security_protocol="SSL", ca_file=self.der),
            r"^ca_file .*expired\.pem: its certificate expired \(on 2020-01-02":
                dict(security_protocol="SSL", ca_file=self.expired),
            r"^cert_file .*expired\.pem: the client certificate \(CN=old CA\) expired on 2020-01-02":
                dict(security_protocol="SSL", cert_file=self.expired, key_file=key),
            r"^cert_file .*client\.pem is given without key_file": dict(security_protocol="SSL", cert_file=cert),
            r"^key_file is given without cert_file": dict(security_protocol="SSL", key_file=key),
            r"^key_file .*client\.pem holds a certificate, not a private key":
                dict(security_protocol="SSL", cert_file=cert, key_file=cert),
            r"^key_file .*other/client-key\.pem is not the private key of the certificate in cert_file .*"
            r"\(CN=kafka-persistence-client\)\.$":
                dict(security_protocol="SSL", cert_file=cert, key_file=self.other.client_key_file),
            r"^key_file .*client-key-encrypted\.pem is encrypted: give its key_password\.$":
                dict(security_protocol="SSL", cert_file=cert, key_file=self.encrypted_key),
            r"^key_password does not decrypt key_file .*client-key-encrypted\.pem\.$":
                dict(security_protocol="SSL", cert_file=cert, key_file=self.encrypted_key, key_password="wrong"),
            r"^key_password is given, but key_file .* is not encrypted":
                dict(security_protocol="SSL", cert_file=cert, key_file=key, key_password=KEY_PASSWORD),
            r"^key_password is given without key_file": dict(security_protocol="SSL", key_password=KEY_PASSWORD),
            r"^Invalid check_hostname 'maybe': use True or False\.$": dict(security_protocol="SSL",
                                                                          check_hostname="maybe"),
        }
        for pattern, arguments in cases.items():
            with self.subTest(pattern):
                self.assertOneLineError(pattern, **arguments)

    def test_direct_construction_is_validated_too(self):
        with self.assertRaisesRegex(KafkaPersistenceError, "^Unknown sasl_mechanism"):
            ClientSecurity(protocol="SASL_SSL", sasl_mechanism="SCRAM", username="a", password="b")

    def test_encrypted_key_with_its_password_and_key_inside_cert_file(self):
        encrypted = ClientSecurity.from_arguments("SSL", ca_file=self.certs.ca_file,
                                                  cert_file=self.certs.client_cert_file,
                                                  key_file=self.encrypted_key, key_password=KEY_PASSWORD)
        self.assertEqual(encrypted.kafka_python()["ssl_password"], KEY_PASSWORD)
        self.assertEqual(encrypted.librdkafka()["ssl.key.password"], KEY_PASSWORD)
        combined = ClientSecurity.from_arguments("SSL", cert_file=self.combined)
        self.assertEqual(combined.key_file, combined.cert_file)

    def test_translations(self):
        security = ClientSecurity.from_arguments("SASL_SSL", "SCRAM-SHA-256", "alice", SECRET, self.certs.ca_file,
                                                 self.certs.client_cert_file, self.certs.client_key_file)
        self.assertEqual(security.kafka_python(), {
            "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256", "sasl_plain_username": "alice",
            "sasl_plain_password": SECRET, "ssl_check_hostname": True, "ssl_cafile": self.certs.ca_file,
            "ssl_certfile": self.certs.client_cert_file, "ssl_keyfile": self.certs.client_key_file})
        self.assertEqual(security.librdkafka(), {
            "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-256", "sasl.username": "alice",
            "sasl.password": SECRET, "ssl.endpoint.identification.algorithm": "https",
            "ssl.ca.location": self.certs.ca_file, "ssl.certificate.location": self.certs.client_cert_file,
            "ssl.key.location": self.certs.client_key_file})

    def test_java_properties(self):
        security = ClientSecurity.from_arguments("SASL_SSL", "SCRAM-SHA-512", "alice", SECRET, self.certs.ca_file,
                                                 self.certs.client_cert_file, self.encrypted_key, KEY_PASSWORD)
        props = dict(line.split("=", 1) for line in security.java_properties().splitlines())
        values = {name: properties_unescape(value) for name, value in props.items()}
        self.assertEqual(values["sasl.jaas.config"],
                         'org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" '
                         'password="pa$$ w0rd\\\\with\\"quotes";')
        self.assertEqual(values["ssl.truststore.location"], self.certs.ca_file)
        self.assertIn("-----BEGIN ENCRYPTED PRIVATE KEY-----\n", values["ssl.keystore.key"])  # PKCS#8, as Java needs
        self.assertEqual(values["ssl.key.password"], KEY_PASSWORD)
        embedded = dict(line.split("=", 1) for line in security.java_properties(embed_files=True).splitlines())
        self.assertEqual(properties_unescape(embedded["ssl.truststore.certificates"]),
                         self.certs.read(self.certs.ca_file).decode())
        self.assertNotIn("ssl.truststore.location", embedded)

    def test_secrets_never_shown(self):
        security = ClientSecurity.from_arguments("SASL_SSL", "PLAIN", "alice", SECRET, self.certs.ca_file,
                                                 self.certs.client_cert_file, self.encrypted_key, KEY_PASSWORD)
        for shown in (repr(security), str(security), security.describe(), f"{security}", str([security])):
            self.assertNotIn(SECRET, shown)
            self.assertNotIn(KEY_PASSWORD, shown)
            self.assertIn(MASK, shown)
        self.assertEqual(security.mask(f"login {SECRET} / {KEY_PASSWORD} failed"), f"login {MASK} / {MASK} failed")
        masked = masked_config(security.librdkafka())
        self.assertEqual((masked["sasl.password"], masked["ssl.key.password"]), (MASK, MASK))
        self.assertEqual(masked["sasl.username"], "alice")
        self.assertNotIn(SECRET, str(masked_config(security.kafka_python())))

    def test_properties_escape_round_trip(self):
        for text in ("plain", " leading space", "#not a comment", "a\\b", "line1\nline2\r\n", "tab\there",
                     "unicode é \x01", "-----BEGIN CERTIFICATE-----\nABC/+=\n-----END CERTIFICATE-----\n"):
            escaped = properties_escape(text)
            self.assertNotIn("\n", escaped)
            self.assertEqual(properties_unescape(escaped), text)


class CertificatesTest(CertificateFiles):
    def test_files_modes_and_names(self):
        certs = self.certs
        for path, mode in ((certs.ca_file, 0o644), (certs.broker_cert_file, 0o644), (certs.client_cert_file, 0o644),
                           (certs.broker_key_file, 0o600), (certs.client_key_file, 0o600)):
            self.assertEqual(os.stat(path).st_mode & 0o777, mode, path)
        self.assertEqual(sorted(os.listdir(certs.directory)),
                         ["broker-key.pem", "broker.pem", "ca.pem", "client-key.pem", "client.pem"])  # no CA key
        broker = x509.load_pem_x509_certificates(certs.read(certs.broker_cert_file))
        self.assertEqual(len(broker), 2, "the broker presents its certificate and the CA's")
        names = broker[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual([str(n) for n in names.get_values_for_type(x509.DNSName)], ["localhost", "kafka-1"])
        self.assertEqual([str(n) for n in names.get_values_for_type(x509.IPAddress)], ["127.0.0.1", "::1", "10.9.8.7"])
        self.assertIn(b"-----BEGIN PRIVATE KEY-----", certs.read(certs.broker_key_file))  # PKCS#8, unencrypted

    def test_chain_verifies_with_the_ca_only(self):
        context = ssl.create_default_context(cafile=self.certs.ca_file)
        context.load_cert_chain(self.certs.broker_cert_file, self.certs.broker_key_file)  # key matches
        ClientSecurity.from_arguments("SSL", ca_file=self.certs.ca_file, cert_file=self.certs.client_cert_file,
                                      key_file=self.certs.client_key_file)

    def test_bad_host_name(self):
        with self.assertRaisesRegex(KafkaPersistenceError, "^Invalid broker host name 'a b'"):
            generate_certificates(os.path.join(self.dir, "bad"), broker_hosts=["a b"])


class BrokerPropertiesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="kpl-security-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)

    def plan(self, choice, **kwargs):
        return broker_security(choice, os.path.join(self.dir, choice), **kwargs)

    def test_listeners_per_choice(self):
        for choice, protocol in (("plaintext", "PLAINTEXT"), ("ssl", "SSL"), ("sasl_plaintext", "SASL_PLAINTEXT"),
                                 ("SASL_SSL", "SASL_SSL")):
            with self.subTest(choice):
                security = self.plan(choice)
                props = security.server_properties(39092, node_host="kafka-1", controller=False)
                self.assertEqual(props["listener.security.protocol.map"],
                                 f"CLIENT:{protocol},INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT")
                self.assertEqual(props["listeners"], "CLIENT://0.0.0.0:9092,INTERNAL://0.0.0.0:9094")
                self.assertEqual(props["advertised.listeners"], "CLIENT://127.0.0.1:39092,INTERNAL://kafka-1:9094")
                self.assertEqual(props["inter.broker.listener.name"], "INTERNAL")
                # The official image's start script switches on file-based SSL/JAAS checks for these:
                self.assertNotIn("SSL://", props["advertised.listeners"])
                self.assertNotIn("SASL_", props["advertised.listeners"])
                self.assertEqual(security.client.protocol, protocol)
                for value in props.values():
                    self.assertNotIn("\n", value)

    def test_sasl_ssl_plan(self):
        security = self.plan("sasl_ssl", username="alice", password=SECRET)
        props = security.server_properties(39092)
        self.assertIn("CONTROLLER://0.0.0.0:9093", props["listeners"])
        self.assertEqual(props["listener.name.client.sasl.enabled.mechanisms"], "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512")
        self.assertEqual(props["listener.name.client.ssl.client.auth"], "none")
        jaas = properties_unescape(props["listener.name.client.plain.sasl.jaas.config"])
        self.assertIn('user_alice="pa$$ w0rd\\\\with\\"quotes"', jaas)
        self.assertIn(f'user_{ADMIN_USERNAME}="{security.admin_password}"', jaas)
        self.assertEqual(properties_unescape(props["listener.name.client.ssl.keystore.key"]),
                         security.certificates.read(security.certificates.broker_key_file).decode())
        self.assertEqual((security.client.sasl_mechanism, security.client.username, security.client.password),
                         ("SCRAM-SHA-512", "alice", SECRET))
        self.assertEqual(security.client.ca_file, security.certificates.ca_file)
        self.assertIsNone(security.client.cert_file)
        self.assertEqual(security.readiness, security.admin)
        shown = repr(security) + str(security.masked(props))
        for secret in (SECRET, security.admin_password, "PRIVATE KEY"):
            self.assertNotIn(secret, shown)

    def test_ssl_plan_requires_client_certificates(self):
        security = self.plan("ssl")
        self.assertTrue(security.mutual_tls)
        self.assertEqual(security.server_properties(1)["listener.name.client.ssl.client.auth"], "required")
        self.assertEqual(security.client.cert_file, security.certificates.client_cert_file)
        self.assertIsNone(security.admin)

    def test_random_passwords_differ(self):
        first, second = self.plan("sasl_plaintext"), self.plan("sasl_plaintext")
        self.assertNotEqual(first.password, second.password)
        self.assertGreaterEqual(len(first.password), 20)
        self.assertEqual(first.username, "tester")

    def test_bad_plans(self):
        cases = {
            r"^Unknown security 'tls': use one of plaintext, ssl, sasl_plaintext, sasl_ssl\.$": dict(security="tls"),
            r"^mutual_tls needs TLS, but security is sasl_plaintext": dict(security="sasl_plaintext", mutual_tls=True),
            r"^username and password need SASL, but security is ssl": dict(security="ssl", username="alice"),
            r"^Invalid username 'al ice'": dict(security="sasl_ssl", username="al ice"),
            r"^Empty password": dict(security="sasl_ssl", password=""),
        }
        for pattern, arguments in cases.items():
            with self.subTest(pattern), self.assertRaisesRegex(KafkaPersistenceError, pattern):
                broker_security(directory=os.path.join(self.dir, "bad"), **arguments)


class LocalTlsServer:
    """A TLS server on 127.0.0.2 (loopback) that hands out one certificate: enough for the TLS checks."""

    def __init__(self, cert_file: str, key_file: str, host: str = "127.0.0.2"):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_file, key_file)
        self.sock = socket.create_server((host, 0))
        self.address = f"{host}:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(10)
        for _ in range(4):
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except OSError:
                pass

    def close(self):
        self.sock.close()


class LocalTlsDiagnosisTest(CertificateFiles):
    """TLS causes that need no broker: a certificate for another name, an unreachable port."""

    def test_certificate_for_another_name(self):
        server = LocalTlsServer(self.certs.broker_cert_file, self.certs.broker_key_file)
        try:
            cause = diagnose(server.address, ClientSecurity.from_arguments("SSL", ca_file=self.certs.ca_file), 5)
        finally:
            server.close()
        self.assertEqual(cause, f"TLS handshake with {server.address} failed: the broker's certificate is not valid "
                                f"for '127.0.0.2' (it names localhost, kafka-1, 127.0.0.1, ::1, 10.9.8.7): connect by "
                                f"one of those names, or set check_hostname=False.")

    def test_nothing_listens(self):
        port = free_loopback_port()
        started = time.monotonic()
        with self.assertRaisesRegex(KafkaPersistenceError, rf"^Cannot reach Kafka at 127\.0\.0\.1:{port}: "
                                                           rf"connection refused"):
            check_connection(f"127.0.0.1:{port}", ClientSecurity(), 5)
        self.assertLess(time.monotonic() - started, 1)

    def test_silent_server_is_given_up_on_in_time(self):
        server = socket.create_server(("127.0.0.1", 0))
        accepted = []
        threading.Thread(target=lambda: [accepted.append(server.accept()) for _ in range(2)], daemon=True).start()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        try:
            for security, pattern in ((ClientSecurity(), r"did not answer a PLAINTEXT client in time"),
                                      (ClientSecurity.from_arguments("SSL"), r"TLS handshake .* did not finish in time")):
                started = time.monotonic()
                self.assertRegex(diagnose(address, security, 0.5), pattern)
                self.assertLess(time.monotonic() - started, 1.5)
        finally:
            server.close()
            for conn, _ in accepted:
                conn.close()

    def test_bad_bootstrap(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid bootstrap server 'localhost': use host:port"):
            check_connection("localhost", ClientSecurity())


class ClientErrorTextTest(unittest.TestCase):
    """The client libraries' own words (as measured against Kafka 4.1.1) and what we make of them."""

    WHERE = "127.0.0.1:39092"

    def explain(self, text, **settings):
        base = dict(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", username="alice", password=SECRET)
        base.update(settings)
        return explain_client_error(text, ClientSecurity.from_arguments(**base), self.WHERE)

    def test_texts(self):
        cases = {
            # kafka-python 3.0.12 (log messages):
            "<KafkaConnection node_id=bootstrap-0 broker_version=(4, 1) (disconnected)>: Connection lost: [Error 58] "
            "SaslAuthenticationFailedError: SaslAuthenticationFailedError: Authentication failed during "
            "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512":
                "Authentication failed for user 'alice' with SCRAM-SHA-512 on 127.0.0.1:39092 (wrong password, or "
                "no such user?): the broker says: Authentication failed during authentication due to invalid "
                "credentials with SASL mechanism SCRAM-SHA-512",
            "Connection lost: InvalidReceiveError: Invalid frame length: 352518912":
                "The broker expects TLS on 127.0.0.1:39092: use security_protocol=SSL or SASL_SSL (with ca_file).",
            "Connection failed: KafkaConnectionError: Handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
            "verify failed: self-signed certificate in certificate chain (_ssl.c:1006)":
                "TLS handshake with 127.0.0.1:39092 failed: the broker's certificate is not trusted by the system's "
                "trusted CAs (give ca_file).",
            "Connection lost: KafkaConnectionError: [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert "
            "certificate required (_ssl.c:2580)":
                "The broker on 127.0.0.1:39092 requires a client certificate: give cert_file and key_file.",
            # librdkafka 2.16.1 (error_cb: name and text):
            "_AUTHENTICATION sasl_ssl://127.0.0.1:39092/bootstrap: SASL authentication error: Authentication failed: "
            "Invalid username or password (after 302ms in state AUTH_REQ)":
                "Authentication failed for user 'alice' with SCRAM-SHA-512 on 127.0.0.1:39092 (wrong password, or "
                "no such user?): the broker says: Authentication failed: Invalid username or password",
            "_SSL sasl_ssl://127.0.0.1:39092/bootstrap: SSL handshake failed: error:0A000086:SSL routines::"
            "certificate verify failed: broker certificate could not be verified, verify that ssl.ca.location is "
            "correctly configured or root CA certificates are installed (install ca-certificates package) (after 3ms "
            "in state SSL_HANDSHAKE)":
                "TLS handshake with 127.0.0.1:39092 failed: the broker's certificate is not trusted by the system's "
                "trusted CAs (give ca_file).",
            "_TRANSPORT 127.0.0.1:39092/bootstrap: Connect to ipv4#127.0.0.1:39092 failed: Connection refused "
            "(after 0ms in state CONNECT)":
                "Cannot reach Kafka at 127.0.0.1:39092: connection refused (is the broker running, and is this its "
                "client port?).",
            # Texts that name no cause: the probe has to find it.
            "KafkaTimeoutError: Unable to bootstrap from 127.0.0.1:39092": None,
            "127.0.0.1:39092/bootstrap: Disconnected: connection closed by peer: receive 0 after POLLIN (after 1ms "
            "in state APIVERSION_QUERY)": None,
        }
        for text, expected in cases.items():
            with self.subTest(text[:60]):
                self.assertEqual(self.explain(text), expected)

    def test_password_in_a_text_is_masked(self):
        said = self.explain(f"SaslAuthenticationFailedError: Authentication failed: Invalid username or password "
                            f"{SECRET}")
        self.assertNotIn(SECRET, said)
        self.assertIn(MASK, said)


# -- real brokers ---------------------------------------------------------------------------------

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
            environment = node_environment(security.server_properties(self.port, client_port=self.port),
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

    def put_file(self, path: str, data: bytes, mode: int = 0o600):
        """Copy a file into the container (docker-py put_archive), owned by the image's appuser."""
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            info = tarfile.TarInfo(os.path.basename(path))
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, 1000, 1000, time.time()
            tar.addfile(info, io.BytesIO(data))
        if not self.container.put_archive(os.path.dirname(path), archive.getvalue()):
            raise AssertionError(f"put_archive refused {path}")

    def java_tool(self, *arguments: str) -> str:
        """Run one of Kafka's own tools inside the container; return its output."""
        result = self.container.exec_run(["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", "/opt/kafka/libs/*",
                                          "-Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.yaml",
                                          *arguments])
        output = result.output.decode("utf-8", "replace")
        assert result.exit_code == 0, output[-2000:]
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
        node.put_file("/tmp/client.properties", self.client().java_properties(embed_files=True).encode())
        output = node.java_tool("kafka.admin.ConfigCommand", "--bootstrap-server", node.bootstrap, "--command-config",
                                "/tmp/client.properties", "--describe", "--entity-type", "users", "--entity-name",
                                "alice")
        self.assertRegex(output, r"SCRAM credential configs for user-principal 'alice' are "
                                 r"SCRAM-SHA-(256|512)=iterations=4096, SCRAM-SHA-(256|512)=iterations=4096")
        mtls = self.mtls_node
        mtls.put_file("/tmp/client.properties", self.mtls.client.java_properties(embed_files=True).encode())
        output = mtls.java_tool("kafka.admin.ConfigCommand", "--bootstrap-server", mtls.bootstrap, "--command-config",
                                "/tmp/client.properties", "--describe", "--entity-type", "brokers", "--entity-name",
                                "1")
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
