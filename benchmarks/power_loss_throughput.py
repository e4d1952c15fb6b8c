"""Produce throughput of one broker with and without the power-loss filesystem (volatilefs).

    .venv/bin/python benchmarks/power_loss_throughput.py [--records 50000] [--size 1024] [--repeat 3]
        [--client confluent|kafka-python] [--image IMAGE]

Both brokers run the same image with the same broker environment (the library's), one at a
time; the only difference is KPL_POWER_LOSS=1 (root, /dev/fuse, SYS_ADMIN) for one of them.
Each repetition starts a fresh broker of each kind (the order alternates), sends --records
values of --size bytes with acks=all to a new topic and times until every send has an
outcome. Prints one line per run and the median records/s of each kind. Every container
carries the library's owner labels and is removed when it ends, even on failure.
"""

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import confluent_kafka  # noqa: E402
from bare_docker import BareDockerBroker  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from KafkaPersistenceLibrary.clients.recording import BATCHING  # noqa: E402
from KafkaPersistenceLibrary.image import resolve_image  # noqa: E402

# The recording producer's batching in kafka-python's names, for the kafka-python client.
KAFKA_PYTHON_SETTINGS = dict(acks="all", enable_idempotence=True, linger_ms=BATCHING["linger.ms"],
                             batch_size=BATCHING["batch.size"])


def produce_confluent(bootstrap, topic, records, value):
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                         **BATCHING, "log_level": 0})
    producer.list_topics(topic, timeout=30)  # connect and create the topic before the clock starts
    acked = []
    started = time.monotonic()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, value, on_delivery=lambda error, message: acked.append(error is None))
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(120)
    return time.monotonic() - started, sum(acked)


def produce_kafka_python(bootstrap, topic, records, value):
    producer = KafkaProducer(bootstrap_servers=bootstrap, **KAFKA_PYTHON_SETTINGS)
    producer.partitions_for(topic)
    acked = []
    started = time.monotonic()
    for _ in range(records):
        producer.send(topic, value).add_both(lambda outcome: acked.append(not isinstance(outcome, Exception)))
    producer.flush(120)
    elapsed = time.monotonic() - started
    producer.close()
    return elapsed, sum(acked)


def one_run(image, power_loss, args):
    with BareDockerBroker(image, power_loss=power_loss, owner="power-loss throughput benchmark") as broker:
        broker.start()
        produce = produce_confluent if args.client == "confluent" else produce_kafka_python
        elapsed, acked = produce(broker.bootstrap, f"throughput-{uuid.uuid4().hex[:6]}", args.records,
                                 b"v" * args.size)
    if acked != args.records:
        raise SystemExit(f"only {acked} of {args.records} acknowledged")
    return args.records / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--client", choices=("confluent", "kafka-python"), default="confluent")
    parser.add_argument("--image", default=None)
    args = parser.parse_args()
    image = resolve_image(args.image)
    rates = {False: [], True: []}
    print(f"{args.records} x {args.size} B, acks=all, {args.client}, image {image}")
    for repetition in range(args.repeat):
        order = (False, True) if repetition % 2 == 0 else (True, False)
        for power_loss in order:
            rate = one_run(image, power_loss, args)
            rates[power_loss].append(rate)
            print(f"  run {repetition + 1} {'volatilefs' if power_loss else 'plain     '}: {rate:9.0f} records/s "
                  f"({rate * args.size / 1e6:.1f} MB/s)", flush=True)
    plain, volatile = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"median: plain {plain:.0f} records/s, volatilefs {volatile:.0f} records/s "
          f"({volatile / plain:.0%} of plain)")


if __name__ == "__main__":
    main()
