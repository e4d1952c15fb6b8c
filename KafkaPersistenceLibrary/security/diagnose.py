"""Why a secured connection fails, in one line, within seconds.

Neither client library says it plainly (measured against Kafka 4.1.1, see
``unit_tests/real/test_security.py``):

- kafka-python 3.0.12 retries until ``bootstrap_timeout_ms`` and then raises
  ``KafkaTimeoutError: Unable to bootstrap from HOST:PORT`` whatever the cause;
  the cause is only in its log records (see :func:`capture_kafka_python_log`).
- librdkafka reports through ``error_cb`` (served by ``poll``/``consume``/
  ``flush``), retries forever, and for a plaintext client on a TLS port says only
  "connection closed by peer".

So :func:`check_connection` asks the broker itself, with the standard library:
a TCP connect, a TLS handshake (or a check that there is none), a SASL
handshake that lists the broker's mechanisms, and a real PLAIN or SCRAM login.
It never retries, every step is bounded by the timeout, and the returned or
raised text names the cause and never holds a secret.
:func:`explain_client_error` turns a client library's own error text into the
same sentences where that text is specific enough.
"""

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import socket
import ssl
import struct
import time

from cryptography import x509

from ..errors import KafkaPersistenceError
from .settings import MECHANISMS, ClientSecurity

DEFAULT_TIMEOUT = 10.0
CLIENT_ID = "kafka-persistence-library-check"

API_SASL_HANDSHAKE, API_SASL_AUTHENTICATE = 17, 36
ERROR_UNSUPPORTED_SASL_MECHANISM, ERROR_ILLEGAL_SASL_STATE, ERROR_SASL_AUTHENTICATION_FAILED = 33, 34, 58


class _Cause(Exception):
    """A definite, one-line cause found by a probe step."""


class _ExpectsTls(Exception):
    """A TLS record came back where a Kafka frame was expected."""


def check_connection(bootstrap: str, security: ClientSecurity, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Return when a client with ``security`` can connect to and log in at ``bootstrap``.

    Otherwise raise :class:`KafkaPersistenceError` with one line naming the cause.
    Tries the bootstrap addresses in order; the first that lets us log in is enough.
    """
    cause = diagnose(bootstrap, security, timeout)
    if cause:
        raise KafkaPersistenceError(cause)


def diagnose(bootstrap: str, security: ClientSecurity, timeout: float = DEFAULT_TIMEOUT) -> "str | None":
    """The cause (one line) why ``security`` cannot log in at ``bootstrap``; None when it can."""
    addresses = parse_bootstrap(bootstrap)
    deadline = time.monotonic() + timeout
    causes = []
    for host, port in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            causes.append(f"no time left to check {host}:{port} within {timeout:g} s")
            break
        try:
            _probe(host, port, security, deadline)
            return None
        except _Cause as cause:
            causes.append(str(cause))
    # Texts from outside (the broker, a client library) are masked where they are quoted, not the whole
    # sentence: a password that is also a word (say "wrong") must not mangle our own wording.
    if len(causes) == 1:
        return causes[0]
    return "No bootstrap server accepted the connection: " + " | ".join(causes)


def parse_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    """``host:port,[::1]:port`` -> [(host, port), …]; one-line error for anything else."""
    addresses = []
    for item in str(bootstrap or "").split(","):
        item = item.strip()
        if not item:
            continue
        if "://" in item:  # PLAINTEXT://host:port, as Kafka's listener syntax has it
            item = item.split("://", 1)[1]
        host, sep, port = item.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise KafkaPersistenceError(f"Invalid bootstrap server '{item}': use host:port, e.g. 127.0.0.1:9092.")
        addresses.append((host, int(port)))
    if not addresses:
        raise KafkaPersistenceError("No bootstrap servers given: use host:port[,host:port…], e.g. 127.0.0.1:9092.")
    return addresses


# -- the probe ------------------------------------------------------------------------------

def _probe(host: str, port: int, security: ClientSecurity, deadline: float) -> None:
    where = f"{host}:{port}"
    sock = _connect(host, port, deadline)
    try:
        if security.uses_tls:
            sock = _tls(sock, host, where, security, deadline)
        mechanisms = _sasl_mechanisms(sock, where, security, deadline)
        if mechanisms is None and security.uses_sasl:
            raise _Cause(f"The broker's listener on {where} does not use SASL: use security_protocol="
                         f"{'SSL' if security.uses_tls else 'PLAINTEXT'} without sasl_mechanism, username and "
                         f"password.")
        if mechanisms is not None and not security.uses_sasl:
            raise _Cause(f"The broker on {where} expects SASL authentication (it offers {', '.join(mechanisms)}): "
                         f"use security_protocol={'SASL_SSL' if security.uses_tls else 'SASL_PLAINTEXT'} with "
                         f"sasl_mechanism, username and password.")
        if mechanisms is not None:
            _login(sock, where, security, deadline)
    except _Cause:
        raise
    except _ExpectsTls:
        raise _Cause(_tls_here(host, port, where, security, deadline)) from None
    except TimeoutError:
        raise _Cause(f"Kafka at {where} did not answer a {security.protocol} client in time: is this the address of "
                     f"a Kafka listener, and its security_protocol {security.protocol}?") from None
    except (OSError, EOFError) as error:
        if not security.uses_tls and _speaks_tls(host, port, deadline):
            # The broker hung up on our plaintext request without a TLS alert (it sends one only sometimes).
            raise _Cause(_tls_here(host, port, where, security, deadline)) from None
        # The TLS handshake went well but the first request did not (e.g. a TLS 1.3 alert
        # about the client certificate comes only now), or the broker hung up.
        raise _Cause(_after_handshake_failure(error, where, security)) from None
    finally:
        _close(sock)


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    where = f"{host}:{port}"
    try:
        return socket.create_connection((host, port), timeout=_left(deadline, where))
    except TimeoutError:
        raise _Cause(f"Kafka at {where} did not accept a connection in time (is the address right?).") from None
    except ConnectionRefusedError:
        raise _Cause(f"Cannot reach Kafka at {where}: connection refused (is the broker running, and is this its "
                     f"client port?).") from None
    except socket.gaierror as error:
        raise _Cause(f"Cannot reach Kafka at {where}: unknown host ({error.strerror}).") from None
    except OSError as error:
        raise _Cause(f"Cannot reach Kafka at {where}: {error.strerror or error}.") from None


def _tls(sock: socket.socket, host: str, where: str, security: ClientSecurity, deadline: float) -> ssl.SSLSocket:
    context = _context(security)
    sock.settimeout(_left(deadline, where))
    tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    try:
        tls.do_handshake()
        return tls
    except OSError as error:  # ssl.SSLError and socket.timeout are OSErrors too
        _close(tls)
        raise _Cause(_handshake_failure(error, host, where, security, deadline)) from None


def _handshake_failure(error: OSError, host: str, where: str, security: ClientSecurity, deadline: float) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return _untrusted(error, host, where, security, deadline)
    if isinstance(error, socket.timeout):
        return f"TLS handshake with {where} did not finish in time: the broker may not speak TLS there."
    if _not_tls(error):
        return _no_tls_here(host, where, security, deadline)
    return f"TLS handshake with {where} failed: {_ssl_reason(error)}."


def _context(security: ClientSecurity, verify: bool = True) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        context.check_hostname = security.check_hostname
        if security.ca_file:
            context.load_verify_locations(cafile=security.ca_file)
        else:
            context.load_default_certs()
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if security.cert_file:
        context.load_cert_chain(security.cert_file, security.key_file, password=security.key_password)
    return context


def _untrusted(error: ssl.SSLCertVerificationError, host: str, where: str, security: ClientSecurity,
               deadline: float) -> str:
    """Name what is wrong with the broker's certificate, looking at it without verification."""
    cert = _peer_certificate(host, where, security, deadline)
    trusted_by = f"ca_file {security.ca_file}" if security.ca_file else "the system's trusted CAs (give ca_file)"
    code = getattr(error, "verify_code", None)
    reason = getattr(error, "verify_message", "") or _ssl_reason(error)
    if code in (62, 64) or "mismatch" in reason.lower() or "doesn't match" in str(error):
        names = _names(cert) if cert is not None else "?"
        return (f"TLS handshake with {where} failed: the broker's certificate is not valid for '{host}' "
                f"(it names {names}): connect by one of those names, or set check_hostname=False.")
    if code == 10 or "expired" in reason.lower():
        when = f" on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC" if cert is not None else ""
        return f"TLS handshake with {where} failed: the broker's certificate expired{when}."
    if code == 9 or "not yet valid" in reason.lower():
        return f"TLS handshake with {where} failed: the broker's certificate is not valid yet (check the clocks)."
    issuer = f" (it was issued by '{cert.issuer.rfc4514_string()}')" if cert is not None else ""
    return (f"TLS handshake with {where} failed: the broker's certificate is not trusted by {trusted_by}{issuer}; "
            f"verify error: {reason}.")


def _peer_certificate(host: str, where: str, security: ClientSecurity, deadline: float):
    try:
        with _connect(host, int(where.rsplit(":", 1)[1]), deadline) as sock:
            sock.settimeout(_left(deadline, where))
            with _context(security, verify=False).wrap_socket(sock, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der) if der else None
    except (OSError, ValueError, _Cause):
        return None


def _names(cert) -> str:
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n) for n in alt.get_values_for_type(x509.DNSName)]
        names += [str(n) for n in alt.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    return ", ".join(names) or f"only '{cert.subject.rfc4514_string()}'"


def _not_tls(error: Exception) -> bool:
    text = str(error).lower()
    return isinstance(error, (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError)) or any(
        word in text for word in ("wrong version number", "record layer failure", "packet length too long",
                                  "unexpected eof", "http request", "eof occurred"))


def _no_tls_here(host: str, where: str, security: ClientSecurity, deadline: float) -> str:
    """The broker did not answer TLS: say whether it wants SASL, so the advice is exact."""
    advice = "PLAINTEXT or SASL_PLAINTEXT"
    try:
        with _connect(host, int(where.rsplit(":", 1)[1]), deadline) as sock:
            mechanisms = _sasl_mechanisms(sock, where, security, deadline)
        advice = "SASL_PLAINTEXT" if mechanisms is not None else "PLAINTEXT"
    except (OSError, EOFError, _Cause):
        pass
    return (f"The broker does not speak TLS on {where}: use security_protocol={advice} there, or the address of "
            f"its TLS listener.")


def _speaks_tls(host: str, port: int, deadline: float) -> bool:
    """Whether a TLS handshake (certificate not checked) succeeds there; a demand for a client certificate counts."""
    where = f"{host}:{port}"
    try:
        with _connect(host, port, deadline) as sock:
            sock.settimeout(_left(deadline, where))
            with _context(ClientSecurity(), verify=False).wrap_socket(sock, server_hostname=host):
                return True
    except OSError as error:
        return "certificate required" in str(error).lower()
    except _Cause:
        return False


def _tls_here(host: str, port: int, where: str, security: ClientSecurity, deadline: float) -> str:
    """The broker answered in TLS: say whether it wants SASL too, so the advice is exact."""
    advice = "SSL or SASL_SSL (with ca_file)"
    try:
        with _connect(host, port, deadline) as sock:
            sock.settimeout(_left(deadline, where))
            with _context(security, verify=False).wrap_socket(sock, server_hostname=host) as tls:
                wants_sasl = _sasl_mechanisms(tls, where, security, deadline) is not None
                advice = "SASL_SSL (with ca_file)" if wants_sasl else "SSL (with ca_file)"
    except OSError as error:
        if "certificate required" in str(error).lower():
            advice = "SSL or SASL_SSL with ca_file, cert_file and key_file (it requires a client certificate)"
    except (EOFError, _Cause, _ExpectsTls):
        pass
    return f"The broker expects TLS on {where}: use security_protocol={advice}."


def _after_handshake_failure(error: Exception, where: str, security: ClientSecurity) -> str:
    text = str(error).lower()
    if "certificate required" in text or "handshake failure" in text and not security.cert_file:
        return f"The broker on {where} requires a client certificate: give cert_file and key_file."
    if any(word in text for word in ("unknown ca", "bad certificate", "certificate unknown", "unsupported certificate",
                                     "decrypt error", "access denied")):
        return (f"The broker on {where} rejected the client certificate in {security.cert_file} "
                f"({_ssl_reason(error)}): it is not signed by a CA the broker trusts.")
    if isinstance(error, EOFError) or "closed" in text or isinstance(error, ConnectionResetError):
        return (f"The broker on {where} closed the connection during the {security.protocol} handshake: "
                f"check security_protocol against the broker's listener.")
    return f"The connection to {where} failed after the TLS handshake: {_ssl_reason(error)}."


def _ssl_reason(error: Exception) -> str:
    reason = getattr(error, "reason", None)
    text = str(getattr(error, "verify_message", "") or "") or (str(error.args[1]) if len(getattr(error, "args", ()))
                                                                 > 1 else str(error))
    text = text.split("] ", 1)[-1].split(" (_ssl.c")[0].strip()
    if reason and reason.lower().replace("_", " ") not in text.lower():
        text = f"{reason}: {text}"
    return text or type(error).__name__


# -- the Kafka side: SASL handshake and login --------------------------------------------------

def _sasl_mechanisms(sock, where: str, security: ClientSecurity, deadline: float) -> "list[str] | None":
    """The mechanisms the listener offers, or None when it does not use SASL."""
    mechanism = security.sasl_mechanism or "PLAIN"
    error, body = _request(sock, API_SASL_HANDSHAKE, 1, _string(mechanism), where, deadline)
    if error == ERROR_ILLEGAL_SASL_STATE:
        return None
    offered = _read_string_array(body)
    if error == ERROR_UNSUPPORTED_SASL_MECHANISM and security.uses_sasl:
        raise _Cause(f"The broker on {where} does not offer {mechanism}: it offers {', '.join(offered) or 'none'}.")
    if error not in (0, ERROR_UNSUPPORTED_SASL_MECHANISM):
        raise _Cause(f"The broker on {where} refused the SASL handshake (Kafka error code {error}).")
    return offered


def _login(sock, where: str, security: ClientSecurity, deadline: float) -> None:
    user, password, mechanism = security.username, security.password, security.sasl_mechanism
    if mechanism == "PLAIN":
        _authenticate(sock, b"\0" + user.encode() + b"\0" + password.encode(), where, security, deadline)
        return
    digest = hashlib.sha256 if mechanism == "SCRAM-SHA-256" else hashlib.sha512
    nonce = base64.b64encode(os.urandom(24)).decode()
    name = user.replace("=", "=3D").replace(",", "=2C")
    first_bare = f"n={name},r={nonce}"
    server_first = _authenticate(sock, ("n,," + first_bare).encode(), where, security, deadline).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(",") if "=" in item)
    if not fields.get("r", "").startswith(nonce) or "s" not in fields or "i" not in fields:
        raise _Cause(f"The broker on {where} answered the {mechanism} login in a way we do not understand.")
    salted = hashlib.pbkdf2_hmac(digest().name, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    final_bare = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.new(digest(client_key).digest(), auth_message, digest).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True))).decode()
    server_final = _authenticate(sock, f"{final_bare},p={proof}".encode(), where, security, deadline).decode()
    expected = base64.b64encode(hmac.new(hmac.new(salted, b"Server Key", digest).digest(), auth_message,
                                         digest).digest()).decode()
    if server_final != f"v={expected}":
        raise _Cause(f"The broker on {where} did not prove it knows the {mechanism} credentials of "
                     f"'{user}': it is not the broker you think it is.")


def _authenticate(sock, token: bytes, where: str, security: ClientSecurity, deadline: float) -> bytes:
    error, body = _request(sock, API_SASL_AUTHENTICATE, 1, struct.pack(">i", len(token)) + token, where, deadline)
    message, offset = _read_nullable_string(body, 0)
    if error == ERROR_SASL_AUTHENTICATION_FAILED:
        raise _Cause(f"Authentication failed for user '{security.username}' with {security.sasl_mechanism} on "
                     f"{where} (wrong password, or no such user?): the broker says: {security.mask(message or '')}")
    if error:
        raise _Cause(f"The broker on {where} refused the {security.sasl_mechanism} login (Kafka error code "
                     f"{error}: {security.mask(message or '')}).")
    size = struct.unpack_from(">i", body, offset)[0]
    return body[offset + 4: offset + 4 + max(size, 0)]


def _request(sock, api_key: int, version: int, payload: bytes, where: str, deadline: float) -> tuple[int, bytes]:
    """Send one request (non-flexible header v1) and return (error_code, rest of the response body)."""
    correlation = int.from_bytes(os.urandom(3), "big")
    message = struct.pack(">hhi", api_key, version, correlation) + _string(CLIENT_ID) + payload
    sock.settimeout(_left(deadline, where))
    sock.sendall(struct.pack(">i", len(message)) + message)
    size = struct.unpack(">i", _receive(sock, 4))[0]
    if size < 4 or size > 1 << 20:
        if size >> 24 in (0x15, 0x16):  # a TLS record (alert or handshake) where a Kafka frame was expected
            raise _ExpectsTls()
        raise _Cause(f"{where} does not answer like a Kafka broker (frame size {size}).")
    response = _receive(sock, size)
    if struct.unpack_from(">i", response)[0] != correlation:
        raise _Cause(f"{where} answered out of turn: it does not behave like a Kafka broker.")
    return struct.unpack_from(">h", response, 4)[0], response[6:]


def _receive(sock, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed by the broker")
        data += chunk
    return data


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _read_nullable_string(body: bytes, offset: int) -> tuple[str, int]:
    size = struct.unpack_from(">h", body, offset)[0]
    if size < 0:
        return "", offset + 2
    return body[offset + 2: offset + 2 + size].decode("utf-8", "replace"), offset + 2 + size


def _read_string_array(body: bytes) -> list[str]:
    count = struct.unpack_from(">i", body, 0)[0] if len(body) >= 4 else 0
    items, offset = [], 4
    for _ in range(max(count, 0)):
        item, offset = _read_nullable_string(body, offset)
        items.append(item)
    return items


def _left(deadline: float, where: str) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Cause(f"Kafka at {where} did not answer in time.")
    return remaining


def _close(sock) -> None:
    try:
        sock.close()
    except OSError:
        pass


# -- the client libraries' own words -------------------------------------------------------------

def explain_client_error(text: str, security: ClientSecurity, where: str) -> "str | None":
    """Turn a kafka-python or librdkafka error text into the cause, when the text names one.

    Returns None for texts that do not (e.g. kafka-python's "Unable to bootstrap",
    librdkafka's "connection closed by peer"): then call :func:`diagnose`.
    """
    low = text.lower()
    if "authentication failed" in low or "_authentication" in low or "invalid credentials" in low \
            or "invalid username or password" in low:
        said = security.mask(_broker_words(text))
        return (f"Authentication failed for user '{security.username}' with {security.sasl_mechanism} "
                f"on {where} (wrong password, or no such user?)" + (f": the broker says: {said}" if said else "."))
    if "certificate verify failed" in low or "certificate_verify_failed" in low:
        trusted_by = f"ca_file {security.ca_file}" if security.ca_file else "the system's trusted CAs (give ca_file)"
        if "hostname mismatch" in low or "doesn't match" in low or "ip address mismatch" in low:
            return (f"TLS handshake with {where} failed: the broker's certificate is not valid for the address "
                    f"used: connect by a name it holds, or set check_hostname=False.")
        return f"TLS handshake with {where} failed: the broker's certificate is not trusted by {trusted_by}."
    if "certificate required" in low:
        return f"The broker on {where} requires a client certificate: give cert_file and key_file."
    if any(word in low for word in ("alert certificate unknown", "alert unknown ca", "alert bad certificate")):
        return (f"The broker on {where} rejected the client certificate in {security.cert_file}: it is not signed "
                f"by a CA the broker trusts.")
    if "econnrefused" in low or "connection refused" in low:
        return f"Cannot reach Kafka at {where}: connection refused (is the broker running, and is this its client port?)."
    if "invalid frame length: 35" in low or "invalid frame length: 36" in low:
        return f"The broker expects TLS on {where}: use security_protocol=SSL or SASL_SSL (with ca_file)."
    if "wrong version number" in low or "record layer failure" in low or "packet length too long" in low:
        return f"The broker does not speak TLS on {where}: use security_protocol=PLAINTEXT or SASL_PLAINTEXT there."
    if "does not support" in low and "sasl mechanism" in low or "unsupported sasl mechanism" in low:
        return f"The broker on {where} does not offer {security.sasl_mechanism}: {security.mask(_broker_words(text))}"
    return None


def _broker_words(text: str) -> str:
    """The broker's sentence inside a client's error text, without the client's prefixes and suffixes."""
    for marker in ("SaslAuthenticationFailedError: ", "SASL authentication error: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    text = text.split(" (after ")[0].strip()
    if text.endswith(")") and text.count(")") > text.count("("):  # kafka-python's "Abort (…: <broker's words>)"
        text = text[:-1]
    return text


@contextlib.contextmanager
def capture_kafka_python_log():
    """Collect kafka-python's warnings and errors (where it keeps the causes) and keep them out of other logs.

    Yields a list that fills with the messages. Use it around a client's
    construction; on ``KafkaTimeoutError`` pass the messages to
    :func:`explain_client_error`.
    """
    logger = logging.getLogger("kafka")
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            try:
                messages.append(record.getMessage())
            except Exception:  # noqa: BLE001 - a broken log format must not break the client
                pass

    handler = Collect(logging.WARNING)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def explain_kafka_python_log(messages: list[str], security: ClientSecurity, where: str) -> "str | None":
    """The most specific cause among kafka-python's collected log messages, or None."""
    for message in messages:  # the authentication failure outranks the disconnects around it
        if "SaslAuthenticationFailedError" in message:
            return explain_client_error(message, security, where)
    for message in messages:
        cause = explain_client_error(message, security, where)
        if cause:
            return cause
    return None


__all__ = ["check_connection", "diagnose", "parse_bootstrap", "explain_client_error",
           "capture_kafka_python_log", "explain_kafka_python_log", "MECHANISMS"]
