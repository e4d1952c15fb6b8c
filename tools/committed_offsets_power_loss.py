"""Issue 17, case 3, measured with raw clients: does a power cut lose a group's committed offset while the
data survives? (a measurement, not part of CI)

    .venv/bin/python tools/committed_offsets_power_loss.py [--runs 2]

Each run, once with Kafka's default flush settings and once with the broker-wide
``log.flush.interval.messages=1``: one broker with ``power_loss=True``; a topic with
``flush.messages=1`` (the data fsynced per record, in both settings); 1,000 records produced, consumed
by group ``g`` with a plain confluent-kafka consumer, which commits offset 1,000 synchronously; 1,000
more produced; a power-loss restart. It prints the producer verdict (acknowledged, lost), the group's
committed offset after the cut (``committed()``), and how many records the group reads after it with
``auto.offset.reset=latest`` within 10 s.
"""

import argparse
import time

from confluent_kafka import Consumer, TopicPartition

from KafkaPersistenceLibrary import KafkaPersistenceLibrary


def one_run(flush_every_record: bool) -> str:
    library = KafkaPersistenceLibrary()
    try:
        bootstrap = library.start_kafka(power_loss=True,
                                        **({"log.flush.interval.messages": "1"} if flush_every_record else {}))
        library.create_topic("t", **{"flush.messages": "1"})
        library.produce_records("t", 1000)
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "earliest",
                             "enable.auto.commit": False, "log_level": 0})
        consumer.subscribe(["t"])
        read, deadline = 0, time.monotonic() + 60
        while read < 1000 and time.monotonic() < deadline:
            record = consumer.poll(1)
            read += record is not None and record.error() is None
        consumer.commit(offsets=[TopicPartition("t", 0, 1000)], asynchronous=False)
        consumer.close()
        library.produce_records("t", 1000)
        library.restart_broker(mode="power-loss")
        verdict = library.verify_no_acknowledged_records_lost("t", timeline="off")
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "latest",
                             "enable.auto.commit": False, "log_level": 0})
        committed = consumer.committed([TopicPartition("t", 0)], timeout=30)[0].offset
        consumer.subscribe(["t"])
        after, deadline = 0, time.monotonic() + 10
        while time.monotonic() < deadline:
            record = consumer.poll(0.5)
            after += record is not None and record.error() is None
        consumer.close()
        return (f"acknowledged {verdict['acknowledged']}, lost {verdict['lost']}; committed after the cut: "
                f"{committed if committed >= 0 else 'none'}; read after it with latest: {after}")
    finally:
        library.stop_kafka()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    runs = parser.parse_args().runs
    for flush_every_record in (False, True):
        setting = "log.flush.interval.messages=1" if flush_every_record else "default flush"
        for number in range(1, runs + 1):
            print(f"{setting}, run {number}: {one_run(flush_every_record)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
