"""How long a group stops processing a killed member's partitions, per rebalance protocol (README's figures).

One broker, an acks=all producer at 300 records/s to 3 partitions, a 2-member group; each
round kills a random member (SIGKILL, restarted at once) and measures, from the members' event
logs, the time from the kill until any member processes a record of a partition the killed
member held. Kafka's broker configuration is the default unless given (``--broker
group.consumer.session.timeout.ms=10000``).

    .venv/bin/python tools/consumer_kill_recovery.py --protocol classic --rounds 3
    .venv/bin/python tools/consumer_kill_recovery.py --protocol consumer --rounds 3
"""

import argparse
import statistics
import time

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.consumers.events import ASSIGNED, KILLED, PROCESSED, REVOKED


def held_at(events, member: int, incarnation: int, t: float) -> set[int]:
    held: set[int] = set()
    for event in events:
        if event.t > t or (event.member, event.incarnation) != (member, incarnation):
            continue
        if event.kind == ASSIGNED:
            held |= set(event.data["partitions"])
        elif event.kind == REVOKED:
            held -= set(event.data["partitions"])
    return held


def gaps(events) -> list[float]:
    """Seconds from each kill until a record of a partition the killed member held was processed again."""
    found = []
    for kill in (e for e in events if e.kind == KILLED):
        partitions = held_at(events, kill.member, kill.incarnation, kill.t)
        again = next((e.t for e in events if e.kind == PROCESSED and e.t > kill.t
                      and any(p in partitions for p, _ in e.data["records"])), None)
        if partitions and again is not None:
            found.append(again - kill.t)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="classic")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--session-timeout", default="10 s")
    parser.add_argument("--broker", action="append", default=[], help="broker setting name=value")
    options = parser.parse_args()
    library = KafkaPersistenceLibrary()
    try:
        library.start_kafka(**dict(setting.split("=", 1) for setting in options.broker))
        library.create_topic("orders", partitions=3)
        library.start_background_producer("orders", rate=300)
        library.start_background_consumer("orders", group="timed", members=2, protocol=options.protocol,
                                          session_timeout=options.session_timeout)
        for _ in range(options.rounds):
            time.sleep(3)
            library.restart_consumer(group="timed", member="random", mode="kill")
        library.stop_background_producer("orders")
        counts = library.stop_background_consumer("orders", group="timed", timeout="3 min")
        measured = gaps(library.ctx.consumer_groups["timed"].events())
        print(f"protocol={options.protocol} broker={options.broker or 'defaults'}: kill -> processing again "
              f"{', '.join(f'{g:.1f}' for g in measured)} s (median {statistics.median(measured):.1f} s); "
              f"caught up: {counts.caught_up}")
    finally:
        library.stop_kafka()


if __name__ == "__main__":
    main()
