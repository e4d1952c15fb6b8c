"""Kafka's own Java clients as the ceiling of the benchmarks: ProducerPerformance and
ConsumerPerformance from ``org.apache.kafka:kafka-tools``, run as plain ``java`` processes.

Jars: ``benchmarks/java/pom.xml`` resolved with ``mvn dependency:copy-dependencies`` (Maven
Central, or whatever an optional ``settings.xml`` says), same Kafka/log4j versions as
``KafkaPersistenceLibrary/versions.py``, cached in the library's cache dir as
``kafka-tools-<hash of pom + versions>/`` (a partial download never looks cached).

Python API (every call returns parsed figures or raises :class:`JavaToolError`, one line):

* ``ensure_tools(cache_dir=None, maven_settings=None, force=False, log=None) -> ToolJars``
* ``producer_performance(bootstrap, topic, num_records, record_size=1024, producer_props=None,
  *, throughput=-1, tools=None, timeout=600) -> ProducerPerformanceResult``
* ``consumer_performance(bootstrap, topic, num_messages, consumer_props=None, *, group=None,
  fetch_size=None, record_timeout_ms=10000, tools=None, timeout=600) -> ConsumerPerformanceResult``
* ``jvm_startup_seconds(main_class, repeat=3, tools=None) -> list[float]``
* ``create_topic(bootstrap, topic, partitions=1, replication_factor=1)``
* parsers without Java: ``parse_producer_summary(stdout)``, ``parse_consumer_output(stdout)``

What the tools' clocks cover (read from the 4.1.1 sources, checked by runs here):

* ProducerPerformance starts its clock after the JVM is up and the KafkaProducer is built,
  just before the first ``send()``; it stops after ``producer.close()`` has waited for every
  callback. So JVM start is *not* in records/s; the first metadata fetch (and topic
  auto-creation, unless the topic exists: use ``create_topic``) and generating a random
  payload per record (on the sending thread) are. Failed sends are printed to stderr and
  not counted: "N records sent" is the number acknowledged.
* ConsumerPerformance starts its clock after the KafkaConsumer is built (JVM start excluded),
  then subscribes; ``rebalance.time.ms`` is subscribe -> partitions assigned (metadata,
  FindCoordinator, JoinGroup, SyncGroup); ``fetch.time.ms`` is the rest of the window (offset
  reset + fetching) until the requested number of records has been read. ``nMsg.sec`` divides
  by the whole window, ``fetch.nMsg.sec`` by the fetch time only. No flag of 4.1.1 removes
  the group join from ``nMsg.sec``; we report ``fetch.nMsg.sec`` as the headline (our library
  reads back with assign(), no group) and keep both. The tool forces ``check.crcs=false``.

CLI: ``python benchmarks/java_tools.py {fetch,startup,producer,consumer,perf} --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script: use this checkout's library, not an installed one
    sys.path.insert(0, str(ROOT))

from KafkaPersistenceLibrary.clients.recording import BATCHING  # noqa: E402
from KafkaPersistenceLibrary.image.build import default_cache_dir, digest  # noqa: E402
from KafkaPersistenceLibrary.versions import KAFKA_VERSION, LOG4J_VERSION  # noqa: E402

JAVA_DIR = HERE / "java"
POM = JAVA_DIR / "pom.xml"
LOG4J2_CONFIG = JAVA_DIR / "tools-log4j2.xml"
PRODUCER_PERFORMANCE = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_PERFORMANCE = "org.apache.kafka.tools.ConsumerPerformance"

# bin/kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh set -Xmx512M; the rest is
# kafka-run-class.sh's default KAFKA_JVM_PERFORMANCE_OPTS. The locale is pinned because the
# tools format numbers with the default locale (a German one would print "1234,5").
TOOL_JVM_OPTS = ("-Xmx512m", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                 "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
                 "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true",
                 "-Duser.language=en", "-Duser.country=US")

# The recording producer's settings (Produce Records): acks=all, idempotent, and its batching
# (clients.recording.BATCHING, librdkafka names, which are also Java's for these two), with
# the in-flight limit librdkafka uses under idempotence.
DEFAULT_PRODUCER_PROPS = {"acks": "all", "enable.idempotence": "true",
                          **{name: str(value) for name, value in BATCHING.items()},
                          "max.in.flight.requests.per.connection": "5"}

MVN_TIMEOUT = 1200


class JavaToolError(Exception):
    """A tool, mvn or java failed; the message is one line with the exit code and last output."""


_LOG_TIMESTAMP = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,.]+\] ")


def last_lines(*texts, count: int = 5) -> str:
    """The tail of a process's output in one line: that is where the reason is. Log timestamps
    are dropped and a line repeated by a retry loop is shown once (at its last position)."""
    lines = []
    for text in texts:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        lines += [_LOG_TIMESTAMP.sub("", line.strip()) for line in (text or "").splitlines() if line.strip()]
    tail = []
    for line in reversed(lines):
        if line not in tail:
            tail.append(line)
        if len(tail) == count:
            break
    return " | ".join(reversed(tail)) or "(no output)"


def first_exception(text: str) -> str:
    """The first "...Exception: message" line of a Java stack trace: the cause, which the
    tail of the trace ("at ...") does not show."""
    for line in (text or "").splitlines():
        line = _LOG_TIMESTAMP.sub("", line.strip())
        if re.search(r"(Exception|Error)(: |$)", line) and not line.startswith("at "):
            return line[:500]
    return ""


@dataclasses.dataclass
class ToolRun:
    stdout: str
    stderr: str
    wall_seconds: float
    command: list[str]


def run_tool(cmd: list[str], what: str, timeout: float, ok_codes=(0,), **kwargs) -> ToolRun:
    """Run ``cmd`` with a timeout (killed when it passes, or on Ctrl-C); fail in one line."""
    started = time.monotonic()
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except FileNotFoundError:
        raise JavaToolError(f"{what}: {cmd[0]} not found on PATH") from None
    except subprocess.TimeoutExpired as expired:
        raise JavaToolError(f"{what} timed out after {timeout:g} s (killed); last output: "
                            f"{last_lines(expired.stdout, expired.stderr)}") from None
    wall = time.monotonic() - started
    if result.returncode not in ok_codes:
        cause = first_exception(result.stderr + "\n" + result.stdout)
        raise JavaToolError(f"{what} failed (exit {result.returncode}): "
                            + (f"{cause}; last lines: " if cause else "")
                            + last_lines(result.stdout, result.stderr, count=3 if cause else 5))
    return ToolRun(result.stdout, result.stderr, wall, list(cmd))


# -- jars ----------------------------------------------------------------------------------------

def tools_hash() -> str:
    """The jar set depends on the POM and the two pinned versions, nothing else."""
    return digest(POM.read_bytes(), KAFKA_VERSION, LOG4J_VERSION)


def tools_dir(cache_dir=None) -> Path:
    return Path(cache_dir or default_cache_dir()).expanduser() / f"kafka-tools-{tools_hash()}"


@dataclasses.dataclass(frozen=True)
class ToolJars:
    """A resolved kafka-tools jar directory and how to start a tool from it."""

    directory: Path
    java: str = "java"

    @property
    def classpath(self) -> str:
        """Explicit, sorted jar list (reproducible order, unlike 'dir/*')."""
        return ":".join(str(p) for p in sorted(self.directory.glob("*.jar")))

    def command(self, main_class: str, args: list[str], jvm_opts=TOOL_JVM_OPTS) -> list[str]:
        return [self.java, *jvm_opts, f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
                "-cp", self.classpath, main_class, *args]


def ensure_tools(cache_dir=None, maven_settings=None, force: bool = False, log=None) -> ToolJars:
    """Resolve kafka-tools and its runtime jars into the cache (once); return them."""
    log = log or (lambda message: None)
    if maven_settings and not Path(maven_settings).is_file():
        raise JavaToolError(f"Maven settings file not found: {maven_settings}")
    java = shutil.which("java")
    if java is None:
        raise JavaToolError("java not found on PATH: install a JDK 17+ (apt-get install openjdk-17-jdk-headless)")
    target = tools_dir(cache_dir)
    marker = target / ".complete"
    if marker.exists() and not force:
        log(f"kafka-tools jars: cached in {target}")
        return ToolJars(target, java)
    if shutil.which("mvn") is None:
        raise JavaToolError("mvn not found on PATH: apt-get install maven")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    cmd = ["mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
           "-DincludeScope=runtime", f"-DoutputDirectory={partial}",
           f"-Dkafka.version={KAFKA_VERSION}", f"-Dlog4j.version={LOG4J_VERSION}"]
    if maven_settings:
        cmd[1:1] = ["-s", str(maven_settings)]
    log(f"kafka-tools jars: mvn dependency:copy-dependencies (kafka-tools {KAFKA_VERSION}) ...")
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="kpl-tools-mvn-") as workdir:  # mvn writes target/ in cwd
            run_tool(cmd, "mvn", MVN_TIMEOUT, cwd=workdir)
        if not (partial / f"kafka-tools-{KAFKA_VERSION}.jar").exists():
            raise JavaToolError(f"mvn did not resolve kafka-tools-{KAFKA_VERSION}.jar")
    except BaseException:  # also Ctrl-C: a half-filled directory must not look cached
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(target)
    marker.write_text(f"kafka-tools {KAFKA_VERSION} log4j {LOG4J_VERSION}\n")
    log(f"kafka-tools jars: {len(list(target.glob('*.jar')))} jars in {target} "
        f"({time.monotonic() - started:.1f} s)")
    return ToolJars(target, java)


# -- properties files ----------------------------------------------------------------------------

def _escape(text: str, is_key: bool) -> str:
    """java.util.Properties.load() syntax (ISO-8859-1 with \\uXXXX escapes)."""
    out = []
    for char in str(text):
        if char == "\\":
            out.append("\\\\")
        elif char in "\n\r\t\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[char])
        elif is_key and char in " =:#!":
            out.append("\\" + char)
        elif ord(char) > 0x7e or ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def properties_text(props: dict) -> str:
    return "".join(f"{_escape(k, True)}={_escape(v, False)}\n" for k, v in props.items())


# -- ProducerPerformance -------------------------------------------------------------------------

_NUMBER = r"[-+]?(?:\d+(?:\.\d+)?|NaN|Infinity)"
_PRODUCER_SUMMARY = re.compile(
    rf"^(?P<records>\d+) records sent, (?P<rps>{_NUMBER}) records/sec \((?P<mbps>{_NUMBER}) MB/sec\), "
    rf"(?P<avg>{_NUMBER}) ms avg latency, (?P<max>{_NUMBER}) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99\.9th\.\s*$", re.MULTILINE)


@dataclasses.dataclass
class ProducerPerformanceResult:
    """ProducerPerformance's final summary line, parsed. Latencies are send() -> callback."""

    records: int  # acknowledged (the tool counts only callbacks without an exception)
    records_per_second: float  # records / the tool's window (first send .. close() returned)
    mb_per_second: float  # MiB of values per second, same window
    latency_avg_ms: float
    latency_max_ms: float
    latency_p50_ms: int
    latency_p95_ms: int
    latency_p99_ms: int
    latency_p999_ms: int
    summary: str  # the line these figures come from
    requested: int = 0
    record_size: int = 0
    wall_seconds: float = 0.0  # the whole java process: JVM start .. exit

    @property
    def tool_seconds(self) -> float:
        """The tool's own window, recomputed from its rounded records/s."""
        return self.records / self.records_per_second if self.records_per_second else 0.0

    @property
    def overhead_seconds(self) -> float:
        """Wall time outside the tool's clock: JVM start, class loading, producer set-up."""
        return self.wall_seconds - self.tool_seconds

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "tool_seconds": self.tool_seconds,
                "overhead_seconds": self.overhead_seconds}


def parse_producer_summary(stdout: str) -> ProducerPerformanceResult:
    """Parse the last final-summary line ("... ms 99.9th."); ValueError if there is none.

    The 5-second progress lines ("..., 12.0 ms max latency.") have no percentiles and are skipped.
    """
    matches = list(_PRODUCER_SUMMARY.finditer(stdout or ""))
    if not matches:
        raise ValueError(f"no ProducerPerformance summary line in its output: {last_lines(stdout)}")
    m = matches[-1]
    return ProducerPerformanceResult(
        records=int(m["records"]), records_per_second=float(m["rps"]), mb_per_second=float(m["mbps"]),
        latency_avg_ms=float(m["avg"]), latency_max_ms=float(m["max"]), latency_p50_ms=int(m["p50"]),
        latency_p95_ms=int(m["p95"]), latency_p99_ms=int(m["p99"]), latency_p999_ms=int(m["p999"]),
        summary=m.group(0).strip())


def producer_performance(bootstrap: str, topic: str, num_records: int, record_size: int = 1024,
                         producer_props: dict | None = None, *, throughput: float = -1,
                         tools: ToolJars | None = None, timeout: float = 600.0,
                         extra_args: tuple[str, ...] = ()) -> ProducerPerformanceResult:
    """Run ProducerPerformance once; raise JavaToolError unless every record was acknowledged.

    ``extra_args`` go on its command line (e.g. ``--transactional-id``, ``--transaction-duration-ms``).

    ``producer_props`` (Java names) default to :data:`DEFAULT_PRODUCER_PROPS`; given, they are
    used as they are (``bootstrap.servers`` is always set from ``bootstrap``). They go through
    a ``--producer.config`` file, so values may contain '=' (``--producer-props`` splits on it).
    """
    tools = tools or ensure_tools()
    props = dict(DEFAULT_PRODUCER_PROPS if producer_props is None else producer_props)
    props["bootstrap.servers"] = bootstrap
    with tempfile.TemporaryDirectory(prefix="kpl-producer-perf-") as workdir:
        config = Path(workdir) / "producer.properties"
        config.write_text(properties_text(props), encoding="latin-1")
        cmd = tools.command(PRODUCER_PERFORMANCE, [
            "--topic", topic, "--num-records", str(num_records), "--record-size", str(record_size),
            "--throughput", str(throughput), "--producer.config", str(config), *extra_args])
        run = run_tool(cmd, "ProducerPerformance", timeout)
    try:
        result = parse_producer_summary(run.stdout)
    except ValueError:
        raise JavaToolError(f"ProducerPerformance printed no summary: {last_lines(run.stdout, run.stderr)}") from None
    result.requested, result.record_size, result.wall_seconds = num_records, record_size, run.wall_seconds
    if result.records != num_records:
        raise JavaToolError(f"ProducerPerformance: {result.records} of {num_records} records acknowledged; "
                            f"first error: {first_exception(run.stderr) or last_lines(run.stderr)}")
    return result


# -- ConsumerPerformance -------------------------------------------------------------------------

CONSUMER_FIELDS = ("start.time", "end.time", "data.consumed.in.MB", "MB.sec", "data.consumed.in.nMsg",
                   "nMsg.sec", "rebalance.time.ms", "fetch.time.ms", "fetch.MB.sec", "fetch.nMsg.sec")
CONSUMER_TIMEOUT_WARNING = "WARNING: Exiting before consuming the expected number of messages"


@dataclasses.dataclass
class ConsumerPerformanceResult:
    """ConsumerPerformance's one result line (``--show-detailed-stats`` off), parsed.

    The window starts after the KafkaConsumer is built and ends when the requested count has
    been read (before close()). MB are MiB of keys + values.
    """

    messages: int  # data.consumed.in.nMsg (can exceed the request by the rest of a poll)
    mb: float  # data.consumed.in.MB
    mb_per_second: float  # MB.sec: over the whole window, group join included
    messages_per_second: float  # nMsg.sec: idem
    rebalance_ms: int  # rebalance.time.ms: subscribe -> partitions assigned
    fetch_ms: int  # fetch.time.ms: window - rebalance
    fetch_mb_per_second: float  # fetch.MB.sec
    fetch_messages_per_second: float  # fetch.nMsg.sec: the figure we report
    start_time: str
    end_time: str
    line: str
    requested: int = 0
    wall_seconds: float = 0.0

    @property
    def window_seconds(self) -> float:
        return (self.rebalance_ms + self.fetch_ms) / 1000.0

    @property
    def overhead_seconds(self) -> float:
        """Wall time outside the tool's window: JVM start, consumer set-up, close (leave group)."""
        return self.wall_seconds - self.window_seconds

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "window_seconds": self.window_seconds,
                "overhead_seconds": self.overhead_seconds}


def parse_consumer_output(stdout: str) -> ConsumerPerformanceResult:
    """Find the header (``start.time, end.time, ...``) and the result line after it.

    Fields are separated by ", " (the tool's printf); the default date format has no comma.
    Raises ValueError for detailed-stats output, a missing line or a field count mismatch.
    """
    lines = [line.strip() for line in (stdout or "").splitlines() if line.strip()]
    header_at = next((i for i, line in enumerate(lines) if line.startswith("start.time,")), None)
    if header_at is None:
        if any(line.startswith("time, threadId,") for line in lines):
            raise ValueError("ConsumerPerformance ran with --show-detailed-stats: no summary line to parse")
        raise ValueError(f"no ConsumerPerformance header in its output: {last_lines(stdout)}")
    names = [name.strip() for name in lines[header_at].split(",")]
    if tuple(names) != CONSUMER_FIELDS:
        raise ValueError(f"unexpected ConsumerPerformance header: {lines[header_at]}")
    rows = [line for line in lines[header_at + 1:] if not line.startswith("WARNING")]
    if not rows:
        raise ValueError(f"ConsumerPerformance printed a header but no result line: {last_lines(stdout)}")
    values = [value.strip() for value in rows[0].split(", ")]
    if len(values) != len(names):
        raise ValueError(f"ConsumerPerformance line has {len(values)} fields, header {len(names)}: {rows[0]}")
    row = dict(zip(names, values, strict=True))
    return ConsumerPerformanceResult(
        messages=int(row["data.consumed.in.nMsg"]), mb=float(row["data.consumed.in.MB"]),
        mb_per_second=float(row["MB.sec"]), messages_per_second=float(row["nMsg.sec"]),
        rebalance_ms=int(row["rebalance.time.ms"]), fetch_ms=int(row["fetch.time.ms"]),
        fetch_mb_per_second=float(row["fetch.MB.sec"]), fetch_messages_per_second=float(row["fetch.nMsg.sec"]),
        start_time=row["start.time"], end_time=row["end.time"], line=rows[0])


def consumer_performance(bootstrap: str, topic: str, num_messages: int, consumer_props: dict | None = None, *,
                         group: str | None = None, fetch_size: int | None = None, record_timeout_ms: int = 10_000,
                         tools: ToolJars | None = None, timeout: float = 600.0) -> ConsumerPerformanceResult:
    """Run ConsumerPerformance once from the earliest offset with a fresh group.

    The tool itself sets group.id, auto.offset.reset=earliest, check.crcs=false,
    max.partition.fetch.bytes (``fetch_size``, default 1 MiB) and receive.buffer.bytes
    (2 MiB) after reading ``consumer_props``, so those cannot be changed through it.
    Raises JavaToolError if fewer than ``num_messages`` arrive: the tool would then have
    idled ``record_timeout_ms`` inside its window, which makes its rates meaningless.
    """
    tools = tools or ensure_tools()
    args = ["--bootstrap-server", bootstrap, "--topic", topic, "--messages", str(num_messages),
            "--group", group or f"kpl-perf-{uuid.uuid4().hex[:8]}", "--timeout", str(record_timeout_ms)]
    if fetch_size:
        args += ["--fetch-size", str(fetch_size)]
    with tempfile.TemporaryDirectory(prefix="kpl-consumer-perf-") as workdir:
        if consumer_props:
            config = Path(workdir) / "consumer.properties"
            config.write_text(properties_text(consumer_props), encoding="latin-1")
            args += ["--consumer.config", str(config)]
        run = run_tool(tools.command(CONSUMER_PERFORMANCE, args), "ConsumerPerformance", timeout)
    if CONSUMER_TIMEOUT_WARNING in run.stdout:
        raise JavaToolError(f"ConsumerPerformance (exit {0}) read fewer than {num_messages} records from "
                            f"'{topic}' before its {record_timeout_ms} ms timeout: {last_lines(run.stdout, run.stderr)}")
    try:
        result = parse_consumer_output(run.stdout)
    except ValueError as why:
        raise JavaToolError(f"ConsumerPerformance: {why}; stderr: {last_lines(run.stderr)}") from None
    result.requested, result.wall_seconds = num_messages, run.wall_seconds
    return result


# -- start-up, topics ----------------------------------------------------------------------------

def jvm_startup_seconds(main_class: str, repeat: int = 3, tools: ToolJars | None = None) -> list[float]:
    """Wall seconds of ``java <flags> -cp <jars> <main_class> --help``: JVM start, log4j,
    the tool's classes and argument parser, no network. Both tools exit 1 after printing help."""
    tools = tools or ensure_tools()
    samples = []
    for _ in range(repeat):
        run = run_tool(tools.command(main_class, ["--help"]), f"{main_class} --help", 60, ok_codes=(0, 1))
        if "usage" not in (run.stdout + run.stderr).lower() and "Option" not in run.stdout + run.stderr:
            raise JavaToolError(f"{main_class} --help printed no usage: {last_lines(run.stdout, run.stderr)}")
        samples.append(run.wall_seconds)
    return samples


def create_topic(bootstrap: str, topic: str, partitions: int = 1, replication_factor: int = 1,
                 timeout: float = 30.0) -> None:
    """Create ``topic`` up front, so no tool's clock includes topic auto-creation."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 2})
    futures = admin.create_topics([NewTopic(topic, partitions, replication_factor)],
                                  operation_timeout=timeout, request_timeout=timeout)
    try:
        futures[topic].result(timeout=timeout)
    except Exception as error:  # noqa: BLE001 - librdkafka raises KafkaException with a KafkaError inside
        if "TOPIC_ALREADY_EXISTS" not in str(error):
            raise JavaToolError(f"creating topic '{topic}' on {bootstrap} failed: {error}") from None


# -- a broker container of our image, for trying the tools by hand -----------------------------

@contextlib.contextmanager
def image_container(config: dict | None = None, image: str | None = None, owner: str = "benchmarks/java_tools.py"):
    """Start one broker container of our image (benchmarks/bare_docker.py: the library's
    environment, published on 127.0.0.1:P only), wait for a first acks=all ack, yield its
    bootstrap; remove it after."""
    from bare_docker import BareDockerBroker

    from KafkaPersistenceLibrary.image import resolve_image

    with BareDockerBroker(resolve_image(image), config, owner=owner, ready_timeout=120) as broker:
        try:
            broker.start()
        except JavaToolError as error:
            raise JavaToolError(f"broker container {broker.name}: {error}; last log lines: "
                                f"{last_lines(broker.logs())}") from None
        yield broker.bootstrap


# -- CLI -----------------------------------------------------------------------------------------

def _props(items: list[str]) -> dict:
    props = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: expected KEY=VALUE, got {item!r}")
        props[key] = value
    return props


def _uptime() -> str:
    with contextlib.suppress(OSError):
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "load average ?"


def _print_producer(result: ProducerPerformanceResult) -> None:
    print(f"ProducerPerformance: {result.records_per_second:,.0f} records/s, {result.mb_per_second:.2f} MB/s, "
          f"latency avg {result.latency_avg_ms:.1f} ms max {result.latency_max_ms:.0f} ms "
          f"(p99 {result.latency_p99_ms} ms); tool window {result.tool_seconds:.2f} s, "
          f"java process {result.wall_seconds:.2f} s (outside the window: {result.overhead_seconds:.2f} s)")


def _print_consumer(result: ConsumerPerformanceResult) -> None:
    print(f"ConsumerPerformance: fetch {result.fetch_messages_per_second:,.0f} records/s "
          f"({result.fetch_mb_per_second:.2f} MB/s) over fetch.time {result.fetch_ms} ms; incl. group join "
          f"{result.messages_per_second:,.0f} records/s (rebalance {result.rebalance_ms} ms); "
          f"{result.messages:,} records; java process {result.wall_seconds:.2f} s "
          f"(outside the window: {result.overhead_seconds:.2f} s)")


def perf(bootstrap: str, records: int, record_size: int, producer_props: dict, repeat: int,
         tools: ToolJars) -> list[dict]:
    """Per repetition: a fresh topic, ProducerPerformance into it, ConsumerPerformance out of it."""
    runs = []
    for rep in range(repeat):
        topic = f"java-perf-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, topic)
        produced = producer_performance(bootstrap, topic, records, record_size, producer_props, tools=tools)
        _print_producer(produced)
        consumed = consumer_performance(bootstrap, topic, records, tools=tools)
        _print_consumer(consumed)
        runs.append({"topic": topic, "producer": produced.as_dict(), "consumer": consumed.as_dict(),
                     "load": _uptime()})
        print(f"  rep {rep + 1}/{repeat} done ({_uptime()})", flush=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cache-dir", help="default: $KAFKA_PERSISTENCE_CACHE or ~/.cache/kafka-persistence-library")
    parser.add_argument("--maven-settings", metavar="FILE", help="settings.xml for mvn")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="resolve the kafka-tools jars into the cache; print their directory")
    fetch.add_argument("--force", action="store_true")
    startup = commands.add_parser("startup", help="JVM start-up of each tool (--help, no network)")
    startup.add_argument("--repeat", type=int, default=5)
    producer = commands.add_parser("producer", help="one ProducerPerformance run")
    consumer = commands.add_parser("consumer", help="one ConsumerPerformance run")
    perf_cmd = commands.add_parser("perf", help="topic + ProducerPerformance + ConsumerPerformance, repeated")
    for sub in (producer, consumer):
        sub.add_argument("--bootstrap", required=True)
        sub.add_argument("--topic", required=True)
    for sub in (producer, perf_cmd):
        sub.add_argument("--records", type=int, default=200_000)
        sub.add_argument("--record-size", type=int, default=1024)
        sub.add_argument("--producer-prop", nargs="*", default=None, metavar="KEY=VALUE",
                         help=f"replace the defaults {DEFAULT_PRODUCER_PROPS}")
    consumer.add_argument("--messages", type=int, required=True)
    consumer.add_argument("--consumer-prop", nargs="*", default=None, metavar="KEY=VALUE")
    target = perf_cmd.add_mutually_exclusive_group(required=True)
    target.add_argument("--bootstrap", help="an already running broker (127.0.0.1 only)")
    target.add_argument("--container", action="store_true", help="start a broker container of our image")
    target.add_argument("--bare-java", action="store_true", help="start a bare-java broker (benchmarks/bare_java.py)")
    perf_cmd.add_argument("--repeat", type=int, default=1)
    perf_cmd.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    try:
        tools = ensure_tools(args.cache_dir, args.maven_settings, getattr(args, "force", False), log)
        if args.command == "fetch":
            print(tools.directory)
        elif args.command == "startup":
            for main_class in (PRODUCER_PERFORMANCE, CONSUMER_PERFORMANCE):
                samples = jvm_startup_seconds(main_class, args.repeat, tools)
                print(f"{main_class.rsplit('.', 1)[1]} --help: median {statistics.median(samples):.2f} s "
                      f"(min {min(samples):.2f}, max {max(samples):.2f}; {args.repeat} runs; {_uptime()})")
        elif args.command == "producer":
            props = None if args.producer_prop is None else _props(args.producer_prop)
            _print_producer(producer_performance(args.bootstrap, args.topic, args.records, args.record_size,
                                                 props, tools=tools))
        elif args.command == "consumer":
            _print_consumer(consumer_performance(args.bootstrap, args.topic, args.messages,
                                                 _props(args.consumer_prop), tools=tools))
        else:
            props = None if args.producer_prop is None else _props(args.producer_prop)
            print(f"{args.records:,} records x {args.record_size} B, producer props "
                  f"{props or DEFAULT_PRODUCER_PROPS}; {_uptime()}", flush=True)
            if args.bootstrap:
                broker = contextlib.nullcontext(args.bootstrap)
            elif args.container:
                broker = image_container()
            else:
                from bare_java import started_bare_java

                broker = started_bare_java(cache_dir=args.cache_dir, maven_settings=args.maven_settings, log=log)
            with broker as bootstrap:
                runs = perf(bootstrap, args.records, args.record_size, props, args.repeat, tools)
            if args.repeat > 1:
                print(f"median of {args.repeat}: ProducerPerformance "
                      f"{statistics.median(r['producer']['records_per_second'] for r in runs):,.0f} records/s, "
                      f"ConsumerPerformance fetch "
                      f"{statistics.median(r['consumer']['fetch_messages_per_second'] for r in runs):,.0f} records/s")
            if args.json:
                args.json.write_text(json.dumps({"bootstrap_kind": "container" if args.container else
                                                 "bare-java" if args.bare_java else "given", "runs": runs}, indent=2))
    except JavaToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
