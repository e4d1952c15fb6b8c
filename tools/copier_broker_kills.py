"""Issue 18 case 2's faults on a copier, several rounds, with per-round figures (README: A copier of our own).

3 brokers, a background producer at 200 records/s on 3 partitions, a 2-member copier; each round:
member kill before a commit, a kill of the source's partition-1 leader, another member kill, a kill of
the coordinator of the copier's group, a third member kill; then Stop Copier and the verdict. Printed
per round: each fault's keyword time, the time from each fault to the copier's next commit, the
longest silence of any member process (no event while it ran) and the verdict's counts.
``--keep DIR`` copies each round's member logs there (with ``KPL_COPIER_DEBUG=eos,cgrp,...`` in the
environment they hold librdkafka's debug log too).

    .venv/bin/python tools/copier_broker_kills.py --rounds 3
    .venv/bin/python tools/copier_broker_kills.py --rounds 3 --mode at-least-once
"""

import argparse
import shutil
import time
import traceback
import uuid

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.consumers.events import ABORTED, COMMITTED, HOLDING, PRODUCED

STALL_SECONDS = 30.0


def faults(library, source: str, group: str) -> list[tuple[str, float, float]]:
    """Case 2's five faults in turn; (what, when it was made, keyword seconds) each."""
    steps = [
        ("member 1 killed before commit", lambda: library.restart_copier(group=group, member=1, mode="kill",
                                                                         when="before-commit")),
        ("leader of partition 1 killed", lambda: library.restart_broker(mode="kill", broker="leader", topic=source,
                                                                        partition=1)),
        ("member 2 killed before commit", lambda: library.restart_copier(group=group, member=2, mode="kill",
                                                                         when="before-commit")),
        ("coordinator killed", lambda: library.restart_broker(mode="kill", broker="coordinator", group=group)),
        ("member 1 killed before commit", lambda: library.restart_copier(group=group, member=1, mode="kill",
                                                                         when="before-commit")),
    ]
    made = []
    for what, step in steps:
        t = time.monotonic()
        step()
        made.append((what, t, time.monotonic() - t))
    return made


def figures(events, made) -> list[str]:
    commits = sorted(e.t for e in events if e.kind == COMMITTED and not e.data.get("error"))
    lines = []
    for what, t, took in made:
        nxt = next((c for c in commits if c > t + took), None)
        after = f"{nxt - (t + took):.1f} s" if nxt is not None else "never"
        lines.append(f"  {what}: keyword {took:.1f} s, next commit {after} after it returned")
    gaps = [(b - a, a) for a, b in zip(commits, commits[1:], strict=False) if b - a > STALL_SECONDS]
    lines.append(f"  copier commit gaps > {STALL_SECONDS:g} s: "
                 + (", ".join(f"{g:.0f} s" for g, _ in gaps) or "none"))
    produced = {(e.member, e.incarnation, e.data["batch"]): e.t for e in events if e.kind == PRODUCED}
    waits = [e.t - produced[(e.member, e.incarnation, e.data["batch"])] for e in events
             if e.kind in (COMMITTED, ABORTED) and (e.member, e.incarnation, e.data.get("batch")) in produced
             and not any(h.kind == HOLDING and (h.member, h.incarnation, h.data["batch"]) ==
                         (e.member, e.incarnation, e.data["batch"]) for h in events)]
    lines.append(f"  produced to committed/aborted: {len(waits)} batches, longest {max(waits, default=0):.1f} s, "
                 f"over 10 s: {sum(1 for w in waits if w > 10)}")
    silent = []
    by_process: dict = {}
    for event in events:
        by_process.setdefault((event.member, event.incarnation), []).append(event)
    for key, own in sorted(by_process.items()):
        times = [e.t for e in own]
        longest = max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)
        if longest > STALL_SECONDS:
            silent.append(f"member {key[0]}.{key[1]} {longest:.0f} s")
    lines.append("  member silences > 30 s: " + (", ".join(silent) or "none"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", default="exactly-once")
    parser.add_argument("--keep", default="")
    options = parser.parse_args()
    library = KafkaPersistenceLibrary()
    library.start_kafka(brokers=3)
    try:
        for n in range(1, options.rounds + 1):
            started = time.monotonic()
            source, target = f"src-{uuid.uuid4().hex[:6]}", f"dst-{uuid.uuid4().hex[:6]}"
            group = f"copier-{n}"
            library.create_topic(source, partitions=3)
            library.create_topic(target, partitions=3)
            library.start_background_producer(source, rate=200)
            made = []
            outcome = ""
            try:
                library.start_copier(source, target, group=group, mode=options.mode, members=2)
                made = faults(library, source, group)
                library.stop_background_producer(source)
                counts = library.stop_copier(group, timeout="5 min")
                try:
                    verdict = library.verify_copied_exactly_once(source, target, guarantee=options.mode,
                                                                 timeline="off")
                    outcome = (f"passed: {verdict.acknowledged} acknowledged, missing {verdict.missing}, duplicated "
                               f"{verdict.duplicated}, aborted batches {verdict.aborted_batches}")
                except Exception as failure:  # noqa: BLE001 - a round's failure is a figure
                    outcome = f"failed: {failure}"
                outcome += f"; stop: caught_up {counts.caught_up}, member kills {counts.member_kills}"
            except Exception:  # noqa: BLE001
                outcome = "error: " + traceback.format_exc(limit=3)
                if source in library.ctx.runs and library.ctx.runs[source].background is not None:
                    library.stop_background_producer(source)
            copier = library.ctx.copiers.get(group)
            print(f"round {n} ({time.monotonic() - started:.0f} s): {outcome}", flush=True)
            if copier is not None:
                for line in figures(copier.events(), made):
                    print(line, flush=True)
                if options.keep:
                    shutil.copytree(copier.directory, f"{options.keep}/round-{n}", dirs_exist_ok=True)
            library.ctx.forget_copiers()
    finally:
        library.stop_kafka()


if __name__ == "__main__":
    main()
