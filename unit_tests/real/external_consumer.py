"""An application's consumer, as a tester's service would be: a plain confluent-kafka loop in its own process.

The consumer verdict's external form judges it from outside (`Watch Consumer Group`). Started by
``unit_tests/real/test_consumer_verdict.py`` and by ``robot_tests/external_consumer.robot`` (Process
library). It commits synchronously after each batch; two flags make it misbehave for real, so that
the verdict has something to catch:

- ``--rewind-after N``: once N records are processed, commit offset 0 for its partitions (an
  application "replaying" the topic) and commit nothing more: the committed offset goes backwards
  and stays there until another process of the group commits (in CI a 3 s stand was once missed
  by the group's watcher while its samples failed under load);
- ``--ahead-after N``: once N records are processed, commit 500 beyond what it read, and commit
  nothing more: a commit past the end of the acknowledged data.

It prints ``committed`` after its first commit and ``rewound`` once its rewound offset has stood 3
seconds, for a test to wait on. It exits by itself after ``--max-seconds`` (and when its parent is
gone), so a killed test leaves nothing running.

    python unit_tests/real/external_consumer.py BOOTSTRAP TOPIC GROUP [--rewind-after N] [--ahead-after N]
"""

import argparse
import os
import sys
import time

from confluent_kafka import Consumer, TopicPartition


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    parser.add_argument("group")
    parser.add_argument("--rewind-after", type=int, default=0)
    parser.add_argument("--ahead-after", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    options = parser.parse_args(argv)
    parent, ends_at = os.getppid(), time.monotonic() + options.max_seconds
    consumer = Consumer({"bootstrap.servers": options.bootstrap, "group.id": options.group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                         "reconnect.backoff.max.ms": 1000, "log_level": 3})
    consumer.subscribe([options.topic])
    processed, misbehaved, frozen, said_committed = 0, False, False, False
    while time.monotonic() < ends_at and os.getppid() == parent:
        records = [r for r in consumer.consume(100, 0.2) if r.error() is None]
        if not records:
            continue
        processed += len(records)
        positions = {}
        for record in records:
            positions[record.partition()] = record.offset() + 1
        if frozen:
            continue  # after its rewind or its commit past the end it commits nothing more: the offset stays
        committed_before = processed > len(records)  # a rewind needs a commit before it to go back from
        rewind = options.rewind_after and committed_before and not misbehaved and processed >= options.rewind_after
        ahead = options.ahead_after and not misbehaved and processed >= options.ahead_after
        if rewind or ahead:
            misbehaved, frozen = True, True  # either offset then stands until another process commits
            positions = {p: (0 if rewind else o + 500) for p, o in positions.items()}
        try:
            consumer.commit(offsets=[TopicPartition(options.topic, p, o) for p, o in positions.items()],
                            asynchronous=False)
        except Exception as error:  # noqa: BLE001 - a commit during a fault fails; the next batch commits again
            print(f"commit failed: {error}", file=sys.stderr, flush=True)
            continue
        if not said_committed:
            said_committed = True
            print("committed", flush=True)  # what a test waits for: this process reads and commits
        if rewind:
            # the rewound offset stands a while (as a replay being prepared would), seen by sampling: 3 s, as a
            # sample can fail for a second or more (COORDINATOR_NOT_AVAILABLE seen in CI on Kafka 4.4.0 under load)
            time.sleep(3.0)
            print("rewound", flush=True)
    consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
