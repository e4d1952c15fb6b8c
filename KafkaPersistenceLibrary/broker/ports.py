"""Pick loopback ports for brokers whose addresses must survive restarts.

Docker gives an ephemeral host port a new number on every container start
(measured here: 32768 -> 32769 -> 32770). A broker advertises one address, so
we choose the host port ourselves, publish it as 127.0.0.1:P, and advertise that.

The port is chosen *outside* the kernel's ephemeral range
(``net.ipv4.ip_local_port_range``): while a broker is down, any outgoing
connection on the host may be given an ephemeral port, and if it got ours the
restart would fail with "address already in use".
"""

import random
import socket

from ..errors import KafkaPersistenceError

EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
DEFAULT_EPHEMERAL = (32768, 60999)
LOWEST = 10000  # below this live well-known and registered services
ATTEMPTS = 200


def ephemeral_range(path: str = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The kernel's ephemeral port range, or Linux's default when it cannot be read."""
    try:
        with open(path, encoding="ascii") as f:
            low, high = (int(x) for x in f.read().split()[:2])
        return low, high
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL


def candidate_ports(ephemeral: tuple[int, int]) -> list[int]:
    """Every port from LOWEST to 65535 that the kernel will not hand out as ephemeral."""
    low, high = ephemeral
    return [p for p in range(LOWEST, 65536) if not low <= p <= high]


_RANDOM = random.SystemRandom()


def free_loopback_port(exclude: "set[int] | None" = None, rng: random.Random = _RANDOM) -> int:
    """A random port outside the ephemeral range that is free on 127.0.0.1 now.

    Random, so that parallel runs rarely try the same one; the caller still
    retries when Docker finds it taken (another process won the race).
    """
    low, high = ephemeral_range()
    candidates = candidate_ports((low, high))
    exclude = exclude or set()
    for _ in range(ATTEMPTS if candidates else 0):
        port = rng.choice(candidates)
        if port not in exclude and is_free(port):
            return port
    raise KafkaPersistenceError(
        f"No free port on 127.0.0.1 outside the kernel's ephemeral range {low}-{high} "
        f"(net.ipv4.ip_local_port_range) after {ATTEMPTS} attempts: narrow that range or free some ports.")


def is_free(port: int) -> bool:
    """True when nothing listens on or is bound to 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
