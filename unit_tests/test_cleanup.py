"""No leaks: a process that is terminated removes its broker; one that is killed is swept next time."""

import signal
import subprocess
import sys
import unittest
from pathlib import Path

import docker

from KafkaPersistenceLibrary.labels import LABEL_PID, sweep_orphans

ROOT = Path(__file__).resolve().parent.parent
STARTER = """
import sys, time
from KafkaPersistenceLibrary import KafkaPersistenceLibrary
library = KafkaPersistenceLibrary()
print(library.start_kafka(), flush=True)
time.sleep(300)
"""


class ProcessEndTest(unittest.TestCase):
    def setUp(self):
        self.client = docker.from_env()

    def tearDown(self):
        self.client.close()

    def start_broker_process(self) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-c", STARTER], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.addCleanup(process.kill)
        address = process.stdout.readline().strip()
        self.assertRegex(address, r"^127\.0\.0\.1:\d+$")
        return process

    def containers_of(self, pid: int) -> list:
        return self.client.containers.list(all=True, filters={"label": f"{LABEL_PID}={pid}"})

    def test_sigterm_removes_the_broker(self):
        process = self.start_broker_process()
        self.assertEqual(len(self.containers_of(process.pid)), 1)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        self.assertEqual(self.containers_of(process.pid), [])

    def test_sigkill_leaves_a_container_that_the_next_run_sweeps(self):
        process = self.start_broker_process()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        left = self.containers_of(process.pid)
        self.assertEqual(len(left), 1, "a killed process cannot clean up: the container is still there")
        removed = sweep_orphans(self.client)
        self.assertIn(left[0].name, removed)
        self.assertEqual(self.containers_of(process.pid), [])


if __name__ == "__main__":
    unittest.main()
