"""How a client authenticates and encrypts: one immutable, validated value for every client we use.

``ClientSecurity`` is built from the keyword arguments a tester writes
(``security_protocol=SASL_SSL  sasl_mechanism=SCRAM-SHA-512  username=…  password=…
ca_file=…``), checked before any network call, and translated into the settings
of kafka-python and of librdkafka (confluent-kafka).

Secrets (``password``, ``key_password``) never appear in ``repr()``,
``describe()`` or an error message; :meth:`ClientSecurity.mask` removes them
from any other text (e.g. a client library's error) before it is logged.
"""

import dataclasses
import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..choices import by_value
from ..errors import KafkaPersistenceError

PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL = "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"
PROTOCOLS = (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
MASK = "*****"  # what a secret looks like in the log (RequestsLibrary shows "*****" too)

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "none", "")


@dataclasses.dataclass(frozen=True, repr=False)
class ClientSecurity:
    """Validated security settings of a Kafka client; build it with :meth:`from_arguments`.

    Fields are normalised: protocol and mechanism upper-case, file paths absolute,
    ``key_file`` taken from ``cert_file`` when that file holds the key too.
    """

    protocol: str = PLAINTEXT
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = None
    check_hostname: bool = True

    def __post_init__(self):
        _validate(self)

    @classmethod
    def from_arguments(cls, security_protocol: "str | None" = None, sasl_mechanism: "str | None" = None,
                       username: "str | None" = None, password: "str | None" = None,
                       ca_file: "str | None" = None, cert_file: "str | None" = None,
                       key_file: "str | None" = None, key_password: "str | None" = None,
                       check_hostname: "bool | str" = True) -> "ClientSecurity":
        """Build from keyword arguments as Robot passes them (strings; empty means not given).

        Raises :class:`KafkaPersistenceError` with one line naming the first problem.
        """
        protocol = _text(security_protocol)
        mechanism = _text(sasl_mechanism)
        if protocol is None:
            if mechanism is not None:
                raise KafkaPersistenceError(
                    f"sasl_mechanism={mechanism} needs a SASL security_protocol: add security_protocol=SASL_SSL "
                    f"(or SASL_PLAINTEXT).")
            protocol = PLAINTEXT
        return cls(protocol=protocol, sasl_mechanism=mechanism, username=_text(username, strip=False),
                   password=_text(password, strip=False), ca_file=_text(ca_file), cert_file=_text(cert_file),
                   key_file=_text(key_file), key_password=_text(key_password, strip=False),
                   check_hostname=_boolean(check_hostname, "check_hostname"))

    # -- what it is -----------------------------------------------------------------------

    @property
    def uses_tls(self) -> bool:
        return self.protocol in (SSL, SASL_SSL)

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in (SASL_PLAINTEXT, SASL_SSL)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.key_password) if s)

    def describe(self) -> str:
        """One line for the log, e.g. ``SASL_SSL, SCRAM-SHA-512 as 'alice' (password *****), CA /tmp/ca.pem``."""
        parts = [self.protocol]
        if self.uses_sasl:
            parts.append(f"{self.sasl_mechanism} as '{self.username}' (password {MASK})")
        if self.uses_tls:
            parts.append(f"CA {self.ca_file}" if self.ca_file else "CA: the system's trusted CAs")
            if self.cert_file:
                parts.append(f"client certificate {self.cert_file}"
                             + (f" (key {self.key_file})" if self.key_file != self.cert_file else ""))
            if not self.check_hostname:
                parts.append("hostname not checked")
        return ", ".join(parts)

    def __repr__(self) -> str:
        fields = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None or (field.name == "check_hostname" and value):
                continue
            shown = MASK if field.name in ("password", "key_password") else repr(value)
            fields.append(f"{field.name}={shown}")
        return f"ClientSecurity({', '.join(fields)})"

    __str__ = describe

    def mask(self, text: str) -> str:
        """``text`` with every secret of these settings replaced by ``*****``."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    # -- translations -----------------------------------------------------------------------

    def kafka_python(self) -> dict:
        """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        config: dict = {"security_protocol": self.protocol}
        if self.uses_sasl:
            config.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.username,
                          sasl_plain_password=self.password)
        if self.uses_tls:
            config["ssl_check_hostname"] = self.check_hostname
            if self.ca_file:
                config["ssl_cafile"] = self.ca_file
            if self.cert_file:
                config.update(ssl_certfile=self.cert_file, ssl_keyfile=self.key_file)
                if self.key_password:
                    config["ssl_password"] = self.key_password
        return config

    def librdkafka(self) -> dict:
        """Configuration properties for confluent-kafka's Producer, Consumer and AdminClient."""
        config: dict = {"security.protocol": self.protocol}
        if self.uses_sasl:
            config.update({"sasl.mechanisms": self.sasl_mechanism, "sasl.username": self.username,
                           "sasl.password": self.password})
        if self.uses_tls:
            config["ssl.endpoint.identification.algorithm"] = "https" if self.check_hostname else "none"
            if self.ca_file:
                config["ssl.ca.location"] = self.ca_file
            if self.cert_file:
                config.update({"ssl.certificate.location": self.cert_file, "ssl.key.location": self.key_file})
                if self.key_password:
                    config["ssl.key.password"] = self.key_password
        return config


def properties_escape(value: str) -> str:
    """Escape a value for a java.util.Properties file (and for KafkaDockerWrapper, which writes env values raw)."""
    out = []
    for i, char in enumerate(value):
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == " " and i == 0:
            out.append("\\ ")  # a leading space would be dropped
        elif char in "#!" and i == 0:
            out.append("\\" + char)
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


# -- validation ------------------------------------------------------------------------------

def _validate(s: ClientSecurity) -> None:
    set_ = lambda name, value: object.__setattr__(s, name, value)  # noqa: E731 (frozen dataclass)
    protocol = by_value(PROTOCOLS, s.protocol, "Invalid security_protocol")
    set_("protocol", protocol)
    uses_sasl, uses_tls = s.uses_sasl, s.uses_tls

    if s.sasl_mechanism is not None:
        set_("sasl_mechanism", by_value(MECHANISMS, s.sasl_mechanism, "Invalid sasl_mechanism"))
    sasl_given = [name for name in ("sasl_mechanism", "username", "password") if getattr(s, name) is not None]
    if uses_sasl:
        missing = [name for name in ("sasl_mechanism", "username", "password") if not getattr(s, name)]
        if missing:
            hint = {"sasl_mechanism": f"sasl_mechanism ({', '.join(MECHANISMS)})"}
            named = [hint.get(m, m) for m in missing]
            raise KafkaPersistenceError(f"security_protocol={protocol} needs "
                                        f"{', '.join(named[:-1]) + ' and ' if len(named) > 1 else ''}{named[-1]}.")
    elif sasl_given:
        raise KafkaPersistenceError(
            f"{sasl_given[0]} is a SASL setting, but security_protocol is {protocol}: use "
            f"{'SASL_SSL' if uses_tls else 'SASL_PLAINTEXT or SASL_SSL'}, or leave out "
            f"{', '.join(sasl_given)}.")

    tls_given = [name for name in ("ca_file", "cert_file", "key_file", "key_password") if getattr(s, name) is not None]
    if not isinstance(s.check_hostname, bool):
        set_("check_hostname", _boolean(s.check_hostname, "check_hostname"))
    if not uses_tls:
        if tls_given:
            raise KafkaPersistenceError(
                f"{tls_given[0]} is a TLS setting, but security_protocol is {protocol}: use "
                f"{'SASL_SSL' if uses_sasl else 'SSL or SASL_SSL'}, or leave out {', '.join(tls_given)}.")
        return

    now = datetime.datetime.now(datetime.UTC)
    if s.ca_file is not None:
        set_("ca_file", _path(s.ca_file))
        cas = _load_certificates(s.ca_file, "ca_file")
        if all(c.not_valid_after_utc < now for c in cas):
            raise KafkaPersistenceError(f"ca_file {s.ca_file}: its certificate{'s' if len(cas) > 1 else ''} expired "
                                        f"(on {max(c.not_valid_after_utc for c in cas):%Y-%m-%d %H:%M} UTC).")
    if s.key_password is not None and s.key_file is None and s.cert_file is None:
        raise KafkaPersistenceError("key_password is given without key_file: it is the password of the client key.")
    if s.key_file is not None and s.cert_file is None:
        raise KafkaPersistenceError("key_file is given without cert_file: mutual TLS needs the client certificate "
                                    "(cert_file) and its private key (key_file).")
    if s.cert_file is None:
        return
    set_("cert_file", _path(s.cert_file))
    leaf = _load_certificates(s.cert_file, "cert_file")[0]
    if leaf.not_valid_after_utc < now:
        raise KafkaPersistenceError(f"cert_file {s.cert_file}: the client certificate ({_subject(leaf)}) expired on "
                                    f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC.")
    if s.key_file is None:
        if b"PRIVATE KEY-----" not in _read(s.cert_file, "cert_file"):
            raise KafkaPersistenceError(f"cert_file {s.cert_file} is given without key_file: mutual TLS needs the "
                                        f"client certificate's private key too (key_file).")
        set_("key_file", s.cert_file)
    else:
        set_("key_file", _path(s.key_file))
    key = _load_key(s.key_file, s.key_password)
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise KafkaPersistenceError(f"key_file {s.key_file} is not the private key of the certificate in cert_file "
                                    f"{s.cert_file} ({_subject(leaf)}).")


def _text(value, strip: bool = True) -> "str | None":
    """Robot passes strings; an empty one (or None) means "not given"."""
    if value is None:
        return None
    text = str(value)
    if strip:
        text = text.strip()
    return text if text.strip() else None


def _boolean(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise KafkaPersistenceError(f"Invalid {name} '{value}': use True or False.")


def _path(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _read(path: str, name: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise KafkaPersistenceError(f"{name} {path} does not exist.") from None
    except IsADirectoryError:
        raise KafkaPersistenceError(f"{name} {path} is a directory: give the PEM file itself.") from None
    except OSError as error:
        raise KafkaPersistenceError(f"{name} {path} cannot be read: {error.strerror}.") from None


def _load_certificates(path: str, name: str) -> list:
    data = _read(path, name)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        if b"PRIVATE KEY-----" in data:
            raise KafkaPersistenceError(f"{name} {path} holds a private key, not a certificate.")
        if _is_der_certificate(data):
            raise KafkaPersistenceError(f"{name} {path} is a DER (binary) certificate: give it in PEM form "
                                        f"('openssl x509 -inform der -in FILE -out FILE.pem').")
        raise KafkaPersistenceError(f"{name} {path} is not a PEM certificate (no '-----BEGIN CERTIFICATE-----').")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise KafkaPersistenceError(f"{name} {path} holds a damaged PEM certificate ({error}).") from None


def _is_der_certificate(data: bytes) -> bool:
    try:
        x509.load_der_x509_certificate(data)
        return True
    except ValueError:
        return False


def _load_key(path: str, password: "str | None"):
    data = _read(path, "key_file")
    if b"PRIVATE KEY-----" not in data:
        what = "a certificate" if b"-----BEGIN CERTIFICATE-----" in data else "no PEM private key"
        raise KafkaPersistenceError(f"key_file {path} holds {what}, not a private key ('-----BEGIN PRIVATE KEY-----').")
    encrypted = b"ENCRYPTED" in data
    if password and not encrypted:
        raise KafkaPersistenceError(f"key_password is given, but key_file {path} is not encrypted: leave out "
                                    f"key_password.")
    if encrypted and not password:
        raise KafkaPersistenceError(f"key_file {path} is encrypted: give its key_password.")
    try:
        return serialization.load_pem_private_key(data, password.encode() if password else None)
    except ValueError:
        if encrypted:
            raise KafkaPersistenceError(f"key_password does not decrypt key_file {path}.") from None
        raise KafkaPersistenceError(f"key_file {path} holds a damaged or unsupported PEM private key.") from None
    except TypeError as error:  # cryptography's word for a password mismatch in kind
        raise KafkaPersistenceError(f"key_file {path}: {error}.") from None


def _subject(cert) -> str:
    return cert.subject.rfc4514_string() or "no subject"


PLAINTEXT_SECURITY = ClientSecurity()
