"""Close the socket of a failed connection attempt in kafka-python 3.0.x.

kafka-python 3.0.12 (the newest release) opens a socket per connection attempt
and, when the attempt fails (connection refused while a broker is down,
timeout), raises without closing it. Each such socket lingers until the garbage
collector finds it and prints a ``ResourceWarning: unclosed <socket.socket ...>``,
dozens per broker restart. This wraps the one method that opens them so that a
failed attempt closes its socket; a successful one is untouched. If a later
kafka-python changes that method, the wrap is skipped and nothing else changes.
"""

import inspect

try:
    from kafka.net.inet import KafkaNetSocket
except ImportError:  # another kafka-python layout: nothing to fix here
    KafkaNetSocket = None

_EXPECTED = ["self", "net", "addrinfo", "socket_options", "timeout_at"]


def apply() -> bool:
    """Install the fix once; True when it is in place."""
    if KafkaNetSocket is None or getattr(KafkaNetSocket.connect, "_kpl_closes_failed_sockets", False):
        return KafkaNetSocket is not None
    if list(inspect.signature(KafkaNetSocket.connect).parameters) != _EXPECTED:
        return False

    async def connect(self, net, addrinfo, socket_options=(), timeout_at=None):
        family, sock_type, proto, _canonname, sockaddr = addrinfo
        sock = self.socket(family, sock_type, proto)
        try:
            sock.setblocking(False)
            for option in socket_options:
                sock.setsockopt(*option)
            return await self.sock_connect(net, sock, sockaddr, timeout_at=timeout_at)
        except BaseException:
            sock.close()
            raise

    connect._kpl_closes_failed_sockets = True
    KafkaNetSocket.connect = connect
    return True
