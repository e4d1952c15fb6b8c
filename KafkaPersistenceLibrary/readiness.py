"""Wait until a broker really serves clients, with a deadline and a report of what we saw.

A log line is not readiness: container logs accumulate across restarts, and a
broker logs "started" before its listeners serve every partition. So we ask as a
client would: an acknowledged produce (acks=all) and a leader for every partition.
"""

import time

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError

from .kafka_logging import quiet_kafka_client_logs

PROBE_TOPIC = "kafka-persistence-library-probe"
POLL_INTERVAL_SECONDS = 0.1
# One attempt's budget: short, so a container that died (e.g. a bad broker property)
# is noticed within seconds, not after a long client timeout.
ATTEMPT_SECONDS = 3.0


class NotReady(Exception):
    """The deadline passed; the message says what the last attempt saw."""


def wait_until_ready(bootstrap: str, timeout: float, still_running=lambda: True) -> float:
    """Block until a produce is acknowledged and all partitions have leaders; return seconds waited.

    ``still_running`` lets the caller stop waiting at once when the container died.
    """
    started = time.monotonic()
    deadline = started + timeout
    last_seen = "no attempt yet"
    with quiet_kafka_client_logs():
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotReady(f"not ready after {timeout:g} s; last attempt: {last_seen}")
            if not still_running():
                raise NotReady(f"the broker container stopped; last attempt: {last_seen}")
            try:
                _probe_produce(bootstrap, remaining)
                missing = _partitions_without_leader(bootstrap, remaining)
                if not missing:
                    return time.monotonic() - started
                last_seen = f"no leader yet for {', '.join(missing[:5])}"
            except (KafkaError, OSError) as error:
                last_seen = f"{type(error).__name__}: {error}"[:300]
            time.sleep(POLL_INTERVAL_SECONDS)


def _probe_produce(bootstrap: str, remaining: float) -> None:
    budget_ms = int(max(0.5, min(remaining, ATTEMPT_SECONDS)) * 1000)
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        request_timeout_ms=budget_ms,
        max_block_ms=budget_ms,
        bootstrap_timeout_ms=budget_ms,
        reconnect_backoff_ms=20,
        reconnect_backoff_max_ms=200,
        retry_backoff_ms=50,
    )
    try:
        producer.send(PROBE_TOPIC, b"ready?").get(timeout=budget_ms / 1000)
    finally:
        producer.close(timeout=1)


def _partitions_without_leader(bootstrap: str, remaining: float) -> list[str]:
    budget_ms = int(max(0.5, min(remaining, ATTEMPT_SECONDS)) * 1000)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=budget_ms,
                             bootstrap_timeout_ms=budget_ms)
    try:
        missing = []
        for topic in admin.describe_topics():
            for partition in topic.get("partitions", []):
                if partition["leader_id"] < 0:
                    missing.append(f"{topic['name']}-{partition['partition_index']}")
        return missing
    finally:
        admin.close()
