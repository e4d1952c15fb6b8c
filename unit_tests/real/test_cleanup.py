"""No leaks: a process that is terminated removes its cluster; one that is killed is swept next time,
and the sweep never fails a run because of someone else's containers."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path
from unittest import mock

import docker

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.labels import (
    LABEL,
    LABEL_HOST,
    LABEL_PID,
    LABEL_STARTED,
    labels_for,
    sweep_orphans,
)
from KafkaPersistenceLibrary.image import resolve_image

ROOT = Path(__file__).resolve().parents[2]
STARTER = """
import socket, sys, time
socket.gethostname = lambda: sys.argv[3]  # the sweep tests' own host name: no other run sweeps this one's cluster
from KafkaPersistenceLibrary import KafkaPersistenceLibrary
library = KafkaPersistenceLibrary()
# disk=faulty mounts volatilefs as power_loss=True does, and is its disk fault layer too
bootstrap = library.start_kafka(brokers=int(sys.argv[1]), disk="faulty" if sys.argv[2] == "power-loss" else "plain",
                                clock_skew=sys.argv[2] == "gray")
if sys.argv[2] == "power-loss":  # a mounted volatilefs, disk faults and iptables rules in the node, as a killed
    library.produce_message("unsynced", "in the filesystem's buffer")  # test leaves them
    library.isolate_broker(**{"from": "clients"})
    library.slow_down_disk(fsync="50ms")
    library.fail_disk(operations="read")
if sys.argv[2] == "gray":  # a shaped, lossy link and a clock file in the node, as a killed test leaves them
    library.slow_down_network(bandwidth="1mbit", loss="10%", **{"from": "clients"})
    library.skew_clock("+1h")
print(bootstrap, flush=True)
time.sleep(300)
"""
SWEEPER = """
import socket, sys, time, docker
from KafkaPersistenceLibrary.broker.labels import sweep_orphans
socket.gethostname = lambda: sys.argv[2]  # the sweep tests' own host name (SweepTest)
start_at = float(sys.argv[1])
client = docker.from_env()
time.sleep(max(0.0, start_at - time.time()))
print(" ".join(s.name for s in sweep_orphans(client)), flush=True)
"""


def dead_labels(owner: str) -> dict[str, str]:
    """Labels of a process that has exited: what a killed run leaves on its containers."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return {**labels_for(owner), LABEL_PID: dead.stdout.strip(), LABEL_STARTED: "1"}


class ProcessEndTest(unittest.TestCase):
    def setUp(self):
        self.client = docker.from_env()
        self.addCleanup(self.client.close)

    def start_cluster_process(self, brokers: int, faults: str = "") -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-c", STARTER, str(brokers), faults, SWEEP_TEST_HOST], cwd=ROOT,
                                   stdout=subprocess.PIPE, text=True)
        self.addCleanup(process.stdout.close)
        self.addCleanup(process.kill)
        address = process.stdout.readline().strip()
        self.assertRegex(address, r"^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+)*$")
        return process

    def sweep(self) -> list:
        """Sweep as a run on the sweep tests' host: the killed child's cluster is labelled with it."""
        with mock.patch("socket.gethostname", return_value=SWEEP_TEST_HOST):
            return sweep_orphans(self.client)

    def resources_of(self, pid: int) -> tuple[list, list]:
        owner = {"label": f"{LABEL_PID}={pid}"}
        return self.client.containers.list(all=True, filters=owner), self.client.networks.list(filters=owner)

    def test_sigterm_removes_the_broker_and_its_network(self):
        process = self.start_cluster_process(1)
        containers, networks = self.resources_of(process.pid)
        self.assertEqual((len(containers), len(networks)), (1, 1))
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        self.assertEqual(self.resources_of(process.pid), ([], []))

    def test_sigkill_leaves_a_cluster_that_the_next_run_sweeps(self):
        process = self.start_cluster_process(2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        containers, networks = self.resources_of(process.pid)
        self.assertEqual((len(containers), len(networks)), (3, 1), "a killed process cannot clean up")
        removed = {s.name for s in self.sweep()}
        self.assertTrue({c.name for c in containers} | {networks[0].name} <= removed, removed)
        self.assertEqual(self.resources_of(process.pid), ([], []))

    def test_sigkill_during_power_loss_disk_faults_and_a_partition_leaves_nothing_after_the_sweep(self):
        """The FUSE mount, its disk faults (volatilefs's state and control file) and the iptables rules live in the
        node's own namespaces and files: they go with its container."""
        process = self.start_cluster_process(1, "power-loss")
        node = self.resources_of(process.pid)[0][0]
        mounts = node.exec_run(["sh", "-c", "grep -c fuse /proc/mounts"]).output.decode().strip()
        self.assertNotEqual(mounts, "0", "the log directory is a FUSE mount inside the node")
        applied = node.exec_run(["cat", "/run/kpl-disk/faults.applied"]).output.decode().strip()
        self.assertEqual(applied, "eio=read fsync_delay_us=50000")
        self.assertIn("DROP", node.exec_run(["iptables", "-S", "KPL"], user="root").output.decode())
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.sweep()
        self.assertEqual(self.resources_of(process.pid), ([], []))
        self.assertNotIn("fuse.", Path("/proc/mounts").read_text(), "no FUSE mount on the host, ever")

    def test_sigkill_during_a_slow_lossy_link_and_a_skewed_clock_leaves_nothing_after_the_sweep(self):
        """The qdiscs, the rules and the clock file live in the node (its namespaces and its files): they go with
        its container, and the host's own network is never touched."""
        process = self.start_cluster_process(1, "gray")
        node = self.resources_of(process.pid)[0][0]
        self.assertIn("htb", node.exec_run(["tc", "qdisc", "show"], user="root").output.decode())
        self.assertIn("statistic", node.exec_run(["iptables", "-S", "KPL"], user="root").output.decode())
        self.assertEqual(node.exec_run(["cat", "/tmp/kpl-clock"]).output.decode().strip(), "+3600")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.sweep()
        self.assertEqual(self.resources_of(process.pid), ([], []))
        host_rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
        self.assertFalse({"KPL", "statistic", "hashlimit"} & set(host_rules.split()), "none of our rules on the host")


# The sweep tests label their containers with a host name of their own: another run on this machine
# (pabot, or CI's Robot suites beside these tests) sweeps orphans of this host too, and would take theirs
# first. What a killed run of these tests left, the next one sweeps in setUp.
SWEEP_TEST_HOST = f"{socket.gethostname()}-sweep-test"


class SweepTest(unittest.TestCase):
    """A run killed with SIGKILL leaves containers; the next run removes them, and only them."""

    def setUp(self):
        self.client = docker.from_env()
        self.addCleanup(self.client.close)
        self.image = resolve_image(None)
        host = mock.patch("socket.gethostname", return_value=SWEEP_TEST_HOST)
        host.start()
        self.addCleanup(host.stop)
        sweep_orphans(self.client)

    def our_container_names(self) -> set[str]:
        """One listing call (no inspect per container, which a parallel run's removal would make a 404)."""
        return {name.lstrip("/") for summary in self.client.api.containers(all=True, filters={"label": LABEL})
                for name in summary.get("Names") or []}

    def create(self, labels: dict[str, str]):
        container = self.client.containers.create(self.image, command=["true"], labels=labels, entrypoint=[])
        self.addCleanup(self.remove_quietly, container)
        return container

    @staticmethod
    def remove_quietly(container) -> None:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass

    def test_sweep_removes_containers_of_dead_processes_only(self):
        dead = dead_labels("killed run")
        orphan = self.create(dead)
        live = self.create(labels_for("this run"))
        other_host = self.create({**dead, LABEL_HOST: "another-host"})
        removed = sweep_orphans(self.client)
        self.assertIn(orphan.name, [s.name for s in removed])
        self.assertIn("left by 'killed run'", next(s.describe() for s in removed if s.name == orphan.name))
        remaining = self.our_container_names()
        self.assertNotIn(orphan.name, remaining)
        self.assertIn(live.name, remaining)
        self.assertIn(other_host.name, remaining)

    def test_start_kafka_warns_about_what_it_swept(self):
        """Nobody learns that a run leaked unless the sweep says so: Start Kafka warns, one line per resource."""
        orphan = self.create(dead_labels("killed suite"))
        library = KafkaPersistenceLibrary()
        self.addCleanup(library.stop_kafka)
        with mock.patch("KafkaPersistenceLibrary.keywords.lifecycle.logger.warn") as warn:
            library.start_kafka()
        warnings = [call.args[0] for call in warn.call_args_list]
        self.assertTrue(any(w.startswith(f"Removed container {orphan.name} (left by 'killed suite', pid ")
                            and w.endswith("): that run was killed before it could clean up.") for w in warnings),
                        warnings)

    def test_two_processes_sweeping_the_same_orphans_at_once(self):
        """Two runs start after a killed one: both sweep its leftovers; neither may fail (409, 404)."""
        for round_number in range(8):
            with self.subTest(round=round_number):
                labels = dead_labels(f"killed run {round_number}")
                orphans = {self.create(labels).name for _ in range(4)}
                network = self.client.networks.create(f"kpl-test-orphan-{os.getpid()}-{round_number}", labels=labels)
                start_at = f"{time.time() + 1.5:.3f}"
                sweepers = [subprocess.Popen([sys.executable, "-c", SWEEPER, start_at, SWEEP_TEST_HOST], cwd=ROOT,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                            for _ in range(2)]
                results = [sweeper.communicate(timeout=60) for sweeper in sweepers]
                for sweeper, (_, err) in zip(sweepers, results, strict=True):
                    self.assertEqual(sweeper.returncode, 0, err)
                reported = [name for out, _ in results for name in out.split()]
                self.assertEqual(sorted(n for n in reported if n in orphans), sorted(orphans),
                                 "each orphan removed, and reported, by exactly one of the two")
                self.assertIn(network.name, reported)
                left = self.our_container_names()
                self.assertFalse(orphans & left)

    def test_sweep_while_other_runs_create_and_remove_containers(self):
        """Containers of live runs that come and go during a sweep are never an error."""
        stop = threading.Event()
        errors: list[BaseException] = []

        def churn():
            while not stop.is_set():
                container = self.client.containers.create(self.image, command=["true"], entrypoint=[],
                                                          labels=labels_for("a parallel run"))
                container.remove(force=True)

        worker = threading.Thread(target=churn)
        worker.start()
        try:
            deadline = time.monotonic() + 10
            sweeps = 0
            while time.monotonic() < deadline:
                try:
                    sweep_orphans(self.client)
                except BaseException as error:  # noqa: BLE001 - any error is the failure we look for
                    errors.append(error)
                sweeps += 1
        finally:
            stop.set()
            worker.join()
        self.assertEqual(errors, [], f"{len(errors)} of {sweeps} sweeps failed")
        self.assertGreater(sweeps, 20)


if __name__ == "__main__":
    unittest.main()
