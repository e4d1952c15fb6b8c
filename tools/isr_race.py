"""Does a topic created right after its brokers' restart keep a follower out of the ISR for good?

The race `Create Topic` steps around (README: A Kafka race we step around), measured
per Kafka version: 3 brokers; each try stops brokers 1 and 2, starts them, and at once
(or after --pause seconds) creates a replicated topic through the admin client, without
the library's settle wait. With replica.lag.time.max.ms=5000 a follower that never
fetches is out of the ISR within seconds (Kafka's default waits 30 s); a try counts as
stalled when a partition still lacks a replica in its ISR --watch seconds after creation.

    .venv/bin/python tools/isr_race.py --version 4.4.0 --tries 12
"""

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from KafkaPersistenceLibrary import KafkaPersistenceLibrary  # noqa: E402
from KafkaPersistenceLibrary.clients.admin import create_topic, partition_states  # noqa: E402


def one_try(library, pause: float, partitions: int, watch: float) -> tuple[bool, str]:
    """Restart two brokers, create a topic; True if a replica stayed out of the ISR for ``watch`` s."""
    library.stop_broker(1)
    library.stop_broker(2)
    library.start_broker("all")
    time.sleep(pause)
    cluster = library.ctx.cluster
    topic = f"race-{uuid.uuid4().hex[:6]}"
    create_topic(cluster.connection, topic, partitions, 3, {}, timeout=30)
    deadline = time.monotonic() + watch
    states = None
    while time.monotonic() < deadline:
        states = partition_states(cluster.connection, topic, 10)
        time.sleep(1)
    states = partition_states(cluster.connection, topic, 10) or states
    short = [s for s in states or [] if len(s.isr) < len(s.replicas)]
    return bool(short), ", ".join(f"p{s.partition} ISR {list(s.isr)} of {list(s.replicas)}" for s in short)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="Kafka version (default: the library's)")
    parser.add_argument("--tries", type=int, default=12)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between the restart and the create")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--watch", type=float, default=20.0, help="seconds after creation the ISR must be full")
    args = parser.parse_args()
    library = KafkaPersistenceLibrary()
    try:
        library.start_kafka(brokers=3, version=args.version, **{"replica.lag.time.max.ms": "5000"})
        image = library.ctx.cluster.image
        stalled = 0
        for number in range(1, args.tries + 1):
            started = time.monotonic()
            bad, detail = one_try(library, args.pause, args.partitions, args.watch)
            stalled += bad
            print(f"try {number}: {'STALLED ' + detail if bad else 'in sync'} ({time.monotonic() - started:.0f} s)",
                  flush=True)
        print(f"{image}: {stalled} of {args.tries} tries left a follower out of the ISR for {args.watch:g} s "
              f"(pause {args.pause:g} s, {args.partitions} partition(s))")
    finally:
        library.stop_kafka()
    return 0


if __name__ == "__main__":
    sys.exit(main())
