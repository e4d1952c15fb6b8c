"""Keywords that write records and read them back."""

import time
from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword
from robot.utils import DotDict

from ..comparison import compare
from ..errors import KafkaPersistenceError, VerificationFailed
from ..kafka_client import as_text, create_topic, read_topic, to_bytes, to_headers, validate_topic
from ..logtext import shown
from ..timeouts import to_seconds
from .context import LibraryContext

RETRY_PAUSE_SECONDS = 0.2


class MessageKeywords:
    ctx: LibraryContext

    @keyword
    def produce_message(self, topic: str, value: "str | bytes | None", key: "str | bytes | None" = None,
                        headers: "dict | None" = None, partition: "int | None" = None,
                        timeout: timedelta = timedelta(seconds=30)) -> DotDict:
        """Sends one record and waits for the broker's acknowledgement (idempotent producer, ``acks=all``).

        Text is sent as UTF-8, bytes as they are. Returns where the record was
        stored: ``topic``, ``partition``, ``offset`` (also logged). Fails with a
        clear message when it is not acknowledged within ``timeout``, or when the
        broker refuses it (e.g. larger than ``message.max.bytes``). A topic that
        does not exist yet is created with one partition.

        | `Produce Message`    orders    Persistent Message
        | ${stored} =    `Produce Message`    orders    {"id": 7}    key=customer-7    headers=${headers}
        | Should Be Equal As Integers    ${stored.offset}    1
        """
        validate_topic(topic)
        if partition is not None and partition < 0:
            raise KafkaPersistenceError(f"Invalid partition {partition}: partitions are numbered from 0.")
        producer = self.ctx.require_producer()
        seconds = to_seconds(timeout)
        started = time.monotonic()
        metadata = producer.send(topic, to_bytes(value), to_bytes(key), to_headers(headers), partition, seconds)
        took = (time.monotonic() - started) * 1000
        logger.info(f"Produced {shown(value)} (key {shown(key)}) to '{topic}' partition {metadata.partition} "
                    f"offset {metadata.offset}; acknowledged in {took:.0f} ms.")
        return DotDict(topic=topic, partition=metadata.partition, offset=metadata.offset)

    @keyword
    def consume_should_equal(self, topic: str, *expected: "str | bytes", timeout: timedelta = timedelta(seconds=10)):
        """Reads ``topic`` from the earliest offset and passes when its record values are exactly ``expected``, in order.

        A fresh consumer without a group reads every partition to its end and
        commits nothing, so this can be called any number of times with the same
        result. With several partitions, records are ordered by partition, then offset.

        While the topic holds fewer records than expected (or does not exist
        yet), it reads again until ``timeout``; a different or an extra record
        fails at once, since stored records do not change. The failure shows
        expected vs. found, with partition and offset of each record.

        | `Consume Should Equal`    orders    Persistent Message
        | `Consume Should Equal`    orders    first    second    third    timeout=30s
        """
        validate_topic(topic)
        broker = self.ctx.require_broker()
        seconds = to_seconds(timeout)
        deadline = time.monotonic() + seconds
        while True:
            records = read_topic(broker.bootstrap, topic, max(1.0, deadline - time.monotonic()))
            result = compare(topic, list(expected), records)
            if result.matches:
                logger.info(f"Topic '{topic}' holds the {len(expected)} expected record(s): "
                            + "; ".join(r.describe() for r in records[:20]))
                return
            if not result.can_still_match or time.monotonic() >= deadline:
                raise VerificationFailed(f"{result.explanation}\n(read from {broker.bootstrap}, "
                                         f"waited up to {seconds:g} s)")
            time.sleep(RETRY_PAUSE_SECONDS)

    @keyword
    def read_messages(self, topic: str, timeout: timedelta = timedelta(seconds=10)) -> list:
        """Returns every record of ``topic``, from the earliest offset to the end, for checks of your own.

        Each item has ``partition``, ``offset``, ``key``, ``value`` (text when
        UTF-8, else bytes), ``headers`` (a dictionary) and ``timestamp``.
        Returns an empty list for an empty topic; fails when the topic does not
        exist or its end is not reached within ``timeout``.

        | ${records} =    `Read Messages`    orders
        | Length Should Be    ${records}    2
        | Should Be Equal    ${records}[0][headers][source]    robot
        """
        validate_topic(topic)
        broker = self.ctx.require_broker()
        seconds = to_seconds(timeout)
        records = read_topic(broker.bootstrap, topic, seconds)
        if records is None:
            raise KafkaPersistenceError(f"Topic '{topic}' does not exist on {broker.bootstrap}.")
        logger.info(f"Read {len(records)} record(s) from '{topic}'.")
        return [DotDict(partition=r.partition, offset=r.offset, key=r.key_text, value=r.value_text,
                        headers={name: as_text(value) for name, value in r.headers}, timestamp=r.timestamp)
                for r in records]

    @keyword
    def create_topic(self, name: str, partitions: int = 1, **config: str) -> None:
        """Creates a topic with ``partitions`` partitions (replication factor 1, one broker).

        Named arguments are topic configs by their Kafka names.

        | `Create Topic`    orders    partitions=3
        | `Create Topic`    audit    cleanup.policy=compact
        """
        validate_topic(name)
        broker = self.ctx.require_broker()
        create_topic(broker.bootstrap, name, partitions, config, timeout=30)
        logger.info(f"Created topic '{name}' with {partitions} partition(s)" + (f" and {config}." if config else "."))

