"""Two mends for kafka-python 3.0.x: a failed connection closes its socket, a producer closes cleanly.

kafka-python 3.0.12 (the newest release) opens a socket per connection attempt
and, when the attempt fails (connection refused while a broker is down,
timeout), raises without closing it. Each such socket lingers until the garbage
collector finds it and prints a ``ResourceWarning: unclosed <socket.socket ...>``,
dozens per broker restart. This wraps the one method that opens them so that a
failed attempt closes its socket; a successful one is untouched. If a later
kafka-python changes that method, the wrap is skipped and nothing else changes.
"""

import inspect

from kafka.errors import KafkaError
from kafka.protocol.metadata import MetadataRequest

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


def metadata_from(admin, node_id: int, topics: list[str]) -> dict:
    """Topic metadata as one broker sees it (kafka-python's admin asks a node it picks at random).

    Needed when brokers disagree: a leader cut off from its peers still reaches
    clients and still calls itself the leader. Uses the admin client's connection
    manager, which kafka-python 3.0.x keeps private; the library pins kafka-python <3.1.
    """
    request = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=t) for t in topics],
                              allow_auto_topic_creation=False)

    async def ask():
        return (await admin._manager.send(request, node_id=node_id)).to_dict()

    return admin._manager.run(ask)


def close_producer(producer, timeout: float) -> None:
    """Close a kafka-python producer, also when records are still pending.

    kafka-python 3.0.12's ``close()`` flushes first and, when records are still
    pending (a broker that is down or frozen), raises before it closes anything;
    its ``__del__`` then calls ``close()`` again and prints a stray traceback on
    the console. Here the pending records are given up on, as ``close()`` would
    have done after its flush: the sender is stopped and the producer marked closed.
    """
    try:
        producer.close(timeout=timeout)
    except KafkaError:
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()
            sender.join(timeout)
        producer._closed = True
