"""How fast a transactional background producer really sends, and where its time goes (a measurement, not CI).

    .venv/bin/python tools/transaction_background_rate.py [--brokers 3] [--seconds 20] [500:20 500:100 ...]

Each RATE:PER_TRANSACTION: a new topic of 3 partitions on one cluster, `Start Background Producer
rate=RATE transactional=True per_transaction=PER_TRANSACTION` for ``--seconds``, then `Stop Background
Producer`. It prints the acknowledged records per second, the transactions per outcome, the median and
slowest commit call (``commit_transaction`` and its retries: it flushes the transaction's records, then
asks the coordinator) and the load average. A transactional producer commits synchronously, one
transaction at a time, so it sends at most PER_TRANSACTION records per (sending time + commit time).
"""

import argparse
import os
import statistics
import time
import uuid

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.transactions.producer import TransactionalProducer

COMMITS: list[float] = []  # seconds per commit call, of the variant running


def _timed(commit):
    def timed(self):
        started = time.monotonic()
        try:
            return commit(self)
        finally:
            COMMITS.append(time.monotonic() - started)
    return timed


def one_variant(library: KafkaPersistenceLibrary, rate: float, per_transaction: int, seconds: float) -> str:
    topic = f"rate-{uuid.uuid4().hex[:6]}"
    library.create_topic(topic, partitions=3)
    load = os.getloadavg()[0]
    COMMITS.clear()
    library.start_background_producer(topic, rate=rate, transactional=True, per_transaction=per_transaction)
    started = time.monotonic()
    time.sleep(seconds)
    counts = library.stop_background_producer(topic)
    took = time.monotonic() - started
    outcomes = library.ctx.runs[topic].history.transactions.counts()
    commits = (f"commit median {statistics.median(COMMITS) * 1000:.0f} ms, slowest {max(COMMITS) * 1000:.0f} ms"
               if COMMITS else "no commit")
    return (f"rate={rate:g} per_transaction={per_transaction}: {counts.acknowledged / took:.0f} records/s "
            f"acknowledged ({counts.acknowledged} in {took:.1f} s); {outcomes}; {commits}; "
            f"load {load:.1f} -> {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("variants", nargs="*", default=["500:20", "500:100"], help="RATE:PER_TRANSACTION")
    args = parser.parse_args()
    TransactionalProducer._commit = _timed(TransactionalProducer._commit)
    library = KafkaPersistenceLibrary()
    try:
        library.start_kafka(brokers=args.brokers)
        for variant in args.variants:
            rate, per_transaction = variant.split(":")
            print(one_variant(library, float(rate), int(per_transaction), args.seconds), flush=True)
    finally:
        library.stop_kafka()


if __name__ == "__main__":
    main()
