"""Pick a free loopback port for a broker whose address must survive restarts.

Docker gives an ephemeral host port a new number on every container start
(measured here: 32768 -> 32769 -> 32770). A broker advertises one address, so
we choose the host port ourselves, publish it as 127.0.0.1:P, and advertise that.
"""

import socket


def free_loopback_port() -> int:
    """Ask the kernel for a free port on 127.0.0.1 (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
