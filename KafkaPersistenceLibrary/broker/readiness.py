"""Wait until a cluster really serves clients, with a deadline and a report of what we saw.

A log line is not readiness: container logs accumulate across restarts, and a
broker logs "started" before its listeners serve every partition. So we ask as
clients would:

* every broker the library keeps up is registered, and advertises the address
  we publish it on;
* each broker that was (re)started answers on its own address itself (after a
  quick kill and restart, the others still list the broker's old, dead session
  for a few seconds, so the cluster's view alone would call it back too soon);
* each controller that was (re)started has caught up with the quorum again;
* every partition has a leader, and a record sent with ``acks=all`` is acknowledged.

The clients (librdkafka) are made once per wait and reconnect by themselves with
a short backoff, instead of being built anew for every attempt.
"""

import time

import confluent_kafka
from confluent_kafka.admin import AdminClient
from kafka.errors import KafkaError

from ..clients.admin import with_admin
from ..clients.connection import Connection

PROBE_TOPIC = "kafka-persistence-library-probe"
POLL_INTERVAL_SECONDS = 0.05
# One attempt's budget: short, so a container that died (e.g. a bad broker property)
# is noticed within seconds, not after a long client timeout.
ATTEMPT_SECONDS = 3.0
# A broker that advertises another address than the one we publish cannot be reached
# by clients, ever: this many attempts after it was first seen, stop waiting and say so.
WRONG_ADDRESS_ATTEMPTS = 5
QUICK_RECONNECT = {"reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200, "log_level": 0}


class NotReady(Exception):
    """The deadline passed, or waiting cannot help; the message says what the last attempt saw."""


def wait_until_ready(connection: Connection, brokers: dict[int, str], timeout: float, why_down=lambda: None,
                     restarted: "set[int] | None" = None, controllers_since: "dict[int, float] | None" = None,
                     whole: bool = True) -> float:
    """Block until the cluster serves; return seconds waited.

    ``brokers`` maps node id -> advertised address of every broker that should be up;
    ``restarted`` are those that must answer themselves; ``controllers_since`` maps
    controller ids to the wall-clock time (s) after which they must have caught up.
    ``whole`` says no node is meant to be down: only then must every partition have a
    leader and an acks=all probe be acknowledged (with brokers stopped on purpose, a
    partition may rightly be offline, or acks=all rightly impossible).
    ``why_down`` returns a reason when a container died, so we stop waiting at once.
    """
    started = time.monotonic()
    deadline = started + timeout
    probe = _Probe(connection, brokers, restarted or set(), whole)
    last_seen = "no attempt yet"
    wrong_address = ""  # once seen it stays true: clients that follow it fail, so later attempts may see no metadata
    attempts_since_wrong_address = 0
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotReady(wrong_address or f"not ready after {timeout:g} s; last attempt: {last_seen}")
            reason = why_down()
            if reason:
                raise NotReady(f"{reason}; last attempt: {last_seen}")
            budget = max(0.5, min(remaining, ATTEMPT_SECONDS))
            if whole:
                probe.send()  # in flight while the other checks run: creating its topic takes a moment
            problem = probe.problem(budget) or _quorum_problem(connection, controllers_since or {}, budget)
            if problem is None and whole:
                problem = probe.acknowledged(budget)
            if problem is None:
                return time.monotonic() - started
            last_seen = problem
            if "advertises" in problem:
                wrong_address = problem
            if wrong_address:
                attempts_since_wrong_address += 1
                if attempts_since_wrong_address >= WRONG_ADDRESS_ATTEMPTS:
                    raise NotReady(wrong_address)
            time.sleep(POLL_INTERVAL_SECONDS)
    finally:
        probe.close()


class _Probe:
    """The librdkafka clients one wait uses: a cluster-wide admin, one per restarted broker, a producer."""

    def __init__(self, connection: Connection, brokers: dict[int, str], restarted: set[int], whole: bool):
        self._brokers, self._whole = brokers, whole
        self._admin = AdminClient(connection.librdkafka(QUICK_RECONNECT))
        self._connection = connection
        self._unanswered = {node_id for node_id in restarted if node_id in brokers}
        # Short retry and metadata backoffs: the probe's topic does not exist until the broker made it,
        # and librdkafka's defaults (growing to 1 s) left ~0.5 s between "created" and "acknowledged".
        self._producer = confluent_kafka.Producer(connection.librdkafka({
            **QUICK_RECONNECT, "acks": "all", "enable.idempotence": False, "linger.ms": 0,
            "retry.backoff.ms": 20, "retry.backoff.max.ms": 100, "topic.metadata.refresh.fast.interval.ms": 20}))
        self._outcome: "list | None" = None  # delivery reports of the probe in flight
        self._send_error = ""

    def problem(self, budget: float) -> "str | None":
        """What keeps the cluster from serving, or None."""
        try:
            metadata = self._admin.list_topics(timeout=budget)
        except confluent_kafka.KafkaException as error:
            return f"no metadata: {_reason(error)}"
        registered = {b.id: f"{b.host}:{b.port}" for b in metadata.brokers.values()}
        if len(self._brokers) == 1 and metadata.orig_broker_id in self._unanswered:
            self._unanswered.clear()  # the only broker answered this very request: it is back
        for node_id, address in self._brokers.items():
            if node_id in registered and registered[node_id] != address:
                return (f"broker {node_id} advertises {registered[node_id]}, not {address} where it is published: "
                        f"clients cannot reach it (a wrong advertised.listeners?)")
        missing = sorted(set(self._brokers) - set(registered))
        if missing:
            return f"broker(s) {', '.join(map(str, missing))} not registered yet (registered: {sorted(registered)})"
        for node_id in sorted(self._unanswered):
            problem = self._answers_itself(node_id, budget)
            if problem:
                return problem
            self._unanswered.discard(node_id)
        leaderless = [f"{topic.topic}-{p.id}" for topic in metadata.topics.values()
                      for p in topic.partitions.values() if p.leader < 0 and self._whole]
        if leaderless:
            return f"no leader yet for {', '.join(sorted(leaderless)[:5])}"
        return None

    def _answers_itself(self, node_id: int, budget: float) -> "str | None":
        """A broker serves requests only once the controller has unfenced it, so an answer on its
        own address means this incarnation is back. A fresh client sends its first request to the
        bootstrap address it was given, and the metadata names the connection that answered."""
        address = self._brokers[node_id]
        own = AdminClient({**self._connection.librdkafka(QUICK_RECONNECT), "bootstrap.servers": address})
        try:
            # e.g. "127.0.0.1:P/1", or "sasl_ssl://127.0.0.1:P/bootstrap" on a secured listener
            answered_by = own.list_topics(timeout=budget).orig_broker_name.split("://")[-1].split("/")[0]
        except confluent_kafka.KafkaException as error:
            return f"broker {node_id} does not answer on {address} yet: {_reason(error)}"
        return None if answered_by == address else f"broker {node_id} does not answer on {address} yet"

    def send(self) -> None:
        """Send the acks=all probe record, unless one is in flight or was acknowledged."""
        if self._outcome is not None:
            self._producer.poll(0)
            if not self._outcome or self._outcome[0] is None:
                return
        self._outcome = []
        outcome = self._outcome
        try:
            self._producer.produce(PROBE_TOPIC, b"ready?", on_delivery=lambda error, _msg: outcome.append(error))
        except (BufferError, confluent_kafka.KafkaException) as error:
            self._outcome = None
            self._send_error = str(error)

    def acknowledged(self, budget: float) -> "str | None":
        """None once the probe record sent last was acknowledged (waits up to ``budget`` for it)."""
        if self._outcome is None:
            return f"probe not sent: {self._send_error}"
        deadline = time.monotonic() + budget
        while not self._outcome and time.monotonic() < deadline:
            self._producer.poll(min(0.1, max(0.0, deadline - time.monotonic())))
        if not self._outcome:
            return f"probe record not acknowledged within {budget:g} s"
        error, self._outcome = self._outcome[0], None  # the next attempt sends a new one
        return None if error is None else f"probe record refused: {error.str()}"

    def close(self) -> None:
        self._producer.purge()
        self._producer.flush(0)


def _quorum_problem(connection: Connection, controllers_since: dict[int, float], budget: float) -> "str | None":
    """Restarted controllers must have fetched from the quorum leader since they started."""
    if not controllers_since:
        return None
    try:
        quorum = with_admin(connection, budget, lambda admin: admin.describe_metadata_quorum())
        partition = quorum["topics"][0]["partitions"][0]
    except (KafkaError, OSError) as error:
        return f"no quorum answer: {type(error).__name__}: {error}"[:300]
    leader = partition["leader_id"]
    if leader < 0:
        return "the controller quorum has no leader"
    voters = {v["replica_id"]: v for v in partition["current_voters"]}
    for node_id, since in controllers_since.items():
        voter = voters.get(node_id)
        if node_id != leader and (voter is None or voter["last_caught_up_timestamp"] < since * 1000):
            return f"controller {node_id} has not caught up with the quorum (leader {leader}) yet"
    return None


def _reason(error: confluent_kafka.KafkaException) -> str:
    return error.args[0].str() if error.args and hasattr(error.args[0], "str") else str(error)
