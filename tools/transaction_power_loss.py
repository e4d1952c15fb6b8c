"""Issue 18, case 5, measured: a power cut of one broker (default flush) while a transactional producer
commits. What is lost, and does any transaction come back torn? (a measurement, not part of CI)

    .venv/bin/python tools/transaction_power_loss.py [--runs 3] [--committed 20] [--segment-bytes N --size N]
        [--segment-ms N] [--keys 3]

Each run: one broker with ``power_loss=True`` and Kafka's default flush settings; a topic of 3
partitions; a transactional background producer (20 records per transaction, none aborted on
purpose, 1,000 records/s) until ``--committed`` transactions are committed; a power-loss restart;
the producer stopped; the per-transaction verdict at read_committed, then at read_uncommitted.
It prints, per run, the transactions committed / in doubt, the committed transactions and records
lost, the torn ones, and what the read_uncommitted reader saw. ``--segment-bytes`` (the topic's
``segment.bytes``, at least 1 MiB on Kafka 4) with big records (``--size``) makes segments roll during
the run: Kafka fsyncs a rolled segment, so part of each partition survives, each partition up to its
own point, which is where a transaction could come back torn. ``--segment-ms`` rolls by time instead
(each partition at its next append after it), ``--keys 3`` spreads every transaction over the three
partitions.
"""

import argparse
import time

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary, VerificationFailed


def verdict(library: KafkaPersistenceLibrary, topic: str, isolation: str) -> dict:
    try:
        return dict(library.verify_no_acknowledged_records_lost(topic, isolation=isolation, timeline="off",
                                                                timeout="90s"))
    except VerificationFailed as failed:
        return dict(failed.counts, failed=str(failed).split(" (first")[0])
    except KafkaPersistenceError as error:
        return {"error": str(error)}


def one_run(committed: int, topic_config: dict, size: int, keys: int) -> str:
    library = KafkaPersistenceLibrary()
    try:
        library.start_kafka(power_loss=True)
        library.create_topic("t", partitions=3, **topic_config)
        library.start_background_producer("t", rate=1000, transactional=True, per_transaction=20, size=size,
                                          keys=keys)
        log = library.ctx.runs["t"].history.transactions
        deadline = time.monotonic() + 120
        while log.counts()["committed"] < committed and time.monotonic() < deadline:
            time.sleep(0.05)
        library.restart_broker(mode="power-loss")
        library.stop_background_producer("t")
        rc, ru = verdict(library, "t", "read_committed"), verdict(library, "t", "read_uncommitted")
        return (f"{log.counts()}; read_committed: lost {rc.get('lost_committed')} records of "
                f"{rc.get('lost_committed_transactions')} of {rc.get('committed')} committed transactions, "
                f"torn {rc.get('torn')}, in doubt visible/not {rc.get('in_doubt_visible')}/"
                f"{rc.get('in_doubt_invisible')}, read {rc.get('read')} {rc.get('failed', rc.get('error', ''))}; "
                f"read_uncommitted: read {ru.get('read')}, torn {ru.get('torn')} {ru.get('error', '')}")
    finally:
        library.stop_kafka()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--committed", type=int, default=20, help="transactions committed before the cut")
    parser.add_argument("--segment-bytes", type=int, default=None, help="the topic's segment.bytes")
    parser.add_argument("--segment-ms", type=int, default=None, help="the topic's segment.ms")
    parser.add_argument("--size", type=int, default=100, help="bytes per record")
    parser.add_argument("--keys", type=int, default=0, help="distinct keys (3: each transaction on every partition)")
    args = parser.parse_args()
    config = {name: str(value) for name, value in (("segment.bytes", args.segment_bytes),
                                                   ("segment.ms", args.segment_ms)) if value}
    for run in range(1, args.runs + 1):
        started = time.monotonic()
        print(f"run {run}: {one_run(args.committed, config, args.size, args.keys)} "
              f"({time.monotonic() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
