"""A throw-away certificate authority per cluster: CA, broker and client certificates as PEM files.

Made with the ``cryptography`` package (a pinned dependency, installed with the
rest by ``pip``) rather than the ``openssl`` tool: it needs nothing on PATH (the
``openssl`` package is only "optional" priority on Debian, and macOS ships
LibreSSL with other flags), no subprocess output to parse, and the same package
reads user-supplied PEM files for :mod:`.settings`' validation.

Keys are ECDSA P-256: generated in milliseconds (RSA 2048 takes ~50-100 ms each),
and accepted by Kafka's PEM key store (Java 17), Python's ``ssl`` (kafka-python)
and librdkafka's OpenSSL. Private keys are written as unencrypted PKCS#8
(``BEGIN PRIVATE KEY``), the form Kafka's PEM key store reads without a key
password, with mode 0600. The CA's private key is never written: it signs the
certificates below and is then forgotten, so nobody can sign more with it.
"""

import dataclasses
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import KafkaPersistenceError

DEFAULT_VALID_DAYS = 7
CLOCK_SKEW = datetime.timedelta(hours=1)  # a container or CI host whose clock is a little behind
ALWAYS_NAMED = ("localhost", "127.0.0.1", "::1")


@dataclasses.dataclass(frozen=True)
class GeneratedCertificates:
    """Paths of the PEM files written by :func:`generate_certificates`."""

    directory: str
    ca_file: str  # the CA certificate: what clients trust (ssl_cafile / ssl.ca.location)
    broker_cert_file: str  # broker certificate followed by the CA certificate (the chain it presents)
    broker_key_file: str  # the broker's private key, PKCS#8, unencrypted, mode 0600
    client_cert_file: str  # a client certificate for mTLS, signed by the same CA
    client_key_file: str  # its private key, PKCS#8, unencrypted, mode 0600
    broker_names: tuple[str, ...]  # the subject alternative names of the broker certificate
    client_name: str  # the client certificate's common name (its principal is "User:CN=<name>")
    not_after: datetime.datetime  # when all of them expire (UTC)

    def read(self, path: str) -> bytes:
        with open(path, "rb") as file:
            return file.read()


def generate_certificates(directory: str, broker_hosts: "tuple[str, ...] | list[str]" = (),
                          client_name: str = "kafka-persistence-client",
                          valid_days: int = DEFAULT_VALID_DAYS) -> GeneratedCertificates:
    """Create a new CA and sign a broker and a client certificate with it; write them into ``directory``.

    The broker certificate names ``localhost``, ``127.0.0.1``, ``::1`` and every
    name in ``broker_hosts`` (container host names, or IP addresses), so one
    certificate serves every node of a cluster and hostname verification stays on.
    ``directory`` is created (mode 0700) when missing; existing files are replaced.
    """
    names = _unique([*ALWAYS_NAMED, *(str(h).strip() for h in broker_hosts)])
    for name in names:
        if not name or any(c.isspace() for c in name) or "," in name:
            raise KafkaPersistenceError(f"Invalid broker host name {name!r} for the certificate: "
                                        f"give plain host names or IP addresses.")
    if not client_name or any(c in client_name for c in ",=+<>#;\"\\\n"):
        raise KafkaPersistenceError(f"Invalid client certificate name {client_name!r}: use letters, digits, '.', "
                                    f"'-' and '_'.")
    if valid_days < 1:
        raise KafkaPersistenceError(f"Invalid valid_days {valid_days}: certificates must be valid for at least 1 day.")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as error:
        raise KafkaPersistenceError(f"Cannot create the certificate directory {directory}: {error.strerror}.") from None

    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    not_before, not_after = now - CLOCK_SKEW, now + datetime.timedelta(days=valid_days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "KafkaPersistenceLibrary"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"Throw-away test CA {now:%Y-%m-%dT%H:%M:%SZ} "
                                                                 f"{os.urandom(4).hex()}")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(common_name: str, usage, alt_names):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        return key, builder.sign(ca_key, hashes.SHA256())

    broker_cn = next((name for name in names if name not in ALWAYS_NAMED), "localhost")
    broker_key, broker_cert = leaf(broker_cn, [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
                                   [_general_name(name) for name in names])
    client_key, client_cert = leaf(client_name, [ExtendedKeyUsageOID.CLIENT_AUTH], [x509.DNSName(client_name)]
                                   if _is_dns_name(client_name) else [])

    paths = {name: os.path.join(directory, name) for name in
             ("ca.pem", "broker.pem", "broker-key.pem", "client.pem", "client-key.pem")}
    _write(paths["ca.pem"], _pem(ca_cert), 0o644)
    _write(paths["broker.pem"], _pem(broker_cert) + _pem(ca_cert), 0o644)
    _write(paths["broker-key.pem"], _pkcs8(broker_key), 0o600)
    _write(paths["client.pem"], _pem(client_cert) + _pem(ca_cert), 0o644)
    _write(paths["client-key.pem"], _pkcs8(client_key), 0o600)
    return GeneratedCertificates(
        directory=directory, ca_file=paths["ca.pem"],
        broker_cert_file=paths["broker.pem"], broker_key_file=paths["broker-key.pem"],
        client_cert_file=paths["client.pem"], client_key_file=paths["client-key.pem"],
        broker_names=tuple(names), client_name=client_name, not_after=not_after,
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pkcs8(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: str, data: bytes, mode: int) -> None:
    """Write with the final mode from the start (a key is never world-readable, even briefly)."""
    try:
        if os.path.exists(path):
            os.remove(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(path, mode)  # the umask may have taken bits away from a 0644 certificate
    except OSError as error:
        raise KafkaPersistenceError(f"Cannot write {path}: {error.strerror}.") from None


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _is_dns_name(name: str) -> bool:
    return all(part and all(c.isalnum() or c in "-_" for c in part) for part in name.split("."))


def _unique(items: list[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
