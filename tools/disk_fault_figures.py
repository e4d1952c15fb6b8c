"""The figures of README's "Disk faults": what Kafka does when a leader's disk fails, fills or slows down.

    .venv/bin/python tools/disk_fault_figures.py [--rounds N]

Three brokers on the disk fault layer (Start Kafka disk=faulty), RF 3, min ISR 2, an
acks=all background producer at 300 records/s. Per round: fail the leader's disk (EIO on
everything), then fill the next leader's disk (ENOSPC), each time measuring the seconds until
another broker leads and until the broker halted, then repair, start it again and judge; then
200 ms per fsync on the leader of a flush.messages=1 topic, with acks/s and ack latency
before, during and after. Not a test: it prints what it saw.
"""

import argparse
import time

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.durability.history import ACKED
from KafkaPersistenceLibrary.durability.verdict import fault_figures


def wait(probe, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return time.monotonic()
        time.sleep(0.1)
    raise SystemExit("timed out")


def broken_leader(library: KafkaPersistenceLibrary, topic: str, fault: str) -> str:
    history = library.ctx.runs[topic].history
    wait(lambda: history.count(ACKED) >= 300)
    make, undo = {"fail": (library.fail_disk, library.repair_disk), "fill": (library.fill_disk, library.free_disk)}[fault]
    began = time.monotonic()
    node_id = make(broker="leader", topic=topic).node
    node = library.ctx.cluster.nodes[node_id]
    moved = wait(lambda: library.get_partition_state(topic).leader not in (-1, node_id))
    halted = wait(lambda: node.state().status == "exited")
    code = node.state().exit_code
    undo()
    library.start_broker(broker=node_id)
    library.wait_until_replicas_in_sync(topic, timeout="90s")
    return (f"{fault} disk of leader {node_id}: another leader after {moved - began:.1f} s, broker halted "
            f"(exit {code}) after {halted - began:.1f} s")


def slow_fsync(library: KafkaPersistenceLibrary, topic: str) -> list[str]:
    library.start_background_producer(topic, rate=200)
    time.sleep(5)
    library.slow_down_disk(broker="leader", topic=topic, fsync="200ms")
    time.sleep(10)
    library.restore_disk()
    time.sleep(5)
    library.stop_background_producer(topic)
    lost = library.verify_no_acknowledged_records_lost(topic, timeline="off").lost
    rows = fault_figures(library.ctx.runs[topic].history)
    return [f"fsync=200ms, {row['kind']}: {row['throughput']:.0f} acks/s, ack latency p50 "
            f"{row['latency_p50'] * 1000:.0f} ms, p99 {row['latency_p99'] * 1000:.0f} ms" for row in rows
            if row["kind"] != "whole run"] + [f"fsync=200ms: {lost} lost"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    rounds = parser.parse_args().rounds
    library = KafkaPersistenceLibrary()
    try:
        library.start_kafka(brokers=3, disk="faulty")
        for round_ in range(1, rounds + 1):
            topic = f"disk-{round_}"
            library.create_topic(topic, **{"min.insync.replicas": "2"})
            library.wait_until_replicas_in_sync(topic)
            library.start_background_producer(topic, rate=300)
            print(f"round {round_}: {broken_leader(library, topic, 'fail')}", flush=True)
            print(f"round {round_}: {broken_leader(library, topic, 'fill')}", flush=True)
            library.stop_background_producer(topic)
            print(f"round {round_}: fail and fill: {library.verify_no_acknowledged_records_lost(topic, timeline='off').lost}"
                  f" lost", flush=True)
            slow = f"slow-{round_}"
            library.create_topic(slow, **{"min.insync.replicas": "2", "flush.messages": "1"})
            library.wait_until_replicas_in_sync(slow)
            for line in slow_fsync(library, slow):
                print(f"round {round_}: {line}", flush=True)
    finally:
        library.stop_kafka()


if __name__ == "__main__":
    main()
