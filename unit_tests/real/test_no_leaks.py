"""Regressions the hostile probing found right, kept right: pabot runs in parallel without disturbing each
other, Ctrl-C at any moment leaves nothing behind, and 30 restarts leave memory, threads and files flat."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

import docker

from KafkaPersistenceLibrary import KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.labels import LABEL, LABEL_OWNER, LABEL_PID
from KafkaPersistenceLibrary.broker.node import Node

ROOT = Path(__file__).resolve().parents[2]
ROBOT_DIR = Path(__file__).with_name("robot")
BIN = Path(sys.executable).parent


def leftovers(client: docker.DockerClient, pid: "int | None" = None, owner_prefix: str = "") -> list[str]:
    """Our containers and networks of a process (or of suites whose name starts with ``owner_prefix``)."""
    selector = {"label": f"{LABEL_PID}={pid}"} if pid else {"label": LABEL}
    found = [c.name for c in client.containers.list(all=True, filters=selector)
             if c.labels.get(LABEL_OWNER, "").startswith(owner_prefix)]
    found += [n.name for n in client.networks.list(filters=selector)
              if (n.attrs.get("Labels") or {}).get(LABEL_OWNER, "").startswith(owner_prefix)]
    return found


class ParallelRunsTest(unittest.TestCase):
    """pabot with 2 processes, by suite and by test: every run passes, and nothing is left."""

    def pabot(self, *options: str) -> None:
        with tempfile.TemporaryDirectory(prefix="kpl-pabot-") as out:
            result = subprocess.run([str(BIN / "pabot"), "--processes", "2", "--no-pabotlib", *options, "--outputdir", out,
                                     "--name", "Parallel", str(ROBOT_DIR / "parallel")],
                                    capture_output=True, text=True, timeout=600, cwd=out,
                                    env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
            self.assertEqual(result.returncode, 0, result.stdout[-2000:] + result.stderr[-1000:])
            self.assertRegex(result.stdout, r"4 tests, 4 passed, 0 failed")
        client = docker.from_env()
        self.addCleanup(client.close)
        self.assertEqual(leftovers(client, owner_prefix="Parallel"), [], "pabot workers left brokers behind")

    def test_pabot_by_suite(self):
        self.pabot()

    def test_pabot_by_test(self):
        self.pabot("--testlevelsplit")


class InterruptTest(unittest.TestCase):
    """Ctrl-C during Start Kafka, Restart Broker and Produce Records (onto a slowed disk) leaves no container or
    network."""

    def setUp(self):
        self.client = docker.from_env()
        self.addCleanup(self.client.close)

    def interrupt_robot(self, action: str, signals: int, delay: float) -> None:
        with tempfile.TemporaryDirectory(prefix="kpl-interrupted-") as out:
            process = subprocess.Popen([str(BIN / "robot"), "--console", "quiet", "--variable", f"ACTION:{action}",
                                        "--outputdir", out, str(ROBOT_DIR / "interrupted.robot")],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=out)
            self.addCleanup(process.stdout.close)
            self.addCleanup(process.kill)
            self.assertEqual(process.stdout.readline().strip(), "GO")
            time.sleep(delay)
            for _ in range(signals):
                process.send_signal(signal.SIGINT)
                time.sleep(0.3)
            process.wait(timeout=180)
        self.assertEqual(leftovers(self.client, process.pid), [])

    def test_ctrl_c_during_start_kafka(self):
        self.interrupt_robot("start", signals=1, delay=1.0)

    def test_ctrl_c_during_restart_broker(self):
        self.interrupt_robot("restart", signals=1, delay=0.5)

    def test_ctrl_c_twice_during_produce_records(self):
        self.interrupt_robot("produce", signals=2, delay=1.0)  # the second Ctrl-C forces Robot to stop at once

    def test_keyboard_interrupt_in_python_during_start_kafka(self):
        # Ctrl-C in an interactive Python raises KeyboardInterrupt; a run started in the background (nohup, `&` in
        # a script, some CI runners) hands its children SIGINT ignored, and Python then installs no handler at all.
        script = ("import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
                  "from KafkaPersistenceLibrary import KafkaPersistenceLibrary\n"
                  "print('GO', flush=True)\nKafkaPersistenceLibrary().start_kafka(brokers=3)\n")
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=ROOT)
        self.addCleanup(process.kill)
        self.assertEqual(process.stdout.readline().strip(), "GO")
        time.sleep(1.5)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
        self.assertIn("KeyboardInterrupt", err)
        self.assertEqual(leftovers(self.client, process.pid), [])


    def test_interrupt_between_dockers_create_and_our_bookkeeping(self):
        """The narrowest window: the container exists, but no node holds it yet. It goes with the cluster."""
        created = []

        def create_then_interrupt(*args, **kwargs):
            created.append(original(*args, **kwargs))
            if len(created) == 2:
                raise KeyboardInterrupt
            return created[-1]

        original = Node.create
        library = KafkaPersistenceLibrary()
        with mock.patch.object(Node, "create", side_effect=create_then_interrupt), \
                self.assertRaises(KeyboardInterrupt):
            library.start_kafka(brokers=3)
        self.assertEqual(len(created), 2, "the interrupt came after Docker created the second container")
        self.assertEqual(leftovers(self.client, os.getpid()), [])


class ThirtyRestartsTest(unittest.TestCase):
    def test_memory_threads_and_files_stay_flat(self):
        library = KafkaPersistenceLibrary()
        self.addCleanup(library.stop_kafka)
        library.start_kafka()
        for index in range(5):  # warm up: clients, caches, threads that are made once
            library.restart_broker(mode="kill" if index % 2 else "graceful")
            library.produce_message("flat", f"m{index}")
        before = footprint()
        for index in range(25):
            library.restart_broker(mode="kill" if index % 2 else "graceful")
            library.produce_message("flat", f"n{index}")
        after = footprint()
        library.consume_should_equal("flat", *[f"m{i}" for i in range(5)], *[f"n{i}" for i in range(25)])
        self.assertLessEqual(after["fds"] - before["fds"], 5, (before, after))
        self.assertLessEqual(after["threads"] - before["threads"], 2, (before, after))
        self.assertLess(after["rss_mb"] - before["rss_mb"], 30, (before, after))


def footprint() -> dict:
    status = Path("/proc/self/status").read_text()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return {"fds": len(os.listdir("/proc/self/fd")), "threads": len(os.listdir("/proc/self/task")),
            "rss_mb": rss_kb / 1024}


if __name__ == "__main__":
    unittest.main()
