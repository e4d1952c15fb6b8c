"""Security without Docker: settings validation and masking, certificates, broker properties, and the
diagnosis of TLS failures against a local TLS server on loopback (real brokers: unit_tests/real/test_security.py)."""

import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from KafkaPersistenceLibrary.broker.ports import free_loopback_port
from KafkaPersistenceLibrary.errors import KafkaPersistenceError
from KafkaPersistenceLibrary.security import (
    MASK,
    ClientSecurity,
    broker_security,
    check_connection,
    diagnose,
    explain_client_error,
    generate_certificates,
)
from KafkaPersistenceLibrary.security.broker import ADMIN_USERNAME
from KafkaPersistenceLibrary.security.settings import properties_escape
from unit_tests.security_helpers import java_properties, server_properties

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
        past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
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
            r"^Invalid security_protocol 'TLS': use one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL\.$":
                dict(security_protocol="TLS"),
            r"^Invalid sasl_mechanism 'GSSAPI': use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512\.$":
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
        with self.assertRaisesRegex(KafkaPersistenceError, "^Invalid sasl_mechanism"):
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
        props = dict(line.split("=", 1) for line in java_properties(security).splitlines())
        values = {name: properties_unescape(value) for name, value in props.items()}
        self.assertEqual(values["sasl.jaas.config"],
                         'org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" '
                         'password="pa$$ w0rd\\\\with\\"quotes";')
        self.assertEqual(values["ssl.truststore.location"], self.certs.ca_file)
        self.assertIn("-----BEGIN ENCRYPTED PRIVATE KEY-----\n", values["ssl.keystore.key"])  # PKCS#8, as Java needs
        self.assertEqual(values["ssl.key.password"], KEY_PASSWORD)
        embedded = dict(line.split("=", 1) for line in java_properties(security, embed_files=True).splitlines())
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
        """What a client and the broker check: each leaf chains to our CA (for its names), and to no other CA."""
        context = ssl.create_default_context(cafile=self.certs.ca_file)
        context.load_cert_chain(self.certs.broker_cert_file, self.certs.broker_key_file)  # key matches
        broker, *presented = x509.load_pem_x509_certificates(self.certs.read(self.certs.broker_cert_file))
        client = x509.load_pem_x509_certificate(self.certs.read(self.certs.client_cert_file))

        def verifier(certs):
            store = Store(x509.load_pem_x509_certificates(certs.read(certs.ca_file)))
            return PolicyBuilder().store(store)

        for host in (DNSName("localhost"), DNSName("kafka-1"), IPAddress(ipaddress.ip_address("127.0.0.1"))):
            chain = verifier(self.certs).build_server_verifier(host).verify(broker, presented)
            self.assertEqual(chain[-1].subject, x509.load_pem_x509_certificate(
                self.certs.read(self.certs.ca_file)).subject, host)
        verifier(self.certs).build_client_verifier().verify(client, [])
        with self.assertRaises(VerificationError):
            verifier(self.certs).build_server_verifier(DNSName("elsewhere.example")).verify(broker, presented)
        with self.assertRaises(VerificationError):
            verifier(self.other).build_server_verifier(DNSName("localhost")).verify(broker, presented)
        with self.assertRaises(VerificationError):
            verifier(self.other).build_client_verifier().verify(client, [])
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
                props = server_properties(security, 39092, node_host="kafka-1", controller=False)
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
        props = server_properties(security, 39092)
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
        for secret in (SECRET, security.admin_password, "PRIVATE KEY"):
            self.assertNotIn(secret, repr(security))

    def test_ssl_plan_requires_client_certificates(self):
        security = self.plan("ssl")
        self.assertTrue(security.mutual_tls)
        self.assertEqual(server_properties(security, 1)["listener.name.client.ssl.client.auth"], "required")
        self.assertEqual(security.client.cert_file, security.certificates.client_cert_file)
        self.assertIsNone(security.admin)

    def test_random_passwords_differ(self):
        first, second = self.plan("sasl_plaintext"), self.plan("sasl_plaintext")
        self.assertNotEqual(first.password, second.password)
        self.assertGreaterEqual(len(first.password), 20)
        self.assertEqual(first.username, "tester")

    def test_bad_plans(self):
        cases = {
            r"^Invalid security 'tls': use one of plaintext, ssl, sasl_plaintext, sasl_ssl\.$": dict(security="tls"),
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


if __name__ == "__main__":
    unittest.main()
