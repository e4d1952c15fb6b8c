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

import confluent_kafka  # noqa: E402
from kafka import KafkaProducer  # noqa: E402
from KafkaPersistenceLibrary.durability_client import PRODUCER_SETTINGS  # noqa: E402
from KafkaPersistenceLibrary.labels import labels_for  # noqa: E402
from KafkaPersistenceLibrary.ports import free_loopback_port  # noqa: E402
from KafkaPersistenceLibrary.readiness import wait_until_ready  # noqa: E402

from KafkaPersistenceLibrary import docker_engine  # noqa: E402
from KafkaPersistenceLibrary.broker import broker_environment, new_cluster_id  # noqa: E402
from KafkaPersistenceLibrary.image import resolve_image  # noqa: E402

FUSE = dict(user="root", devices=["/dev/fuse:/dev/fuse:rwm"], cap_add=["SYS_ADMIN"])


def produce_confluent(bootstrap, topic, records, value):
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                         "linger.ms": 5, "log_level": 0})
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
    producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_SETTINGS)
    producer.partitions_for(topic)
    acked = []
    started = time.monotonic()
    for _ in range(records):
        producer.send(topic, value).add_both(lambda outcome: acked.append(not isinstance(outcome, Exception)))
    producer.flush(120)
    elapsed = time.monotonic() - started
    producer.close()
    return elapsed, sum(acked)


def one_run(client, image, power_loss, args):
    port = free_loopback_port()
    env = broker_environment(port, new_cluster_id(), {})
    extra = FUSE if power_loss else {}
    if power_loss:
        env["KPL_POWER_LOSS"] = "1"
    container = client.containers.run(image, detach=True, name=f"kpl-throughput-{uuid.uuid4().hex[:8]}",
                                      environment=env, ports={"9092/tcp": ("127.0.0.1", port)},
                                      labels=labels_for("power-loss throughput benchmark"), **extra)
    try:
        bootstrap = f"127.0.0.1:{port}"
        wait_until_ready(bootstrap, 120)
        produce = produce_confluent if args.client == "confluent" else produce_kafka_python
        elapsed, acked = produce(bootstrap, f"throughput-{uuid.uuid4().hex[:6]}", args.records, b"v" * args.size)
        if acked != args.records:
            raise SystemExit(f"only {acked} of {args.records} acknowledged")
        return args.records / elapsed
    finally:
        container.remove(force=True, v=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--client", choices=("confluent", "kafka-python"), default="confluent")
    parser.add_argument("--image", default=None)
    args = parser.parse_args()
    image = resolve_image(args.image)
    client = docker_engine.connect()
    rates = {False: [], True: []}
    print(f"{args.records} x {args.size} B, acks=all, {args.client}, image {image}")
    for repetition in range(args.repeat):
        order = (False, True) if repetition % 2 == 0 else (True, False)
        for power_loss in order:
            rate = one_run(client, image, power_loss, args)
            rates[power_loss].append(rate)
            print(f"  run {repetition + 1} {'volatilefs' if power_loss else 'plain     '}: {rate:9.0f} records/s "
                  f"({rate * args.size / 1e6:.1f} MB/s)", flush=True)
    plain, volatile = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"median: plain {plain:.0f} records/s, volatilefs {volatile:.0f} records/s "
          f"({volatile / plain:.0%} of plain)")


if __name__ == "__main__":
    main()
