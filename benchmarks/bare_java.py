"""The "bare java" floor: one KRaft broker+controller as a plain ``java`` process on the host.

Same jars as our image (the image build's cached ``jars-<hash>/``, resolved from the same
``image/files/pom.xml`` if missing), the same server properties as the library's single node
(``single_node_environment()`` turned back into ``server.properties``, with its listeners
made host-local: PLAINTEXT + CONTROLLER on 127.0.0.1, on free ports outside the kernel's
ephemeral range), the same broker JVM flags (the environment's ``KAFKA_JVM_PERFORMANCE_OPTS``
and ``KAFKA_HEAP_OPTS`` when set, else the defaults of the image's entrypoint
``image/files/run``), and by default class-data-sharing archives recorded the way the image
records its own. What is left between this floor and the container floor is Docker itself
and the image's start script (its config/format JVM on a container's first start; a
restarted container skips it, as a restarted bare-java broker does). One difference stays:
the host's JVM build, not the image's (both Debian's OpenJDK 17, possibly different updates).

Why CDS by default: the image starts every JVM with the archives it recorded at build time
(``run cds-train``). A floor without them would pay class loading the container does not pay
(measured here: start 3.2 s without vs 1.9 s with, StorageTool format 0.70 vs 0.35 s), so it
would understate what Docker costs, or even come out slower than the container. The archives
are recorded once per jar set, class path, JVM build and flags (cached as
``bare-java-cds-<hash>/``) and checked with ``-Xshare:on`` so a mismatch fails loudly instead of
silently running without them. ``cds=False`` / ``--cds off|both`` measures without them.

Measured, like ``run_benchmarks.py``'s container floor ("from the call until the first
acknowledged acks=all record" of a raw librdkafka producer, :class:`RawProducer`):

* ``start``: ``StorageTool format`` (its own JVM) + broker JVM -> first ack.
* ``restart graceful``: SIGTERM, wait for exit, start the JVM again -> first ack.
* ``restart kill``: SIGKILL, start the JVM again -> first ack.

Python API::

    with BareJavaBroker(config=None, cds=True) as broker:   # prepares jars/CDS, not timed
        broker.start()             -> {"seconds", "format_seconds", "launch_to_ack_seconds", "probe_attempts"}
        broker.restart("graceful") -> {"seconds", "stop_seconds", "exit_code", "clean_shutdown", ...}
        broker.bootstrap           -> "127.0.0.1:P"
        broker.rss_bytes()         -> resident memory of the broker JVM now
    bare_java_run(config=None, cds=True) -> {"start": {...}, "restart graceful": {...}, "restart kill": {...}}
    started_bare_java(config=None, **kwargs)  -> context manager yielding a started broker's bootstrap
    measure(repeat=5, config=None, cds_modes=(True,)) -> {"runs": [...], "medians": {"cds on": {row: seconds}}, ...}

Everything started here is killed and its temp dir removed in a ``finally`` (also on Ctrl-C
and SIGTERM of the CLI; the JVMs also get SIGKILL if this process dies, via PR_SET_PDEATHSIG).

CLI: ``python benchmarks/bare_java.py --repeat 5 [--cds on|off|both] [--broker-config k=v ...]``
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):  # run as a script or imported: this checkout's library and java_tools
    if _path not in sys.path:
        sys.path.insert(0, _path)

import confluent_kafka  # noqa: E402
from java_tools import JavaToolError, last_lines, run_tool  # noqa: E402

from KafkaPersistenceLibrary.broker.environment import new_cluster_id, single_node_environment  # noqa: E402
from KafkaPersistenceLibrary.broker.ports import ephemeral_range, free_loopback_port  # noqa: E402, F401
from KafkaPersistenceLibrary.errors import KafkaPersistenceError  # noqa: E402
from KafkaPersistenceLibrary.image.build import FILES, BuildOptions, build_jars, digest, jars_dir, jars_hash  # noqa: E402
from KafkaPersistenceLibrary.image.tools import ImageError  # noqa: E402

RUN_SCRIPT = FILES / "run"
BROKER_LOG4J2 = FILES / "log4j2.yaml"  # the image's broker logging (INFO to stdout -> our log file)
TOOLS_LOG4J2 = FILES / "tools-log4j2.yaml"  # the image's storage-format logging
PROBE_TOPIC = "bench-floor-probe"
PROBE_INTERVAL = 0.05
ROWS = ("start", "restart graceful", "restart kill")
# Bump when the way the archives are recorded changes: the cached archives are then redone.
CDS_TRAINING = "like image run cds-train: format, start until 'Kafka Server started', SIGTERM"
# KafkaDockerWrapper's list of KAFKA_* variables that are not server properties.
NOT_PROPERTIES = {"KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
                  "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL",
                  "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL", "KAFKA_JMX_HOSTNAME"}


# -- what the image does, read from the image's own files ----------------------------------------

def image_defaults(run_script: Path = RUN_SCRIPT) -> dict[str, list[str]]:
    """The JVM flags the image's entrypoint uses when the environment sets none: ``heap``
    (``KAFKA_HEAP_OPTS``), ``performance`` (``KAFKA_JVM_PERFORMANCE_OPTS``) and ``storage``
    (``STORAGE_JVM_OPTS``), read from the entrypoint so the floor follows any change there."""
    text = run_script.read_text()
    heap = re.search(r"\$\{KAFKA_HEAP_OPTS:-([^}]*)\}", text)
    perf = re.search(r"\$\{KAFKA_JVM_PERFORMANCE_OPTS:-([^}]*)\}", text)
    storage = re.search(r'^STORAGE_JVM_OPTS="([^"]*)"', text, re.MULTILINE)
    if not (heap and perf and storage):
        raise JavaToolError(f"cannot read the JVM flags from {run_script}: broker_jvm_opts / "
                            "STORAGE_JVM_OPTS changed shape; update bare_java.image_defaults")
    return {"heap": heap.group(1).split(), "performance": perf.group(1).split(), "storage": storage.group(1).split()}


def image_jvm_opts(run_script: Path = RUN_SCRIPT) -> tuple[list[str], list[str]]:
    """(broker flags, storage-tool flags) of the image's entrypoint when no variable sets them."""
    defaults = image_defaults(run_script)
    return defaults["heap"] + defaults["performance"], defaults["storage"]


def broker_jvm_opts(environment: dict[str, str], run_script: Path = RUN_SCRIPT) -> list[str]:
    """The broker JVM's flags as the entrypoint builds them for ``environment``: its
    ``KAFKA_HEAP_OPTS`` and ``KAFKA_JVM_PERFORMANCE_OPTS`` when set (the library sets the
    latter, e.g. ``-XX:TieredStopAtLevel=1``), else the entrypoint's defaults."""
    defaults = image_defaults(run_script)
    heap = environment.get("KAFKA_HEAP_OPTS")
    performance = environment.get("KAFKA_JVM_PERFORMANCE_OPTS")
    return ((heap.split() if heap else defaults["heap"])
            + (performance.split() if performance else defaults["performance"]))


def env_to_property(name: str) -> str:
    """KafkaDockerWrapper's rule: strip KAFKA_, lowercase, '_'->'.', then '...'->'-', '..'->'_'."""
    return name[len("KAFKA_"):].lower().replace("_", ".").replace("...", "-").replace("..", "_")


def server_properties(port: int, controller_port: int, data_dir: Path, config: dict | None = None) -> dict:
    """The library's single-node properties (what the image's wrapper writes), made host-local.

    The library's node has three listeners (CLIENT for clients, INTERNAL between brokers,
    CONTROLLER for the quorum) on a container's interfaces. One process on the host needs
    no private network: PLAINTEXT (clients and inter-broker) and CONTROLLER, both on
    127.0.0.1, with the protocol map, inter-broker listener and voter to match, and
    log.dirs in our temp dir. Everything else is the library's, ``config`` included."""
    env = single_node_environment(port, "unused", config or {})
    props = {env_to_property(k): v for k, v in env.items() if k.startswith("KAFKA_") and k not in NOT_PROPERTIES}
    props.update({
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "log.dirs": str(data_dir),
    })
    return props


# -- ports -----------------------------------------------------------------------------------------

def free_port(exclude=()) -> int:
    """A free 127.0.0.1 port outside the kernel's ephemeral range (the library's rule): no
    outgoing connection on the host can be handed it while the broker restarts."""
    try:
        return free_loopback_port(exclude=set(exclude))
    except KafkaPersistenceError as error:
        raise JavaToolError(str(error)) from None


# -- the probe: a raw producer until the first acknowledgement -------------------------------------

# acks=all like every row; no idempotence (no producer-id round trip before the first send) and
# no linger; reconnects and retries as quick as the library's own readiness probe (20-200 ms);
# metadata every 250 ms (default 5 min), so that after a leader dies it learns the new one as
# soon as the cluster has elected it, not when a later error happens to ask.
PROBE_SETTINGS = {"acks": "all", "enable.idempotence": False, "linger.ms": 0,
                  "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
                  "retry.backoff.ms": 20, "retry.backoff.max.ms": 200,
                  "topic.metadata.refresh.interval.ms": 250, "log_level": 0}
PROBE_POLL_SECONDS = 0.01


class RawProducer:
    """A bare librdkafka producer used as the floor's client: nothing but produce and poll.

    Made once and kept (it reconnects by itself), as a real client would be, rather than
    a new client per attempt: the floor then pays no client start-up per attempt.
    """

    def __init__(self, bootstrap: str, settings: dict | None = None):
        self.bootstrap = bootstrap
        self._producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, **PROBE_SETTINGS,
                                                   **(settings or {})})

    def first_ack(self, topic: str = PROBE_TOPIC, timeout: float = 180.0, still_running=None) -> int:
        """Send one record and wait for its acknowledgement; when it fails, send another.

        Returns how many records were sent until one was acknowledged. ``still_running()``
        makes a broker that died fail at once, not at the deadline."""
        deadline = time.monotonic() + timeout
        attempts, last_error = 0, "none"
        while True:
            attempts += 1
            outcome: list = []
            self._producer.produce(topic, b"ready?", on_delivery=lambda error, _message, sink=outcome: sink.append(error))
            while not outcome:
                self._producer.poll(PROBE_POLL_SECONDS)
                if still_running is not None and not still_running():
                    raise JavaToolError(f"broker at {self.bootstrap} exited before its first ack")
                if time.monotonic() > deadline:
                    raise JavaToolError(f"no acks=all ack from {self.bootstrap} within {timeout:g} s "
                                        f"({attempts} records sent; last error: {last_error})")
            if outcome[0] is None:
                return attempts
            last_error = outcome[0].str()
            time.sleep(PROBE_INTERVAL)

    def close(self) -> None:
        self._producer.purge()
        self._producer.flush(0)


def probe_first_ack(bootstrap: str, timeout: float = 180.0, still_running=None) -> int:
    """A fresh :class:`RawProducer` until one acks=all record is acknowledged; returns records sent."""
    producer = RawProducer(bootstrap)
    try:
        return producer.first_ack(PROBE_TOPIC, timeout, still_running)
    finally:
        producer.close()


def _die_with_parent():
    """In the child before exec: SIGKILL when the process that started it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# -- the broker ------------------------------------------------------------------------------------

class BareJavaBroker:
    """One broker+controller JVM on the host; restartable; everything removed by close()."""

    def __init__(self, config: dict | None = None, *, cds: bool = True, cache_dir=None, maven_settings=None,
                 stop_timeout: float = 60.0, ready_timeout: float = 180.0, log=None):
        self.config = dict(config or {})
        self.cds = cds
        self.options = BuildOptions(cache_dir=cache_dir, maven_settings=maven_settings)
        self.stop_timeout = stop_timeout
        self.ready_timeout = ready_timeout
        self.log = log or (lambda message: None)
        self.broker_opts = broker_jvm_opts(single_node_environment(0, "unused", self.config))
        self.storage_opts = image_defaults()["storage"]
        self.workdir: Path | None = None
        self.port = self.controller_port = 0
        self.process: subprocess.Popen | None = None
        self.launches = 0
        self.cluster_id = new_cluster_id()
        self.jars: Path | None = None
        self.cds_files: dict[str, Path] = {}

    # context manager: close() always runs
    def __enter__(self) -> "BareJavaBroker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def classpath(self) -> str:
        """Explicit sorted jar list, like the image's entrypoint (CDS needs an exact match)."""
        return ":".join(str(p) for p in sorted(self.jars.glob("*.jar")))

    # -- preparation (not timed) --
    def prepare(self) -> None:
        """Jars, CDS archives, temp dir, ports, server.properties. Idempotent."""
        if self.workdir is not None:
            return
        try:
            outcome = build_jars(self.options)  # cached: the image build's jars-<hash>/
        except ImageError as error:
            raise JavaToolError(f"broker jars: {error}") from None
        self.jars = jars_dir(self.options)
        self.log(f"bare-java: broker jars {outcome} in {self.jars}")
        if self.cds:
            self.cds_files = ensure_cds_archives(self, self.log)
        self.workdir = Path(tempfile.mkdtemp(prefix="kpl-bare-java-"))
        self.port = free_port()
        self.controller_port = free_port(exclude={self.port})
        props = server_properties(self.port, self.controller_port, self.workdir / "data", self.config)
        self.properties_file.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    @property
    def properties_file(self) -> Path:
        return self.workdir / "server.properties"

    def _cds_opt(self, name: str) -> list[str]:
        return [f"-XX:SharedArchiveFile={self.cds_files[name]}"] if name in self.cds_files else []

    def format_command(self, extra: list[str] | None = None) -> list[str]:
        return ["java", *self.storage_opts, *(extra if extra is not None else self._cds_opt("storage")),
                f"-Dlog4j2.configurationFile={TOOLS_LOG4J2}", "-cp", self.classpath,
                "kafka.tools.StorageTool", "format", "--cluster-id", self.cluster_id,
                "--config", str(self.properties_file)]

    def broker_command(self, extra: list[str] | None = None) -> list[str]:
        return ["java", *self.broker_opts, *(extra if extra is not None else self._cds_opt("kafka")),
                f"-Dlog4j2.configurationFile={BROKER_LOG4J2}", "-cp", self.classpath,
                "kafka.Kafka", str(self.properties_file)]

    # -- the timed operations --
    def format(self, extra: list[str] | None = None) -> float:
        """``StorageTool format`` in its own JVM (it calls exit); returns its wall seconds."""
        return run_tool(self.format_command(extra), "StorageTool format", 120).wall_seconds

    def launch(self, extra: list[str] | None = None) -> None:
        """Start the broker JVM; its output goes to broker-<n>.log in the temp dir."""
        self.launches += 1
        log_path = self.workdir / f"broker-{self.launches}.log"
        with open(log_path, "wb") as out:
            # Own session: a Ctrl-C in the terminal reaches us, and we stop the broker ourselves.
            self.process = subprocess.Popen(self.broker_command(extra), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            preexec_fn=_die_with_parent, cwd=self.workdir)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"broker-{self.launches}.log"

    def log_tail(self, count: int = 8) -> str:
        try:
            return last_lines(self.log_path.read_text(errors="replace"), count=count)
        except OSError:
            return "(no log)"

    def wait_for_log(self, text: str, timeout: float) -> None:
        """Wait until the current broker log contains ``text`` (the JVM must stay alive)."""
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            if not self.running() or time.monotonic() > deadline:
                raise JavaToolError(f"bare-java broker: no '{text}' in its log "
                                    f"({'exited' if not self.running() else f'{timeout:g} s'}); "
                                    f"last log lines: {self.log_tail()}")
            time.sleep(0.2)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_bytes(self) -> int:
        """The broker JVM's resident memory now (VmRSS), 0 when it does not run."""
        if not self.running():
            return 0
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _wait_first_ack(self, what: str) -> int:
        try:
            return probe_first_ack(self.bootstrap, self.ready_timeout, still_running=self.running)
        except JavaToolError as error:
            code = self.process.poll() if self.process else None
            raise JavaToolError(f"bare-java broker {what}: {error}"
                                + (f" (exit {code})" if code is not None else "")
                                + f"; last log lines: {self.log_tail()}") from None

    def start(self) -> dict:
        """Format + launch -> first ack. The clock starts at the format JVM (like `docker run`,
        whose container also formats before it starts the broker)."""
        self.prepare()
        if self.process is not None:
            raise JavaToolError("bare-java broker already started: use restart()")
        t0 = time.monotonic()
        format_seconds = self.format()
        t_launch = time.monotonic()
        self.launch()
        attempts = self._wait_first_ack("start")
        t1 = time.monotonic()
        return {"seconds": t1 - t0, "format_seconds": format_seconds, "launch_to_ack_seconds": t1 - t_launch,
                "probe_attempts": attempts, "cds": bool(self.cds_files)}

    def stop(self, mode: str) -> dict:
        """SIGTERM (graceful, SIGKILL after stop_timeout) or SIGKILL; wait for the exit."""
        if not self.running():
            raise JavaToolError(f"bare-java broker is not running (exit {self.process and self.process.poll()}); "
                                f"last log lines: {self.log_tail()}")
        t0 = time.monotonic()
        forced = False
        if mode == "graceful":
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                forced = True
                self.process.kill()
                self.process.wait(30)
        elif mode == "kill":
            self.process.kill()
            self.process.wait(30)
        else:
            raise JavaToolError(f"unknown restart mode {mode!r}: use graceful or kill")
        log_text = self.log_path.read_text(errors="replace")
        return {"stop_seconds": time.monotonic() - t0, "exit_code": self.process.returncode,
                "clean_shutdown": mode == "graceful" and not forced and "shut down completed" in log_text}

    def restart(self, mode: str) -> dict:
        """Stop (``graceful``/``kill``) and start the JVM again (no format) -> first ack."""
        t0 = time.monotonic()
        stopped = self.stop(mode)
        t_launch = time.monotonic()
        self.launch()
        attempts = self._wait_first_ack(f"restart ({mode})")
        t1 = time.monotonic()
        return {"seconds": t1 - t0, **stopped, "launch_to_ack_seconds": t1 - t_launch, "probe_attempts": attempts}

    def close(self) -> None:
        """Kill the JVM (if any) and remove the temp dir; safe to call twice."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the JVM and anything it forked
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(30)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


# -- class-data-sharing archives -------------------------------------------------------------------

def cds_dir(broker: BareJavaBroker) -> Path:
    """Archives are valid for one JVM build, one exact class path and one set of flags."""
    java_version = run_tool(["java", "-Xshare:auto", "-version"], "java -version", 60).stderr
    key = digest(CDS_TRAINING, jars_hash(), broker.classpath, java_version, " ".join(broker.broker_opts),
                 " ".join(broker.storage_opts), BROKER_LOG4J2.read_bytes())
    return broker.options.cache_dir / f"bare-java-cds-{key}"


def ensure_cds_archives(broker: BareJavaBroker, log) -> dict[str, Path]:
    """Record storage.jsa and kafka.jsa once (cached), the way the image's ``run cds-train``
    does: format a throwaway log dir and start a throwaway broker with -XX:ArchiveClassesAtExit."""
    target = cds_dir(broker)
    files = {"storage": target / "storage.jsa", "kafka": target / "kafka.jsa"}
    if (target / ".complete").exists():
        return files
    log(f"bare-java: recording CDS archives into {target} ...")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    trainer = BareJavaBroker(broker.config, cds=False, cache_dir=broker.options.cache_dir, log=log)
    try:
        trainer.prepare()
        trainer.format([f"-XX:ArchiveClassesAtExit={partial / 'storage.jsa'}"])
        trainer.launch([f"-XX:ArchiveClassesAtExit={partial / 'kafka.jsa'}"])
        trainer.wait_for_log("Kafka Server started", 120)  # where the image's training stops too
        stopped = trainer.stop("graceful")
        if not stopped["clean_shutdown"]:
            raise JavaToolError(f"CDS training broker did not shut down cleanly: {trainer.log_tail()}")
        for name in files:
            if not (partial / files[name].name).is_file():
                raise JavaToolError(f"CDS training wrote no {files[name].name}: {trainer.log_tail()}")
        # An archive the JVM would refuse (class path/flags mismatch) must fail here, not silently.
        run_tool(["java", *broker.broker_opts, "-Xshare:on", f"-XX:SharedArchiveFile={partial / 'kafka.jsa'}",
                  "-cp", broker.classpath, "-version"], "java -Xshare:on with the new kafka.jsa", 60)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        trainer.close()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    (target / ".complete").write_text("storage.jsa kafka.jsa\n")
    return files


# -- runs --------------------------------------------------------------------------------------------

def bare_java_run(config: dict | None = None, **broker_kwargs) -> dict:
    """One fresh broker: start, graceful restart, kill restart (each -> first ack); removed after.
    Same row names and ``seconds`` key as run_benchmarks.floor_run."""
    with BareJavaBroker(config, **broker_kwargs) as broker:
        broker.prepare()
        out = {"start": broker.start()}
        out["restart graceful"] = broker.restart("graceful")
        out["restart kill"] = broker.restart("kill")
    return out


@contextlib.contextmanager
def started_bare_java(config: dict | None = None, **broker_kwargs):
    """Yield the bootstrap of a started bare-java broker (for the Java tools); removed after."""
    with BareJavaBroker(config, **broker_kwargs) as broker:
        broker.start()
        yield broker.bootstrap


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def measure(repeat: int = 5, config: dict | None = None, cds_modes=(True,), report=print, **broker_kwargs) -> dict:
    """``repeat`` runs per CDS mode (modes interleaved); medians per row and mode."""
    runs = []
    for rep in range(repeat):
        modes = list(cds_modes) if rep % 2 == 0 else list(reversed(cds_modes))
        for cds in modes:
            result = bare_java_run(config, cds=cds, **broker_kwargs)
            result["load"] = loadavg()
            runs.append(result)
            report(f"rep {rep + 1}/{repeat} cds={'on' if cds else 'off'}: "
                + ", ".join(f"{row} {result[row]['seconds']:.2f} s" for row in ROWS)
                + f" (format {result['start']['format_seconds']:.2f} s; load {result['load']})")
    medians = {}
    for cds in cds_modes:
        chosen = [r for r in runs if r["start"]["cds"] == cds]
        medians["cds on" if cds else "cds off"] = {
            row: statistics.median(r[row]["seconds"] for r in chosen) for row in ROWS}
        medians["cds on" if cds else "cds off"]["start: format"] = statistics.median(
            r["start"]["format_seconds"] for r in chosen)
    return {"runs": runs, "medians": medians, "repeat": repeat, "config": config or {}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cds", choices=("on", "off", "both"), default="on",
                        help="class-data-sharing archives like the image's (default on); 'both' interleaves")
    parser.add_argument("--broker-config", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--cache-dir")
    parser.add_argument("--maven-settings", metavar="FILE")
    parser.add_argument("--json", type=Path, help="write every sample here")
    args = parser.parse_args(argv)
    config = dict(item.split("=", 1) for item in args.broker_config)
    cds_modes = {"on": (True,), "off": (False,), "both": (True, False)}[args.cds]
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))  # finally blocks run
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    print(f"bare-java floor: {args.repeat} repetitions, cds {args.cds}, config {config}; load {loadavg()}",
          flush=True)
    try:
        result = measure(args.repeat, config, cds_modes, report=lambda m: print(m, flush=True),
                         cache_dir=args.cache_dir, maven_settings=args.maven_settings, log=log)
    except JavaToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted (broker killed, temp dir removed)", file=sys.stderr)
        return 130
    for mode, rows in result["medians"].items():
        print(f"median of {args.repeat} ({mode}): " + ", ".join(f"{row} {value:.2f} s" for row, value in rows.items()))
    print(f"load after: {loadavg()}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
