"""Side-by-side benchmark of KafkaPersistenceLibrary against the floor: bare Docker + a raw kafka-python client.

Run: ``python benchmarks/run_benchmarks.py [--repeat 3] [--records 100000] [--out FILE] [--broker-config k=v ...]``

Every row is "from the call until the first acknowledged record" unless said otherwise.
Ours and the floor run on the same machine, the same image and the same broker
environment (``broker_environment()``), interleaved per repetition (the side that
goes first alternates), so machine noise hits both alike.

Rows (seconds, lower is better; ratio = ours / floor, target <= 1.15):

* ``start``: ours = ``lib.start_kafka()`` (it returns after its own acks=all probe is
  acknowledged) + ``lib.produce_message()`` until that record is acknowledged; the
  clock starts when ``start_kafka`` is called. Floor = ``docker run -d`` (subprocess,
  same image, same env, ``-p 127.0.0.1:P:9092``) + a raw ``KafkaProducer(acks="all")``
  (reconnect backoff 20-200 ms, like the library's probe; a fresh one 50 ms after a
  failed attempt) until one send is acknowledged; the clock starts when ``docker run``
  is called. ``probe_attempts`` in the JSON says how many producers that took.
* ``restart graceful``: ours = ``lib.restart_broker("graceful")`` + ``lib.produce_message()``
  until acknowledged. Floor = ``docker restart -t 60`` + the raw probe until an ack.
* ``restart kill``: ours = ``lib.restart_broker("kill")`` + ``lib.produce_message()``.
  Floor = ``docker kill`` + ``docker start`` + the raw probe until an ack.
* ``produce``: records/s of ``lib.produce_records(topic, N, size=1024)`` vs a raw
  ``KafkaProducer(**PRODUCER_SETTINGS)`` sending N 1 KiB values and flushing, acks
  counted by callbacks (higher is better; ratio = ours / raw, target >= 0.9).
* ``verify``: records/s of ``lib.verify_no_acknowledged_records_lost(topic)`` on
  those N records (read back from the broker with confluent-kafka + verdict; target
  >= 50,000/s), the same keyword's wall time including its HTML table and PNG, and
  of the pure ``check()`` on N pre-built records (no broker).

Every container this script creates carries the library's labels
(``kafka-persistence-library=true``, ``kafka-persistence-library.pid=<pid>``, ...) and is
removed in a ``finally``. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import kafka
import kafka.record.util as kafka_record_util
from kafka import KafkaProducer

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.environment import new_cluster_id
from KafkaPersistenceLibrary.broker.environment import single_node_environment as broker_environment
from KafkaPersistenceLibrary.broker.labels import labels_for
from KafkaPersistenceLibrary.broker.ports import free_loopback_port
from KafkaPersistenceLibrary.clients.quiet import quiet_kafka_client_logs
from KafkaPersistenceLibrary.clients.recording import PRODUCER_SETTINGS as _BATCHING
from KafkaPersistenceLibrary.durability import SendHistory, check, make_payload
from KafkaPersistenceLibrary.image import resolve_image

# What Produce Records uses by default: acks=all, idempotent, plus its batching.
PRODUCER_SETTINGS = dict(acks="all", enable_idempotence=True, **_BATCHING)

HERE = Path(__file__).resolve().parent
PROBE_INTERVAL = 0.05
VALUE_SIZE = 1024
TARGETS = {"start": 1.15, "restart graceful": 1.15, "restart kill": 1.15, "produce": 0.9, "verify": 50_000}


# -- machine ------------------------------------------------------------------------------------

def _run(cmd: list[str], timeout: float = 120) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout).stdout.strip()


def machine_info(image: str) -> dict:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = "?"
    with contextlib.suppress(OSError):
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                mem_gib = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    labels = json.loads(_run(["docker", "image", "inspect", image, "--format", "{{json .Config.Labels}}"]) or "{}")
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "memory": mem_gib, "kernel": platform.release(),
        "docker": _run(["docker", "version", "--format", "{{.Server.Version}}"]),
        "python": sys.version.split()[0], "kafka_python": kafka.__version__,
        "crc32c_c_extension": kafka_record_util.crc32c_c is not None,
        "image": image, "image_id": _run(["docker", "image", "inspect", image, "--format", "{{.Id}}"]),
        "image_labels": labels or {}, "producer_settings": dict(PRODUCER_SETTINGS),
    }


# -- the floor: bare docker + raw kafka-python -------------------------------------------------

def raw_probe(bootstrap: str, timeout: float = 180.0) -> int:
    """Retry a fresh acks=all producer every 50 ms until one send is acknowledged; return attempts."""
    deadline = time.monotonic() + timeout
    attempts = 0
    with quiet_kafka_client_logs():
        while True:
            attempts += 1
            producer = None
            try:
                producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=2000,
                                         max_block_ms=2000, reconnect_backoff_ms=20, reconnect_backoff_max_ms=200,
                                         retry_backoff_ms=50)
                producer.send("bench-floor-probe", b"ready?").get(timeout=5)
                return attempts
            except Exception:  # noqa: BLE001 - anything means "not yet"
                if time.monotonic() > deadline:
                    raise
            finally:
                if producer is not None:
                    with contextlib.suppress(Exception):
                        producer.close(timeout=0.5)
            time.sleep(PROBE_INTERVAL)


class BareBroker:
    """One container started with plain `docker run`, same image/env as the library's."""

    def __init__(self, image: str, config: dict[str, str]):
        self.image, self.config = image, config
        self.name = f"kpl-bench-floor-{uuid.uuid4().hex[:8]}"
        self.port = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> dict:
        self.port = free_loopback_port()
        env = broker_environment(self.port, new_cluster_id(), self.config)
        cmd = ["docker", "run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:9092"]
        for key, value in labels_for("benchmarks/run_benchmarks.py").items():
            cmd += ["--label", f"{key}={value}"]
        for key, value in env.items():
            cmd += ["-e", f"{key}={value}"]
        t0 = time.monotonic()
        _run(cmd + [self.image])
        t_docker = time.monotonic()
        attempts = raw_probe(self.bootstrap)
        t1 = time.monotonic()
        return {"seconds": t1 - t0, "docker_seconds": t_docker - t0, "probe_attempts": attempts}

    def restart(self, mode: str) -> dict:
        t0 = time.monotonic()
        if mode == "graceful":
            _run(["docker", "restart", "-t", "60", self.name])
        else:
            _run(["docker", "kill", self.name])
            _run(["docker", "start", self.name])
        t_docker = time.monotonic()
        attempts = raw_probe(self.bootstrap)
        t1 = time.monotonic()
        return {"seconds": t1 - t0, "docker_seconds": t_docker - t0, "probe_attempts": attempts}

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", "-v", self.name], capture_output=True, timeout=120)


def raw_produce(bootstrap: str, topic: str, count: int) -> dict:
    producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_SETTINGS)
    value = b"x" * VALUE_SIZE
    lock = threading.Lock()
    counts = {"acked": 0, "failed": 0}

    def ok(_meta):
        with lock:
            counts["acked"] += 1

    def bad(_error):
        with lock:
            counts["failed"] += 1

    try:
        producer.send(topic, b"warm-up").get(timeout=30)  # topic creation/metadata out of the timing (ours: same)
        t0 = time.monotonic()
        for _ in range(count):
            producer.send(topic, value).add_callback(ok).add_errback(bad)
        producer.flush(timeout=300)
        took = time.monotonic() - t0
    finally:
        producer.close(timeout=5)
    return {"seconds": took, "records_per_second": count / took, **counts}


def floor_run(image: str, config: dict[str, str], records: int) -> dict:
    broker = BareBroker(image, config)
    out = {}
    try:
        out["start"] = broker.start()
        out["restart graceful"] = broker.restart("graceful")
        out["restart kill"] = broker.restart("kill")
        out["produce"] = raw_produce(broker.bootstrap, f"bench-raw-{uuid.uuid4().hex[:6]}", records)
    finally:
        broker.remove()
    return out


# -- ours ----------------------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet_stdout():
    """robot.api.logger prints HTML outside Robot; keep the table readable."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield


def ours_run(image: str, config: dict[str, str], records: int) -> dict:
    lib = KafkaPersistenceLibrary(image=image)
    out = {}
    try:
        with _quiet_stdout():
            t0 = time.monotonic()
            lib.start_kafka(**config)
            t_started = time.monotonic()
            lib.produce_message("bench-ours-probe", "first")
            t1 = time.monotonic()
            out["start"] = {"seconds": t1 - t0, "start_kafka_seconds": t_started - t0,
                            "produce_message_seconds": t1 - t_started,
                            "library_started_in": lib.ctx.broker.started_in_seconds}
            for mode in ("graceful", "kill"):
                t0 = time.monotonic()
                report = lib.restart_broker(mode=mode)
                t_restarted = time.monotonic()
                lib.produce_message("bench-ours-probe", mode)
                t1 = time.monotonic()
                out[f"restart {mode}"] = {"seconds": t1 - t0, "restart_broker_seconds": t_restarted - t0,
                                          "produce_message_seconds": t1 - t_restarted,
                                          "stop": report.stop, "recovery": report.recovery}
            topic = f"bench-ours-{uuid.uuid4().hex[:6]}"
            lib.produce_message(topic, "warm-up")  # topic creation out of the timing (raw: same)
            sent = lib.produce_records(topic, records, size=VALUE_SIZE, timeout=300)
            out["produce"] = {"seconds": sent.seconds, "records_per_second": records / sent.seconds,
                              "acked": sent.acknowledged, "failed": sent.failed, "unknown": sent.unknown}
            t0 = time.monotonic()
            verdict = lib.verify_no_acknowledged_records_lost(topic, timeout=300)
            wall = time.monotonic() - t0  # also counts the HTML table + timeline PNG made after the verdict
            out["verify"] = {"seconds": verdict.seconds, "wall_seconds": wall, "consumed": verdict.consumed,
                             "records_per_second": verdict.consumed / verdict.seconds,
                             "lost": verdict.lost, "acknowledged": verdict.acknowledged}
    finally:
        with _quiet_stdout():
            lib.stop_kafka()
    return out


def pure_check(records: int) -> dict:
    history = SendHistory("bench")
    for seq in range(records):
        history.new_send()
        history.acked(seq, 0, seq)
    consumed = [(0, seq, make_payload("bench", seq, VALUE_SIZE)) for seq in range(records)]
    t0 = time.perf_counter()
    verdict = check(history, consumed)
    took = time.perf_counter() - t0
    assert verdict.passed, verdict.summary()
    return {"seconds": took, "records_per_second": records / took}


# -- report --------------------------------------------------------------------------------------

def _stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "samples": values}


def summarize(reps: list[dict], checks: list[dict]) -> dict:
    summary = {}
    for row in ("start", "restart graceful", "restart kill"):
        ours = _stats([r["ours"][row]["seconds"] for r in reps])
        floor = _stats([r["floor"][row]["seconds"] for r in reps])
        summary[row] = {"ours": ours, "floor": floor, "ratio_median": ours["median"] / floor["median"],
                        "ratio_min": ours["min"] / floor["min"]}
    ours = _stats([r["ours"]["produce"]["records_per_second"] for r in reps])
    raw = _stats([r["floor"]["produce"]["records_per_second"] for r in reps])
    summary["produce"] = {"ours": ours, "floor": raw, "ratio_median": ours["median"] / raw["median"],
                          "ratio_best": ours["max"] / raw["max"]}
    summary["verify"] = {"ours": _stats([r["ours"]["verify"]["records_per_second"] for r in reps])}
    summary["verify keyword"] = {"ours": _stats([r["ours"]["verify"]["consumed"] / r["ours"]["verify"]["wall_seconds"]
                                                 for r in reps])}
    summary["check"] = {"ours": _stats([c["records_per_second"] for c in checks])}
    return summary


def table(machine: dict, summary: dict, records: int, repeat: int, config: dict) -> str:
    def ok(flag: bool) -> str:
        return "yes" if flag else "**NO**"

    lines = [
        f"# KafkaPersistenceLibrary benchmark ({dt.datetime.now().strftime('%Y-%m-%d %H:%M')})",
        "",
        f"Machine: {machine['nproc']} cores, {machine['cpu']}, {machine['memory']} RAM, kernel {machine['kernel']}, "
        f"Docker {machine['docker']}, Python {machine['python']}, kafka-python {machine['kafka_python']} "
        f"(crc32c C extension: {'yes' if machine['crc32c_c_extension'] else 'no, pure-Python CRC'}).",
        f"Image: `{machine['image']}` ({machine['image_id'][:19]}); labels: "
        + ", ".join(f"`{k}={v}`" for k, v in sorted(machine["image_labels"].items())),
        f"Producer settings (ours and raw): `{machine['producer_settings']}`. "
        f"Broker config overrides: `{config or '{}'}`. {repeat} repetitions, ours and floor interleaved; "
        f"{records:,} records of {VALUE_SIZE} B.",
        "",
        "| row | ours median | ours min | floor median | floor min | ratio (median) | target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in ("start", "restart graceful", "restart kill"):
        s = summary[row]
        lines.append(f"| {row} (s to first ack) | {s['ours']['median']:.2f} | {s['ours']['min']:.2f} | "
                     f"{s['floor']['median']:.2f} | {s['floor']['min']:.2f} | {s['ratio_median']:.2f} | "
                     f"<= {TARGETS[row]} | {ok(s['ratio_median'] <= TARGETS[row])} |")
    s = summary["produce"]
    lines.append(f"| produce (records/s, acks=all) | {s['ours']['median']:,.0f} | best {s['ours']['max']:,.0f} | "
                 f"{s['floor']['median']:,.0f} | best {s['floor']['max']:,.0f} | {s['ratio_median']:.2f} | "
                 f">= {TARGETS['produce']} | {ok(s['ratio_median'] >= TARGETS['produce'])} |")
    s = summary["verify"]["ours"]
    lines.append(f"| verify (records/s, read back + verdict) | {s['median']:,.0f} | worst {s['min']:,.0f} | - | - | - | "
                 f">= {TARGETS['verify']:,} | {ok(s['median'] >= TARGETS['verify'])} |")
    s = summary["verify keyword"]["ours"]
    lines.append(f"| verify keyword incl. HTML table + timeline PNG (records/s) | {s['median']:,.0f} | "
                 f"worst {s['min']:,.0f} | - | - | - | - | - |")
    s = summary["check"]["ours"]
    lines.append(f"| check() only (records/s, no broker) | {s['median']:,.0f} | worst {s['min']:,.0f} | - | - | - | "
                 f"- | - |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON with all raw samples (default benchmarks/results/<timestamp>.json)")
    parser.add_argument("--broker-config", nargs="*", default=[], metavar="KEY=VALUE",
                        help="broker properties for both sides, e.g. broker.session.timeout.ms=3000")
    parser.add_argument("--results-md", default=str(HERE / "RESULTS.md"),
                        help="where to write the markdown table ('' to skip)")
    args = parser.parse_args(argv)
    config = dict(item.split("=", 1) for item in args.broker_config)
    image = resolve_image(None)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or HERE / "results" / f"{stamp}.json"
    machine = machine_info(image)
    print(f"image {image}; crc32c C extension: {machine['crc32c_c_extension']}; config {config}", flush=True)

    reps, checks = [], []
    for rep in range(args.repeat):
        sides = [("ours", ours_run), ("floor", floor_run)]
        if rep % 2:
            sides.reverse()
        result = {"order": [name for name, _ in sides]}
        for name, fn in sides:
            print(f"rep {rep + 1}/{args.repeat}: {name} ...", flush=True)
            result[name] = fn(image, config, args.records)
            print(f"  {name}: " + ", ".join(
                f"{k} {v.get('seconds', 0):.2f}s" for k, v in result[name].items()), flush=True)
        checks.append(pure_check(args.records))
        reps.append(result)

    summary = summarize(reps, checks)
    text = table(machine, summary, args.records, args.repeat, config)
    print()
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine, "records": args.records, "broker_config": config,
                               "repetitions": reps, "check": checks, "summary": summary}, indent=2))
    print(f"raw samples: {out}")
    if args.results_md:
        Path(args.results_md).write_text(text + f"\nRaw samples: `{out}` "
                                   f"(gitignored). Reproduce: `python benchmarks/run_benchmarks.py --repeat {args.repeat}"
                                   + (f" --broker-config {' '.join(args.broker_config)}" if args.broker_config else "")
                                   + "`.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
