"""Probe the newest keywords with nodes stopped, nodes paused and bad input; print one row per call.

Each call runs in a thread of its own with a deadline of ours, with file descriptor 2
captured, and is classified: ``ours`` (one line of KafkaPersistenceError or
VerificationFailed), ``ok`` (returned), ``LEAK <type>`` (any other exception type),
``MULTILINE`` (our error spread over lines), ``HANG`` (past the deadline), and the count of
lines the call wrote on stderr (a flood of a client's log lines). Not a test: the standards'
question ("does every keyword still answer in one line of ours?") asked of many cases at once;
the defects it found have tests of their own.

    .venv/bin/python tools/keyword_probe.py [single|coordinator|versions] ...
"""

import os
import sys
import tempfile
import threading
import time
import uuid

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.errors import KafkaPersistenceError, VerificationFailed

ROWS = []


def probe(what, condition, call, deadline=90.0):
    """Run ``call`` bounded by ``deadline`` seconds, stderr captured; print and keep its row."""
    outcome = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 - the probe classifies whatever comes out
            outcome["error"] = error

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        started = time.monotonic()
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(deadline)
        took = time.monotonic() - started
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        captured.seek(0)
        stderr_lines = [line for line in captured.read().decode(errors="replace").splitlines() if line.strip()]
    if thread.is_alive():
        result, text = "HANG", f"still running after {deadline:g} s"
    elif "error" in outcome:
        error = outcome["error"]
        text = str(error)
        if isinstance(error, (KafkaPersistenceError, VerificationFailed)):
            result = "ours" if "\n" not in text.strip() else "MULTILINE"
        else:
            result = f"LEAK {type(error).__module__}.{type(error).__name__}"
    else:
        result, text = "ok", repr(outcome.get("value"))
    flood = f" stderr:{len(stderr_lines)}" if stderr_lines else ""
    row = f"{what:<58} | {condition:<10} | {result}{flood} | {took:5.1f} s | {text.splitlines()[0][:170] if text else ''}"
    ROWS.append(row)
    print(row, flush=True)
    if stderr_lines:
        print("      stderr: " + " // ".join(stderr_lines[:3])[:300], flush=True)


def bad_input(lib, topic, tx_topic):
    """Arguments a tester may mistype, on a running cluster."""
    cases = {
        "Produce Records count=0": lambda: lib.produce_records(topic, 0),
        "Produce Records count=-5": lambda: lib.produce_records(topic, -5),
        "Produce Records transactional per_transaction=0": lambda: lib.produce_records(
            topic, 10, transactional=True, per_transaction=0),
        "Produce Records transactional per_transaction=-1": lambda: lib.produce_records(
            topic, 10, transactional=True, per_transaction=-1),
        "Produce Records transactional abort=1.5": lambda: lib.produce_records(topic, 10, transactional=True, abort=1.5),
        "Produce Records transactional abort=-0.1": lambda: lib.produce_records(topic, 10, transactional=True,
                                                                               abort=-0.1),
        "Produce Records transactional acks=1": lambda: lib.produce_records(topic, 10, transactional=True, acks="1"),
        "Produce Records transactional idempotent=False": lambda: lib.produce_records(
            topic, 10, transactional=True, idempotent=False),
        "Produce Records per_transaction=5 without transactional": lambda: lib.produce_records(
            topic, 10, per_transaction=5),
        "Produce Records abort=0.5 without transactional": lambda: lib.produce_records(topic, 10, abort=0.5),
        "Produce Records tx to a topic written non-tx": lambda: lib.produce_records(topic, 10, transactional=True),
        "Produce Records tx timeout=0s": lambda: lib.produce_records(tx_topic + "-t0", 10, transactional=True,
                                                                     timeout="0s"),
        "Produce Records tx timeout=-1s": lambda: lib.produce_records(tx_topic + "-t1", 10, transactional=True,
                                                                      timeout="-1s"),
        "Produce Records tx topic 'bad topic!'": lambda: lib.produce_records("bad topic!", 10, transactional=True),
        "Start Background Producer tx per_transaction=0": lambda: lib.start_background_producer(
            topic + "-bg0", transactional=True, per_transaction=0),
        "Start Background Producer tx abort=2": lambda: lib.start_background_producer(
            topic + "-bg1", transactional=True, abort=2),
        "Start Background Producer tx timeout=0s": lambda: lib.start_background_producer(
            topic + "-bg2", transactional=True, timeout="0s"),
        "Verify isolation=bogus": lambda: lib.verify_no_acknowledged_records_lost(tx_topic, isolation="bogus"),
        "Verify committed_only=True at read_uncommitted": lambda: lib.verify_no_acknowledged_records_lost(
            tx_topic, isolation="read_uncommitted", committed_only=True, timeline="off"),
        "Verify committed_only=True on a non-tx topic": lambda: lib.verify_no_acknowledged_records_lost(
            topic, committed_only=True, timeline="off"),
        "Verify isolation=read_committed on a non-tx topic": lambda: lib.verify_no_acknowledged_records_lost(
            topic, isolation="read_committed", timeline="off"),
        "Verify unknown topic": lambda: lib.verify_no_acknowledged_records_lost("no-such-topic", timeline="off"),
        "Verify timeout=0s": lambda: lib.verify_no_acknowledged_records_lost(tx_topic, timeout="0s", timeline="off"),
        "Get Transactional Id of a non-tx topic": lambda: lib.get_transactional_id(topic),
        "Get Transactional Id unknown topic": lambda: lib.get_transactional_id("no-such-topic"),
        "Stop Broker coordinator transactional_id=unknown": lambda: lib.stop_broker(
            "coordinator", transactional_id="never-used-id"),
        "Stop Broker coordinator group=unknown": lambda: lib.stop_broker("coordinator", group="never-used-group"),
        "Stop Broker coordinator without group/id": lambda: lib.stop_broker("coordinator"),
        "Stop Broker coordinator group= and transactional_id=": lambda: lib.stop_broker(
            "coordinator", group="g", transactional_id="t"),
        "Stop Broker coordinator transactional_id=''": lambda: lib.stop_broker("coordinator", transactional_id=""),
        "Pause Broker group= without broker=coordinator": lambda: lib.pause_broker(1, group="g"),
        "Start Copier unknown source": lambda: lib.start_copier("no-such-topic", topic, "probe-copier"),
        "Start Copier members=0": lambda: lib.start_copier(topic, tx_topic, "probe-copier", members=0),
        "Start Copier batch=-1": lambda: lib.start_copier(topic, tx_topic, "probe-copier", batch=-1),
        "Start Copier mode=bogus": lambda: lib.start_copier(topic, tx_topic, "probe-copier", mode="bogus"),
        "Start Copier source==target": lambda: lib.start_copier(topic, topic, "probe-copier"),
        "Start Copier group=''": lambda: lib.start_copier(topic, tx_topic, ""),
        "Stop Copier none started": lambda: lib.stop_copier(),
        "Stop Copier group=unknown": lambda: lib.stop_copier("never-started"),
        "Restart Copier none started": lambda: lib.restart_copier(),
        "Restart Copier mode=bogus": lambda: lib.restart_copier(mode="bogus"),
        "Restart Copier when=bogus": lambda: lib.restart_copier(mode="kill", when="bogus"),
        "Restart Copier downtime=-1s": lambda: lib.restart_copier(downtime="-1s"),
        "Verify Copied Exactly Once no copier": lambda: lib.verify_copied_exactly_once(topic, tx_topic),
        "Verify Copied guarantee=bogus": lambda: lib.verify_copied_exactly_once(topic, tx_topic, guarantee="bogus"),
        "Upgrade Kafka version=4.4": lambda: lib.upgrade_kafka("4.4"),
        "Upgrade Kafka version=latest": lambda: lib.upgrade_kafka("latest"),
        "Upgrade Kafka version=3.6.0": lambda: lib.upgrade_kafka("3.6.0"),
        "Upgrade Kafka version=99.0.0": lambda: lib.upgrade_kafka("99.0.0"),
        "Upgrade Kafka version='' ": lambda: lib.upgrade_kafka(""),
        "Upgrade Kafka version=4.4.0 broker=7": lambda: lib.upgrade_kafka("4.4.0", broker="7"),
        "Upgrade Kafka version=4.4.0 broker=-1": lambda: lib.upgrade_kafka("4.4.0", broker="-1"),
        "Upgrade Kafka version=4.4.0 broker=bogus": lambda: lib.upgrade_kafka("4.4.0", broker="bogus"),
        "Upgrade Kafka version=4.4.0 timeout=0s": lambda: lib.upgrade_kafka("4.4.0", timeout="0s"),
        "Upgrade Kafka version=4.4.0 image=no/such:image": lambda: lib.upgrade_kafka("4.4.0", image="no/such:image"),
        "Downgrade Kafka version=3.6.0": lambda: lib.downgrade_kafka("3.6.0"),
        "Downgrade Kafka version=99.0.0": lambda: lib.downgrade_kafka("99.0.0"),
        "Downgrade Kafka version=4.4.0 (same)": lambda: lib.downgrade_kafka("4.4.0"),
        "Finalize Kafka Upgrade without upgrade": lambda: lib.finalize_kafka_upgrade(),
        "Finalize Kafka Upgrade timeout=-1s": lambda: lib.finalize_kafka_upgrade(timeout="-1s"),
        "Get Brokers": lambda: [(n.id, n.state, n.version, n.metadata_version) for n in lib.get_brokers()],
    }
    for what, call in cases.items():
        probe(what, "bad input", call, deadline=240 if "99.0.0" in what else 90)
        bring_back(lib)


def bring_back(lib):
    """A case that stopped or paused a node (broker=coordinator on one node is node 1) must not skew the next."""
    states = {n.state for n in lib.get_brokers()}
    if "paused" in states:
        lib.resume_broker()
    if "stopped" in states:
        lib.start_broker()


def nodes_away(lib, topic, tx_topic, condition, copier_source):
    """The keywords while every node is stopped or paused (the library's own fault keywords made it)."""
    cases = {
        "Get Brokers": lambda: [(n.id, n.state, n.version, n.metadata_version) for n in lib.get_brokers()],
        "Produce Records tx 50 timeout=10s": lambda: lib.produce_records(tx_topic, 50, transactional=True,
                                                                         per_transaction=10, timeout="10s"),
        "Produce Records tx new topic timeout=10s": lambda: lib.produce_records(
            tx_topic + "-new", 20, transactional=True, timeout="10s"),
        "Start Background Producer tx timeout=5s": lambda: lib.start_background_producer(
            tx_topic + "-bg", transactional=True, rate=100, timeout="5s"),
        "Stop Background Producer tx timeout=20s": lambda: (time.sleep(3), lib.stop_background_producer(
            tx_topic + "-bg", timeout="20s"))[1],
        "Get Transactional Id": lambda: lib.get_transactional_id(tx_topic),
        "Verify tx timeout=10s": lambda: lib.verify_no_acknowledged_records_lost(tx_topic, timeout="10s",
                                                                                 timeline="off"),
        "Verify tx isolation=read_uncommitted timeout=10s": lambda: lib.verify_no_acknowledged_records_lost(
            tx_topic, timeout="10s", timeline="off", isolation="read_uncommitted"),
        "Stop Broker coordinator transactional_id=<ours>": lambda: lib.stop_broker(
            "coordinator", transactional_id=lib.get_transactional_id(tx_topic)),
        "Restart Broker coordinator group=unknown": lambda: lib.restart_broker(
            broker="coordinator", group="never-used-group"),
        "Start Copier": lambda: lib.start_copier(copier_source, copier_source + "-copy", "probe-copier-down"),
        "Stop Copier timeout=10s": lambda: lib.stop_copier("probe-copier-down", timeout="10s"),
        "Verify Copied Exactly Once timeout=10s": lambda: lib.verify_copied_exactly_once(
            copier_source, copier_source + "-copy", timeout="10s", timeline="off"),
        "Upgrade Kafka version=4.4.0": lambda: lib.upgrade_kafka("4.4.0", timeout="20s"),
        "Upgrade Kafka version=4.1.1": lambda: lib.upgrade_kafka("4.1.1", timeout="20s"),
        "Downgrade Kafka version=4.1.1": lambda: lib.downgrade_kafka("4.1.1", timeout="20s"),
        "Finalize Kafka Upgrade timeout=10s": lambda: lib.finalize_kafka_upgrade(timeout="10s"),
    }
    for what, call in cases.items():
        probe(what, condition, call, deadline=150)


def single():
    lib = KafkaPersistenceLibrary()
    try:
        lib.start_kafka()
        run = uuid.uuid4().hex[:6]
        topic, tx_topic, source = f"probe-{run}", f"probe-tx-{run}", f"probe-src-{run}"
        for name in (topic, tx_topic, source, source + "-copy"):
            lib.create_topic(name)
        lib.produce_records(topic, 100)
        lib.produce_records(tx_topic, 100, transactional=True, per_transaction=10)
        lib.produce_records(source, 100)
        bad_input(lib, topic, tx_topic)
        probe("Stop Broker broker=all", "setup", lambda: lib.stop_broker("all", mode="kill"))
        nodes_away(lib, topic, tx_topic, "stopped", source)
        probe("Start Broker", "setup", lambda: lib.start_broker())
        probe("Pause Broker broker=all", "setup", lambda: lib.pause_broker("all"))
        nodes_away(lib, topic, tx_topic, "paused", source)
        probe("Resume Broker", "setup", lambda: lib.resume_broker())
    finally:
        lib.stop_kafka()


def coordinator():
    """Three brokers: the transaction coordinator or the copier's group coordinator paused or stopped."""
    lib = KafkaPersistenceLibrary()
    try:
        lib.start_kafka(brokers=3)
        run = uuid.uuid4().hex[:6]
        tx_topic, source = f"probe-tx-{run}", f"probe-src-{run}"
        for name in (tx_topic, source, source + "-copy"):
            lib.create_topic(name)
        lib.produce_records(tx_topic, 100, transactional=True, per_transaction=10)
        lib.produce_records(source, 200)
        tid = lib.get_transactional_id(tx_topic)
        probe("Start Copier", "setup", lambda: lib.start_copier(source, source + "-copy", "probe-copier"))
        for action, undo, condition in (("pause_broker", "resume_broker", "paused"),
                                        ("stop_broker", "start_broker", "stopped")):
            probe(f"{action} coordinator transactional_id", "setup",
                  lambda a=action: getattr(lib, a)("coordinator", transactional_id=tid))
            probe("Produce Records tx timeout=10s", f"coord {condition}", lambda: lib.produce_records(
                tx_topic, 50, transactional=True, per_transaction=10, timeout="10s"))
            probe("Get Brokers", f"coord {condition}",
                  lambda: [(n.id, n.state, n.version) for n in lib.get_brokers()])
            probe("Restart Broker coordinator transactional_id", f"coord {condition}",
                  lambda: lib.restart_broker(broker="coordinator", transactional_id=tid, mode="kill"))
            probe("Verify tx timeout=20s", f"coord {condition}", lambda: lib.verify_no_acknowledged_records_lost(
                tx_topic, timeout="20s", timeline="off"))
            probe(f"{undo}", "setup", lambda u=undo: getattr(lib, u)())
            probe(f"{action} coordinator group=probe-copier", "setup",
                  lambda a=action: getattr(lib, a)("coordinator", group="probe-copier"))
            probe("Restart Copier kill before-commit timeout=15s", f"gcoord {condition}",
                  lambda: lib.restart_copier(mode="kill", when="before-commit", timeout="15s"))
            probe("Upgrade Kafka version=4.4.0", f"gcoord {condition}", lambda: lib.upgrade_kafka("4.4.0"))
            probe(f"{undo}", "setup", lambda u=undo: getattr(lib, u)())
        probe("Stop Broker broker=all (brokers)", "setup", lambda: lib.stop_broker("1,2,3", mode="kill")
              if False else [lib.stop_broker(i, mode="kill") for i in (1, 2, 3)])
        probe("Stop Copier timeout=15s", "all down", lambda: lib.stop_copier(timeout="15s"))
        probe("Verify Copied Exactly Once timeout=15s", "all down", lambda: lib.verify_copied_exactly_once(
            source, source + "-copy", timeout="15s", timeline="off"))
        probe("Stop Broker coordinator transactional_id", "all down",
              lambda: lib.stop_broker("coordinator", transactional_id=tid))
        probe("Start Broker", "setup", lambda: lib.start_broker())
    finally:
        lib.stop_kafka()


def versions():
    """Start Kafka version= with odd values (each on a library with no cluster)."""
    for value in ("4.4", "latest", "3.6.0", "99.0.0", "", " 4.4.0 ", "4.4.0-rc1", 4.4, "-1"):
        lib = KafkaPersistenceLibrary()
        try:
            probe(f"Start Kafka version={value!r}", "bad input", lambda v=value, lib=lib: lib.start_kafka(version=v),
                  deadline=300)
        finally:
            lib.stop_kafka()


if __name__ == "__main__":
    for part in sys.argv[1:] or ["versions", "single", "coordinator"]:
        {"single": single, "coordinator": coordinator, "versions": versions}[part]()
    print("\n".join(["", "summary:", *ROWS]))
