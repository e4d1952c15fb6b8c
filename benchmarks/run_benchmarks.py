"""One side-by-side benchmark run: the library against its floor and its ceiling, on one machine.

Floor: what bare Docker can do (the same image and environment, `docker run` / restart /
kill + start, a raw librdkafka producer until an ack) and what a bare ``java`` broker on the
host can do (same jars and settings, no Docker). Ceiling: Kafka's own Java clients
(ProducerPerformance, ConsumerPerformance) against the very broker the library started.
Times are medians of ``--repeat`` repetitions; ours and the floor alternate their order per
repetition. What each row times exactly: benchmarks/README.md.

    .venv/bin/python benchmarks/run_benchmarks.py                       # 5 repetitions, 200,000 records
    .venv/bin/python benchmarks/run_benchmarks.py --quick               # tiny sizes, 1 repetition (~3 min)
    .venv/bin/python benchmarks/run_benchmarks.py --only start graceful kill --repeat 7

Prints a markdown table (ratio, target, met); writes every raw sample as JSON to
benchmarks/results/ (gitignored) and the table with the machine and the command to
benchmarks/RESULTS.md (a --quick or --only run writes its table beside its JSON instead).
Every container and process it creates is removed when it ends, also on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):  # run as a script: this checkout's library and the helpers beside it
    if _path not in sys.path:
        sys.path.insert(0, _path)

import confluent_kafka  # noqa: E402
import kafka  # noqa: E402
import measure_verdict  # noqa: E402
from bare_docker import BareDockerBroker, container_memory_bytes  # noqa: E402
from bare_java import BareJavaBroker, RawProducer  # noqa: E402
from java_tools import consumer_performance, create_topic, ensure_tools, producer_performance  # noqa: E402

from KafkaPersistenceLibrary import KafkaPersistenceLibrary  # noqa: E402
from KafkaPersistenceLibrary.broker import engine  # noqa: E402
from KafkaPersistenceLibrary.clients.recording import BATCHING  # noqa: E402
from KafkaPersistenceLibrary.consumers.events import ASSIGNED, KILLED, PROCESSED, REVOKED  # noqa: E402
from KafkaPersistenceLibrary.errors import KafkaPersistenceError  # noqa: E402
from KafkaPersistenceLibrary.image import resolve_image  # noqa: E402
from KafkaPersistenceLibrary.versions import TESTED_KAFKA_VERSIONS  # noqa: E402

OWNER = "benchmarks/run_benchmarks.py"
VALUE_SIZE = 1024
CHECK_VALUE_SIZE = 100  # check() and the history's bytes/record, as measure_verdict measures them
MEMORY_RECORDS = 1_000_000  # the history's bytes/record is measured at a million records (once per run)
BACKGROUND_SECONDS = 10.0
KEYWORD_TIMEOUT = 300  # seconds: delivery / read-back timeouts of the keywords under test
LEADER_KILL_TIMEOUT = 120.0
MIB = 1024 * 1024

# Row ids for --only, in table order.
ROWS = ("produce", "background", "verify", "consume", "copy", "start", "graceful", "kill", "member-kill", "three-node",
        "leader-kill", "memory", "power-loss", "check", "bytes", "versions", "transactional")
TIME_ROWS = {"start": "start", "graceful": "restart graceful", "kill": "restart kill"}  # row -> samples' key
RESTART_MODES = ("graceful", "kill")  # rows named after Restart Broker's mode
THROUGHPUT_ROWS = ("produce", "background", "verify", "consume", "copy", "power-loss")
COPY_BATCH = 500  # the copy row's records per batch (transaction): Start Copier's default
TRANSACTION_RECORDS = 500  # the transactional row's records per transaction, ours and ProducerPerformance's
CALIBRATIONS = 4  # short ProducerPerformance runs at most, to find its --transaction-duration-ms for that size
MEMBER_KILL_SESSION_TIMEOUT = 10.0  # seconds: the member-kill row's classic session timeout (the library's default)


@dataclasses.dataclass(frozen=True)
class Plan:
    """What this run measures, and how much."""

    rows: frozenset
    repeat: int
    records: int
    background_seconds: float
    memory_records: int

    def wants(self, *rows: str) -> bool:
        return any(row in self.rows for row in rows)


def now() -> float:
    return time.monotonic()


def new_topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- ours: one node started by the library ------------------------------------------------------

def ours_single(image: str, plan: Plan, tools, rep: int) -> dict:
    """Start Kafka (1 node) -> first ack, its memory, the restarts, then the throughput rows on it."""
    lib = KafkaPersistenceLibrary(image=image)
    out: dict = {}
    try:
        t0 = now()
        bootstrap = lib.start_kafka()
        t_started = now()
        lib.produce_message("bench-ours-probe", "first")
        out["start"] = {"seconds": t_started - t0, "with_produce_message_seconds": now() - t0,
                        "library_started_in": lib.ctx.cluster.started_in_seconds}
        if plan.wants("memory"):
            out["memory"] = node_memory(lib)
        for mode in RESTART_MODES:
            if plan.wants(mode):
                out[f"restart {mode}"] = timed_restart(lib, mode)
        if plan.wants(*THROUGHPUT_ROWS):
            out.update(throughput(lib, bootstrap, plan, tools, ours_first=rep % 2 == 0))
        if plan.wants("member-kill"):
            out["member kill"] = member_kill(lib, plan.background_seconds)
        if plan.wants("transactional"):
            out.update(transactional(lib, bootstrap, plan, tools, out.get("producer performance"), rep % 2 == 0))
    finally:
        lib.stop_kafka()
    return out


def timed_restart(lib: KafkaPersistenceLibrary, mode: str) -> dict:
    """Restart Broker (returns after its own acks=all probe is acknowledged), then a Produce Message."""
    t0 = now()
    report = lib.restart_broker(mode=mode)
    t_restarted = now()
    lib.produce_message("bench-ours-probe", mode)
    return {"seconds": t_restarted - t0, "with_produce_message_seconds": now() - t0,
            "stop": report.stop, "recovery": report.recovery, "clean_shutdown": report.clean_shutdown}


def node_memory(lib: KafkaPersistenceLibrary) -> dict:
    """`docker stats` memory of each node of the library's cluster, by role, in bytes."""
    client = engine.connect()
    try:
        by_role: dict = {}
        for node in lib.get_brokers():
            role = {"broker,controller": "combined"}.get(node.roles, node.roles)
            by_role.setdefault(role, []).append(container_memory_bytes(client.containers.get(node.container)))
        return by_role
    finally:
        client.close()


# -- throughput on the library's broker: ours and the Java clients, same broker ---------------

def throughput(lib: KafkaPersistenceLibrary, bootstrap: str, plan: Plan, tools, ours_first: bool) -> dict:
    """Produce Records vs ProducerPerformance, the background producer, read-back vs ConsumerPerformance."""
    out: dict = {}
    ours_topic, java_topic = new_topic("bench-ours"), new_topic("bench-java")
    for topic in (ours_topic, java_topic):
        create_topic(bootstrap, topic)  # topic creation stays out of every clock
    produce = [("produce", lambda: ours_produce(lib, ours_topic, plan.records))]
    if plan.wants("produce", "background"):
        produce.append(("producer performance", lambda: producer_performance(
            bootstrap, java_topic, plan.records, VALUE_SIZE, tools=tools, timeout=KEYWORD_TIMEOUT).as_dict()))
    out.update(in_order(produce, ours_first))
    if plan.wants("background"):
        out["background"] = background_rate(lib, bootstrap, plan.background_seconds)
    if plan.wants("verify", "consume"):
        sides = [("consumer performance", lambda: consumer_performance(
            bootstrap, ours_topic, plan.records, tools=tools, timeout=KEYWORD_TIMEOUT).as_dict())]
        if plan.wants("consume"):
            sides.insert(0, ("consume", lambda: ours_consume(lib, ours_topic, plan.records)))
        if plan.wants("verify"):
            sides.insert(0, ("verify", lambda: ours_verify(lib, ours_topic)))
        out.update(in_order(sides, ours_first))
    if plan.wants("copy"):
        out.update(in_order([("copy exactly-once", lambda: ours_copy(lib, bootstrap, ours_topic, plan.records,
                                                                    "exactly-once")),
                             ("copy at-least-once", lambda: ours_copy(lib, bootstrap, ours_topic, plan.records,
                                                                     "at-least-once"))], ours_first))
    return out


def in_order(sides: list, ours_first: bool) -> dict:
    """Run (name, fn) pairs, ours (the first) first or last; results by name, plus the order."""
    order = sides if ours_first else list(reversed(sides))
    results = {name: fn() for name, fn in order}
    results[f"order {'/'.join(name for name, _ in sides)}"] = [name for name, _ in order]
    return results


def ours_produce(lib: KafkaPersistenceLibrary, topic: str, records: int) -> dict:
    sent = lib.produce_records(topic, records, size=VALUE_SIZE, timeout=KEYWORD_TIMEOUT)
    if sent.acknowledged != records:
        raise RuntimeError(f"Produce Records: {sent.acknowledged} of {records} acknowledged ({sent})")
    return {"records_per_second": sent.records_per_second, "seconds": sent.seconds, "acknowledged": sent.acknowledged}


def background_rate(lib: KafkaPersistenceLibrary, bootstrap: str, seconds: float) -> dict:
    """Start Background Producer rate=0 for ``seconds``; acknowledged records per second.

    The clock starts when the keyword has returned (its producer is connected and its thread
    sends) and stops when Stop Background Producer has returned (every outcome known)."""
    topic = new_topic("bench-background")
    create_topic(bootstrap, topic)
    lib.start_background_producer(topic, size=VALUE_SIZE, rate=0)
    t0 = now()
    time.sleep(seconds)
    counts = lib.stop_background_producer(topic, timeout=KEYWORD_TIMEOUT)
    took = now() - t0
    return {"records_per_second": counts.acknowledged / took, "seconds": took, "acknowledged": counts.acknowledged,
            "failed": counts.failed, "unknown": counts.unknown}


def ours_verify(lib: KafkaPersistenceLibrary, topic: str) -> dict:
    """Verify No Acknowledged Records Lost: consumed / the ``seconds`` of its result (read back + verdict)."""
    verdict = lib.verify_no_acknowledged_records_lost(topic, timeout=KEYWORD_TIMEOUT, timeline="off")
    return {"records_per_second": verdict.consumed / verdict.seconds, "seconds": verdict.seconds,
            "consumed": verdict.consumed, "lost": verdict.lost}


def ours_consume(lib: KafkaPersistenceLibrary, topic: str, records: int) -> dict:
    """One member of a new group (commit after processing, no processing time) reads the topic from the start:
    records / seconds from Start Background Consumer's call (process start and group join included, as in
    ConsumerPerformance's nMsg.sec window, which has the join but not the JVM start) until Stop Background
    Consumer returned once the group's commits reached the acknowledged end."""
    group = new_topic("bench-group")
    t0 = now()
    lib.start_background_consumer(topic, group=group, members=1)
    counts = lib.stop_background_consumer(topic, group=group, timeout=KEYWORD_TIMEOUT)
    took = now() - t0
    if not counts.caught_up:
        raise RuntimeError(f"Stop Background Consumer: the group did not catch up ({counts})")
    return {"records_per_second": records / took, "seconds": took, "records": records}


def ours_copy(lib: KafkaPersistenceLibrary, bootstrap: str, source: str, records: int, mode: str) -> dict:
    """A one-member copier copies the whole source to a new topic: records / seconds from Start Copier's call
    (process start and group join included) until Stop Copier returned once its committed offsets reached the
    acknowledged end (every batch copied and committed)."""
    target, group = new_topic(f"bench-copy-{mode}"), new_topic("bench-copier")
    create_topic(bootstrap, target)
    t0 = now()
    try:
        lib.start_copier(source, target, group=group, mode=mode, members=1, batch=COPY_BATCH)
        counts = lib.stop_copier(group, timeout=KEYWORD_TIMEOUT)
    except BaseException:
        keep_member_logs(lib, group)
        raise
    took = now() - t0
    if not counts.caught_up:
        raise RuntimeError(f"Stop Copier: the copier did not catch up ({counts}); member logs in "
                           f"{keep_member_logs(lib, group)}")
    return {"records_per_second": records / took, "seconds": took, "records": records, "batches": counts.batches}


def keep_member_logs(lib: KafkaPersistenceLibrary, group: str) -> str:
    """Copy a copier's member logs (events, stderr) to benchmarks/results/: Stop Kafka removes their directory,
    and a failed row without them says nothing about why."""
    copier = lib.ctx.copiers.get(group)
    if copier is None:
        return "(no copier was made)"
    kept = HERE / "results" / f"{dt.datetime.now():%Y%m%d-%H%M%S}-{group}"
    shutil.copytree(copier.directory, kept, dirs_exist_ok=True)
    print(f"  member logs of copier '{group}' kept in {kept}", file=sys.stderr, flush=True)
    return str(kept)


def transactional(lib: KafkaPersistenceLibrary, bootstrap: str, plan: Plan, tools, plain: dict | None,
                  ours_first: bool) -> dict:
    """Produce Records transactional=True vs ProducerPerformance --transactional-id, transactions of about
    TRANSACTION_RECORDS records each. ProducerPerformance ends its transactions by time
    (--transaction-duration-ms), and its transactional rate depends on that time, so a duration taken from its
    plain rate gave it transactions of 185-560 records in one run: up to CALIBRATIONS short transactional runs
    first adjust the duration until about TRANSACTION_RECORDS came out (within 20 %), and each sample keeps the
    records per transaction that came out (rate x duration)."""
    if plain is None:
        plain = producer_performance(bootstrap, new_topic("bench-java"), plan.records, VALUE_SIZE, tools=tools,
                                     timeout=KEYWORD_TIMEOUT).as_dict()
    ours_topic, java_topic = new_topic("bench-tx-ours"), new_topic("bench-tx-java")
    for topic in (ours_topic, java_topic):
        create_topic(bootstrap, topic)

    def java_transactional(topic: str, records: int, duration_ms: int) -> dict:
        result = producer_performance(bootstrap, topic, records, VALUE_SIZE, tools=tools, timeout=KEYWORD_TIMEOUT,
                                      extra_args=("--transactional-id", new_topic("bench-tx-java"),
                                                  "--transaction-duration-ms", str(duration_ms))).as_dict()
        return {**result, "transaction_duration_ms": duration_ms,
                "records_per_transaction": round(result["records_per_second"] * duration_ms / 1000)}

    duration_ms, calibration = duration_for(plain["records_per_second"]), []
    calibration_records = min(plan.records, max(TRANSACTION_RECORDS * 20, plan.records // 10))
    for _ in range(CALIBRATIONS):
        calibration.append(java_transactional(java_topic, calibration_records, duration_ms))
        came_out = max(1, calibration[-1]["records_per_transaction"])
        if abs(came_out - TRANSACTION_RECORDS) <= TRANSACTION_RECORDS * 0.2:
            break
        # Each commit costs about the same, so its rate grows about as its transactions do, and records per
        # transaction about as the duration squared (measured: 5 ms gave 138, 18 ms 1,626).
        duration_ms = max(1, round(duration_ms * math.sqrt(TRANSACTION_RECORDS / came_out)))

    def ours(topic: str = ours_topic, per_transaction: int = TRANSACTION_RECORDS) -> dict:
        sent = lib.produce_records(topic, plan.records, size=VALUE_SIZE, timeout=KEYWORD_TIMEOUT,
                                   transactional=True, per_transaction=per_transaction)
        if sent.acknowledged != plan.records or sent.in_doubt:
            raise RuntimeError(f"Produce Records transactional: {sent}")
        return {"records_per_second": sent.records_per_second, "seconds": sent.seconds,
                "transactions": sent.committed, "per_transaction": per_transaction}

    def java() -> dict:
        return {**java_transactional(java_topic, plan.records, duration_ms), "calibration": calibration}

    out = in_order([("produce transactional", ours), ("producer performance transactional", java)], ours_first)
    # and ours at the size ProducerPerformance's transactions came out at: the like-for-like figure
    same_topic = new_topic("bench-tx-same")
    create_topic(bootstrap, same_topic)
    came_out = max(1, out["producer performance transactional"]["records_per_transaction"])
    out["produce transactional same size"] = ours(same_topic, came_out)
    return out


def duration_for(records_per_second: float) -> int:
    """ProducerPerformance's --transaction-duration-ms for TRANSACTION_RECORDS records at this rate."""
    return max(1, round(TRANSACTION_RECORDS / records_per_second * 1000))


def member_kill(lib: KafkaPersistenceLibrary, seconds: float) -> dict:
    """A 2-member group (classic protocol) on 2 partitions under a 300 records/s producer: SIGKILL the member
    that holds partition 0, and time from the kill until a member processes partition 0 again (from the
    members' event logs). The session timeout bounds it from below: the group notices a crash only then."""
    topic, group = new_topic("bench-member-kill"), new_topic("bench-kill-group")
    lib.create_topic(topic, partitions=2)
    lib.start_background_producer(topic, rate=300)
    lib.start_background_consumer(topic, group=group, members=2,
                                  session_timeout=f"{MEMBER_KILL_SESSION_TIMEOUT:g} s")
    time.sleep(min(seconds, 3.0))
    consumers = lib.ctx.consumer_groups[group]
    holder = _holder_of_partition_0(consumers.events())
    lib.restart_consumer(group=group, member=str(holder), mode="kill")
    lib.stop_background_producer(topic, timeout=KEYWORD_TIMEOUT)
    lib.stop_background_consumer(topic, group=group, timeout=KEYWORD_TIMEOUT)
    events = consumers.events()
    killed = next(e.t for e in events if e.kind == KILLED)
    again = next((e.t for e in events if e.kind == PROCESSED and e.t > killed
                  and any(p == 0 for p, _ in e.data["records"])), None)
    if again is None:
        raise RuntimeError(f"member-kill: nobody processed partition 0 again after member {holder} was killed")
    return {"seconds": again - killed, "session_timeout": MEMBER_KILL_SESSION_TIMEOUT, "member": holder}


def _holder_of_partition_0(events) -> int:
    """The member that holds partition 0 now, from its assigned/revoked events."""
    holder = None
    for event in events:
        if event.kind == ASSIGNED and 0 in event.data["partitions"]:
            holder = event.member
        elif event.kind == REVOKED and 0 in event.data["partitions"] and event.member == holder:
            holder = None
    if holder is None:
        raise RuntimeError("member-kill: no member holds partition 0")
    return holder


# -- the floors: a bare java broker, a bare docker container --------------------------------

def bare_java_side(plan: Plan) -> dict:
    """Same rows on a bare java broker on the host (format + JVM -> first ack, SIGTERM/SIGKILL + JVM)."""
    out: dict = {}
    with BareJavaBroker() as broker:
        broker.prepare()  # jars, class-data-sharing archives, temp dir: not timed
        out["start"] = broker.start()
        if plan.wants("memory"):
            out["rss"] = broker.rss_bytes()
        for mode in RESTART_MODES:
            if plan.wants(mode):
                out[f"restart {mode}"] = broker.restart(mode)
    return out


def bare_docker_side(image: str, plan: Plan) -> dict:
    """Same rows on a bare container of the same image and environment, through the Docker API."""
    out: dict = {}
    with BareDockerBroker(image, owner=OWNER) as broker:
        out["start"] = broker.start()
        if plan.wants("memory"):
            out["memory"] = broker.memory_bytes()
        for mode in RESTART_MODES:
            if plan.wants(mode):
                out[f"restart {mode}"] = broker.restart(mode)
    return out


# -- power loss: the same Produce Records on a node started with power_loss=True ---------------

def power_loss_side(image: str, plan: Plan) -> dict:
    lib = KafkaPersistenceLibrary(image=image)
    try:
        t0 = now()
        bootstrap = lib.start_kafka(power_loss=True)
        started = now() - t0
        topic = new_topic("bench-power-loss")
        create_topic(bootstrap, topic)
        return {"start_seconds": started, "produce": ours_produce(lib, topic, plan.records)}
    finally:
        lib.stop_kafka()


# -- three brokers: start, memory, a leader kill ----------------------------------------------

def cluster_side(image: str, plan: Plan, rep: int) -> dict:
    """Start Kafka brokers=3 (1 controller) -> first ack; memory per node; leader kill, ours and floor."""
    lib = KafkaPersistenceLibrary(image=image)
    out: dict = {}
    try:
        t0 = now()
        lib.start_kafka(brokers=3)
        out["start"] = {"seconds": now() - t0, "library_started_in": lib.ctx.cluster.started_in_seconds}
        if plan.wants("memory"):
            out["memory"] = node_memory(lib)
        if plan.wants("leader-kill"):
            topic = new_topic("bench-failover")
            lib.create_topic(topic)  # replication factor 3, min.insync.replicas 2 (the cluster's defaults)
            lib.wait_until_replicas_in_sync(topic)
            lib.produce_message(topic, "warm-up")  # Produce Message's client is connected, as in a test
            out.update(in_order([("leader kill", lambda: leader_kill_ours(lib, topic)),
                                 ("leader kill floor", lambda: leader_kill_floor(lib, topic))], rep % 2 == 0))
    finally:
        lib.stop_kafka()
    return out


def leader_kill_ours(lib: KafkaPersistenceLibrary, topic: str) -> dict:
    """Stop Broker leader mode=kill, then Produce Message until one is acknowledged; then bring it back."""
    t0 = now()
    stopped = lib.stop_broker(broker="leader", topic=topic, mode="kill")
    t_stopped = now()
    attempts = 0
    while True:
        attempts += 1
        try:
            lib.produce_message(topic, "after the leader died")
            break
        except KafkaPersistenceError:
            if now() - t0 > LEADER_KILL_TIMEOUT:
                raise
    took = now() - t0
    lib.start_broker(broker=stopped.node)  # not timed: the next measurement starts whole again
    lib.wait_until_replicas_in_sync(topic)
    return {"seconds": took, "stop_broker_seconds": t_stopped - t0, "produce_attempts": attempts,
            "node": stopped.node}


def leader_kill_floor(lib: KafkaPersistenceLibrary, topic: str) -> dict:
    """`docker kill` of the leader's container, then a raw acks=all producer (connected before) until an ack."""
    leader = lib.get_partition_state(topic).leader
    container = next(node.container for node in lib.get_brokers() if node.id == leader)
    client = engine.connect()
    producer = RawProducer(lib.get_bootstrap_servers())
    try:
        producer.first_ack(topic, LEADER_KILL_TIMEOUT)  # connected, with the topic's metadata, as ours is
        t0 = now()
        client.api.kill(container)
        attempts = producer.first_ack(topic, LEADER_KILL_TIMEOUT)
        took = now() - t0
        client.api.wait(container, timeout=60)
        client.api.start(container)  # not timed: the library's node is running again, as it expects
        in_sync_again(lib, topic)
    finally:
        producer.close()
        client.close()
    return {"seconds": took, "probe_attempts": attempts, "node": leader}


def in_sync_again(lib: KafkaPersistenceLibrary, topic: str, timeout: float = 120.0) -> None:
    """Wait Until Replicas In Sync, after a restart the library did not make: until the restarted
    broker has registered again, asking it about the cluster fails (UnknownBrokerIdError)."""
    deadline = now() + timeout
    while True:
        try:
            lib.wait_until_replicas_in_sync(topic, timeout=max(1.0, deadline - now()))
            return
        except KafkaPersistenceError:
            if now() > deadline:
                raise
            time.sleep(0.2)


# -- no broker: check() and the history's memory ----------------------------------------------

def versions_side(rep: int) -> dict:
    """Start Kafka version=V (1 node) -> first ack, then a kill and a graceful restart, per tested version;
    the versions alternate their order per repetition. Each version's image is built first if missing."""
    out: dict = {}
    versions = list(TESTED_KAFKA_VERSIONS)
    for version in versions if rep % 2 == 0 else reversed(versions):
        lib = KafkaPersistenceLibrary()
        try:
            lib.start_kafka(version=version)  # the image, built or checked, outside the timed part
            lib.stop_kafka()
            t0 = now()
            lib.start_kafka(version=version)
            t_started = now()
            lib.produce_message("bench-version-probe", "first")
            out[version] = {"start": {"seconds": t_started - t0, "with_produce_message_seconds": now() - t0},
                            **{f"restart {mode}": timed_restart(lib, mode) for mode in RESTART_MODES}}
        finally:
            lib.stop_kafka()
    return out


def check_side(plan: Plan) -> dict:
    seconds = measure_verdict.check_seconds(plan.records, CHECK_VALUE_SIZE)
    return {"records_per_second": plan.records / seconds, "seconds": seconds, "records": plan.records}


# -- one repetition -------------------------------------------------------------------------------

def repetition(image: str, plan: Plan, tools, rep: int, log) -> dict:
    """Every side once, in reversed order every other repetition (ours first, then last, ...)."""
    sides = []
    if plan.wants("start", "graceful", "kill", "three-node", "memory", "member-kill", "transactional",
                  *THROUGHPUT_ROWS):
        sides.append(("ours", lambda: ours_single(image, plan, tools, rep)))
    if plan.wants("start", "graceful", "kill"):
        sides.append(("bare java", lambda: bare_java_side(plan)))
    if plan.wants("start", "graceful", "kill", "memory"):
        sides.append(("bare docker", lambda: bare_docker_side(image, plan)))
    if plan.wants("power-loss"):
        sides.append(("power loss", lambda: power_loss_side(image, plan)))
    if plan.wants("three-node", "leader-kill", "memory"):
        sides.append(("cluster", lambda: cluster_side(image, plan, rep)))
    if rep % 2:
        sides.reverse()
    if plan.wants("versions"):
        sides.append(("versions", lambda: versions_side(rep)))
    if plan.wants("check"):
        sides.append(("check", lambda: check_side(plan)))
    result: dict = {"order": [name for name, _ in sides], "load after": {}}
    for name, run in sides:
        t0 = now()
        result[name] = run()
        result["load after"][name] = loadavg()
        log(f"  rep {rep + 1}/{plan.repeat} {name}: {brief(result[name])} ({now() - t0:.0f} s; "
            f"load {result['load after'][name]})")
    return result


def brief(sample: dict) -> str:
    """One line of a side's main figures, for the progress log."""
    if "records_per_second" in sample:
        return f"{sample['records_per_second']:,.0f} records/s"
    parts = []
    for key, value in sample.items():
        if isinstance(value, dict) and "start" in value:
            parts.append(f"{key}: {brief(value)}")
        elif isinstance(value, dict) and "seconds" in value and "records_per_second" not in value:
            parts.append(f"{key} {value['seconds']:.2f} s")
        elif isinstance(value, dict) and "records_per_second" in value:
            parts.append(f"{key} {value['records_per_second']:,.0f}/s")
    return ", ".join(parts)


# -- the table -------------------------------------------------------------------------------------

@dataclasses.dataclass
class Line:
    """One table row: ours, what it is compared with, the ratio and the target."""

    row: str
    what: str
    ours: str
    reference: str = "–"
    ratio: float | None = None
    target: str = "reported"
    met: bool | None = None
    values: dict = dataclasses.field(default_factory=dict)  # the medians, for the JSON

    def markdown(self) -> str:
        ratio = "–" if self.ratio is None else f"{self.ratio:.2f}"
        met = "–" if self.met is None else ("yes" if self.met else "**no**")
        return f"| {self.what} | {self.ours} | {self.reference} | {ratio} | {self.target} | {met} |"


def median_of(reps: list[dict], *path: str) -> float | None:
    """Median of the value at ``path`` over the repetitions that have it."""
    values = []
    for rep in reps:
        value = rep
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            values.append(float(value))
    return statistics.median(values) if values else None


def rate(value: float) -> str:
    return f"{value:,.0f} rec/s"


def secs(value: float) -> str:
    return f"{value:.2f} s"


def mib(value: float) -> str:
    return f"{value / MIB:,.0f} MiB"


def ratio_line(row: str, what: str, ours: float | None, reference: float | None, reference_name: str,
               fmt, target: float | None = None, higher_is_better: bool = True) -> Line | None:
    """A row compared with a reference: ratio ours/reference, and whether it meets ``target``."""
    if ours is None or reference is None:
        return None
    ratio = ours / reference
    met = None
    if target is not None:
        met = ratio >= target if higher_is_better else ratio <= target
    target_text = "reported" if target is None else f"{'≥' if higher_is_better else '≤'} {target:g}×"
    return Line(row, what, fmt(ours), f"{reference_name} {fmt(reference)}", ratio, target_text, met,
                {"ours": ours, "reference": reference})


def throughput_lines(reps: list[dict], plan: Plan) -> list[Line]:
    ours = [r.get("ours", {}) for r in reps]
    java = median_of(ours, "producer performance", "records_per_second")
    lines = []
    if plan.wants("produce"):
        lines.append(ratio_line(
            "produce", f"Produce Records {plan.records:,} × 1 KiB (acks=all, idempotent, batch.size="
            f"{BATCHING['batch.size']}, linger.ms={BATCHING['linger.ms']})",
            median_of(ours, "produce", "records_per_second"), java, "ProducerPerformance", rate, 0.8))
    if plan.wants("background"):
        lines.append(ratio_line(
            "background", f"Start Background Producer rate=0 for {plan.background_seconds:g} s, 1 KiB: "
            f"acknowledged/s", median_of(ours, "background", "records_per_second"), java, "ProducerPerformance",
            rate, 0.5))
    if plan.wants("verify"):
        lines.append(ratio_line(
            "verify", "Verify No Acknowledged Records Lost read-back (consumed / its seconds)",
            median_of(ours, "verify", "records_per_second"),
            median_of(ours, "consumer performance", "fetch_messages_per_second"),
            "ConsumerPerformance fetch.nMsg.sec", rate, 0.9))
    if plan.wants("consume"):
        lines.append(ratio_line(
            "consume", f"Start Background Consumer (1 member, commit after processing) → Stop Background Consumer "
            f"caught up, {plan.records:,} × 1 KiB (records / seconds)", median_of(ours, "consume", "records_per_second"),
            median_of(ours, "consumer performance", "messages_per_second"),
            "ConsumerPerformance with a group, nMsg.sec", rate))
    if plan.wants("copy"):
        lines.append(ratio_line(
            "copy", f"Start Copier exactly-once (1 member, batches of {COPY_BATCH}) → Stop Copier caught up, "
            f"{plan.records:,} × 1 KiB (records / seconds)", median_of(ours, "copy exactly-once", "records_per_second"),
            median_of(ours, "copy at-least-once", "records_per_second"), "the same at-least-once", rate))
    if plan.wants("member-kill"):
        lines.append(ratio_line(
            "member-kill", "member SIGKILL → its partition processed again (classic, 2 members)",
            median_of(ours, "member kill", "seconds"), MEMBER_KILL_SESSION_TIMEOUT, "session timeout", secs,
            higher_is_better=False))
    return lines


TIME_TITLES = {"start": ("Start Kafka → first ack (1 node)", 2.0),
               "graceful": ("Restart Broker graceful → first ack", 2.0),
               "kill": ("Restart Broker kill → first ack", 3.0)}


def time_lines(reps: list[dict], plan: Plan) -> list[Line]:
    lines = []
    for row, name in TIME_ROWS.items():
        if not plan.wants(row):
            continue
        title, limit = TIME_TITLES[row]
        ours = median_of(reps, "ours", name, "seconds")
        java = median_of(reps, "bare java", name, "seconds")
        docker = median_of(reps, "bare docker", name, "seconds")
        if ours is None:
            continue
        beside = f"bare java {secs(java)}" if java is not None else "–"
        lines.append(Line(row, title, secs(ours), beside, None, f"≤ {limit:g} s", ours <= limit,
                          {"ours": ours, "bare java": java}))
        lines.append(ratio_line(row, f"{title} vs a bare java broker (same jars and settings)", ours, java,
                                "bare java", secs, 1.2, higher_is_better=False))
        lines.append(ratio_line(row, f"{title} vs bare docker + raw probe", ours, docker, "bare docker", secs,
                                higher_is_better=False))
        with_produce = median_of(reps, "ours", name, "with_produce_message_seconds")
        lines.append(Line(row, f"{title.split(' →')[0]} + a first Produce Message acknowledged", secs(with_produce),
                          beside, values={"ours": with_produce, "bare java": java}))
    return lines


def cluster_lines(reps: list[dict], plan: Plan) -> list[Line]:
    lines = []
    if plan.wants("three-node"):
        lines.append(ratio_line("three-node", "Start Kafka brokers=3 (1 controller) → first ack",
                                median_of(reps, "cluster", "start", "seconds"),
                                median_of(reps, "ours", "start", "seconds"), "1 node", secs, 1.5,
                                higher_is_better=False))
    if plan.wants("leader-kill"):
        lines.append(ratio_line("leader-kill", "Stop Broker leader mode=kill → Produce Message acknowledged "
                                "(3 brokers, RF 3, min ISR 2)", median_of(reps, "cluster", "leader kill", "seconds"),
                                median_of(reps, "cluster", "leader kill floor", "seconds"),
                                "docker kill + raw producer", secs, higher_is_better=False))
    return lines


def memory_lines(reps: list[dict], plan: Plan) -> list[Line]:
    if not plan.wants("memory"):
        return []

    def per_node(side: str, role: str) -> float | None:
        values = [statistics.mean(r[side]["memory"][role]) for r in reps
                  if role in r.get(side, {}).get("memory", {})]
        return statistics.median(values) if values else None

    single = per_node("ours", "combined")
    docker = median_of(reps, "bare docker", "memory")
    rss = median_of(reps, "bare java", "rss")
    lines = [ratio_line("memory", "Memory per node after Start Kafka (docker stats), 1 node", single, docker,
                        "bare docker", mib, higher_is_better=False)]
    if lines[0] is not None and rss:
        lines[0].reference += f" (bare java RSS {mib(rss)})"
    for role in ("broker", "controller"):
        value = per_node("cluster", role)
        if value is not None:
            lines.append(ratio_line("memory", f"Memory per {role} after Start Kafka brokers=3 (docker stats)",
                                    value, single, "1 node", mib, higher_is_better=False))
    return lines


def other_lines(reps: list[dict], plan: Plan, memory: dict | None) -> list[Line]:
    lines = []
    if plan.wants("power-loss"):
        lines.append(ratio_line("power-loss", f"Produce Records {plan.records:,} × 1 KiB with Start Kafka "
                                "power_loss=True", median_of(reps, "power loss", "produce", "records_per_second"),
                                median_of(reps, "ours", "produce", "records_per_second"), "without", rate))
    if plan.wants("check"):
        value = median_of(reps, "check", "records_per_second")
        lines.append(Line("check", f"check() alone, {plan.records:,} records, no broker", rate(value),
                          values={"ours": value}))
    if plan.wants("transactional"):
        per = median_of(reps, "ours", "producer performance transactional", "records_per_transaction")
        lines.append(ratio_line(
            "transactional", f"Produce Records transactional=True per_transaction={TRANSACTION_RECORDS}, "
            f"{plan.records:,} × 1 KiB", median_of(reps, "ours", "produce transactional", "records_per_second"),
            median_of(reps, "ours", "producer performance transactional", "records_per_second"),
            f"ProducerPerformance --transactional-id, --transaction-duration-ms calibrated for ~{TRANSACTION_RECORDS} "
            f"records (came out: {per or 0:,.0f} per transaction)",
            rate))
        lines.append(ratio_line(
            "transactional", "the same, per_transaction= the size ProducerPerformance's transactions came out at "
            "(per repetition)", median_of(reps, "ours", "produce transactional same size", "records_per_second"),
            median_of(reps, "ours", "producer performance transactional", "records_per_second"),
            "ProducerPerformance, as above", rate))
    if memory is not None:
        kept, peak = memory["history kept"], memory["history + check peak"]
        lines.append(Line("bytes", f"Send history bytes per record at {plan.memory_records:,} records "
                          "(kept; peak while check() runs)", f"{kept:.1f}; {peak:.1f} B", "–", None,
                          "≤ ~37; ≤ ~46 B", kept <= 37.5 and peak <= 46.5, dict(memory)))
    return lines


def version_lines(reps: list[dict], plan: Plan) -> list[Line]:
    """One row per tested Kafka version: start and both restarts to the first ack, 1 node, same run."""
    if not plan.wants("versions"):
        return []
    lines = []
    for version in TESTED_KAFKA_VERSIONS:
        values = {key: median_of(reps, "versions", version, key, "seconds")
                  for key in ("start", "restart kill", "restart graceful")}
        if values["start"] is None:
            continue
        lines.append(Line("versions", f"Kafka {version}: Start Kafka → first ack; Restart Broker kill; graceful "
                          "(1 node)", "; ".join(secs(value) for value in values.values()),
                          "the other versions, same run", values=values))
    return lines


def table_lines(reps: list[dict], plan: Plan, memory: dict | None) -> list[Line]:
    lines = (throughput_lines(reps, plan) + time_lines(reps, plan) + cluster_lines(reps, plan)
             + memory_lines(reps, plan) + other_lines(reps, plan, memory) + version_lines(reps, plan))
    return [line for line in lines if line is not None]


def markdown(lines: list[Line]) -> str:
    head = ["| row | ours (median) | compared with (median, same run) | ratio | target | met |",
            "| --- | ---: | ---: | ---: | --- | --- |"]
    return "\n".join(head + [line.markdown() for line in lines]) + "\n"


# -- the machine -----------------------------------------------------------------------------------

def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def _first(path: str, prefix: str) -> str:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    return "?"


def _output(cmd: list[str]) -> str:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (result.stdout + result.stderr).strip()


def machine_info(image: str) -> dict:
    memory_kib = _first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cores": os.cpu_count(), "cpu": _first("/proc/cpuinfo", "model name"),
        "memory": f"{int(memory_kib) / 1024 / 1024:.1f} GiB" if memory_kib.isdigit() else "?",
        "kernel": platform.release(), "docker": _output(["docker", "version", "--format", "{{.Server.Version}}"]),
        "python": sys.version.split()[0], "java": _output(["java", "-version"]).splitlines()[0:1],
        "confluent_kafka": confluent_kafka.__version__, "librdkafka": confluent_kafka.libversion()[0],
        "kafka_python": kafka.__version__, "image": image,
        "image_id": _output(["docker", "image", "inspect", image, "--format", "{{.Id}}"])[:19],
        "load_before": loadavg(),
    }


def highest_load(reps: list[dict]) -> str:
    """The highest 1-minute load average seen after any side of any repetition."""
    seen = [float(load.split()[0]) for rep in reps for load in rep.get("load after", {}).values()
            if load.split() and load.split()[0].replace(".", "", 1).isdigit()]
    return f"{max(seen):.2f}" if seen else "?"


def header(machine: dict, plan: Plan, command: str, started: dt.datetime) -> str:
    java = machine["java"][0] if machine["java"] else "?"
    return "\n".join([
        f"# KafkaPersistenceLibrary benchmark ({started:%Y-%m-%d %H:%M})",
        "",
        f"Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory']} RAM, kernel {machine['kernel']}, "
        f"Docker {machine['docker']}, Python {machine['python']}, {java}; confluent-kafka "
        f"{machine['confluent_kafka']} (librdkafka {machine['librdkafka']}), kafka-python {machine['kafka_python']}.",
        f"Image: `{machine['image']}` ({machine['image_id']}). Load average (1/5/15 min) before: "
        f"{machine['load_before']}, after: {machine.get('load_after', '?')}; highest 1-min load after a "
        f"side: {machine.get('load_highest', '?')}.",
        f"{plan.repeat} repetition(s), medians; ours and the floors alternate their order per repetition. "
        f"Ratios are ours / the reference, of the medians.",
        f"Command: `{command}`",
        "",
        "",
    ])


# -- main ----------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 5; 1 with --quick)")
    parser.add_argument("--records", type=int, default=None,
                        help="records of 1 KiB per throughput row (default 200,000; 5,000 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and 1 repetition, to try the script (~3 min)")
    parser.add_argument("--only", nargs="+", choices=ROWS, metavar="ROW",
                        help=f"measure only these rows: {', '.join(ROWS)}")
    parser.add_argument("--results-md", type=Path, default=None,
                        help="where the table goes (default benchmarks/RESULTS.md for a full run, "
                             "else beside the JSON)")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def plan_from(args: argparse.Namespace) -> Plan:
    return Plan(rows=frozenset(args.only or ROWS),
                repeat=args.repeat or (1 if args.quick else 5),
                records=args.records or (5_000 if args.quick else 200_000),
                background_seconds=2.0 if args.quick else BACKGROUND_SECONDS,
                memory_records=100_000 if args.quick else MEMORY_RECORDS)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run(image: str, plan: Plan, log) -> tuple[list[dict], dict | None]:
    """Every repetition, then the history's bytes/record (once); the Java tools are fetched first."""
    tools = ensure_tools(log=log) if plan.wants("produce", "background", "verify") else None
    reps = []
    for rep in range(plan.repeat):
        log(f"repetition {rep + 1}/{plan.repeat} (load {loadavg()})")
        reps.append(repetition(image, plan, tools, rep, log))
    memory = None
    if plan.wants("bytes"):
        memory = measure_verdict.bytes_per_record(plan.memory_records, CHECK_VALUE_SIZE)
        log(f"  send history: {memory}")
    return reps, memory


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    plan = plan_from(args)
    signal.signal(signal.SIGTERM, _interrupt)  # finally blocks remove what we started
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    started = dt.datetime.now()
    image = resolve_image(None)
    machine = machine_info(image)
    python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
    command = shlex.join([python, "benchmarks/run_benchmarks.py", *argv])
    log(f"{command}: rows {', '.join(r for r in ROWS if r in plan.rows)}; {plan.repeat} repetition(s), "
        f"{plan.records:,} records; image {image}; load {machine['load_before']}")
    try:
        reps, memory = run(image, plan, log)
    except KeyboardInterrupt:
        log("interrupted: every container and process this run started has been removed")
        return 130
    machine["load_after"] = loadavg()
    machine["load_highest"] = highest_load(reps)
    lines = table_lines(reps, plan, memory)
    text = header(machine, plan, command, started) + markdown(lines)
    print(text)
    out = HERE / "results" / f"{started:%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine, "command": command, "plan": dataclasses.asdict(plan)
                               | {"rows": sorted(plan.rows)}, "repetitions": reps, "history_memory": memory,
                               "table": [dataclasses.asdict(line) for line in lines]}, indent=2, default=str))
    full_run = not args.quick and not args.only
    results_md = args.results_md or (HERE / "RESULTS.md" if full_run else out.with_suffix(".md"))
    results_md.write_text(text + f"\nRaw samples: `benchmarks/results/{out.name}` (gitignored).\n")
    log(f"raw samples: {out}; table: {results_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
