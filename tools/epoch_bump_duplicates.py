"""Does a long kill restart make an idempotent producer's records come twice, and does the verdict say why?

One broker; each round a background producer writes to a topic of its own while the broker is
killed and kept down longer than the producer's timeout, so sends time out and librdkafka bumps
the producer's epoch (README: Duplicates of an idempotent producer). Prints per round the bumps
seen, and the verdict's lost, duplicated (fatal) and duplicated-after-an-epoch-bump counts.

    .venv/bin/python tools/epoch_bump_duplicates.py --rounds 3 --timeout 20s --down 24
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from KafkaPersistenceLibrary import KafkaPersistenceLibrary, VerificationFailed  # noqa: E402

SHOWN = ("acknowledged", "lost", "duplicated", "duplicated_after_epoch_bump", "epoch_bumps", "unknown")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", default="20s", help="the producer's send timeout")
    parser.add_argument("--down", type=float, default=24.0, help="seconds the broker stays killed")
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    library = KafkaPersistenceLibrary()
    library.start_kafka()
    try:
        for round_ in range(args.rounds):
            topic = f"bump-{round_}"
            library.create_topic(topic, partitions=3)
            library.start_background_producer(topic, rate=args.rate, timeout=args.timeout)
            time.sleep(3)
            library.stop_broker(mode="kill")
            time.sleep(args.down)
            library.start_broker()
            time.sleep(3)
            library.stop_background_producer(topic)
            try:
                counts = library.verify_no_acknowledged_records_lost(topic, timeline="off")
            except VerificationFailed as failed:
                counts = failed.counts
            print(f"round {round_ + 1}: " + ", ".join(f"{name} {counts[name]}" for name in SHOWN), flush=True)
    finally:
        library.stop_kafka()
    return 0


if __name__ == "__main__":
    sys.exit(main())
