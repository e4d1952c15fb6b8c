"""Copier member processes never outlive their run (issue 18): a killed run's members exit by themselves or are
swept by the next run, and Ctrl-C stops them with the suite."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

from KafkaPersistenceLibrary.consumers.group import _member_processes
from KafkaPersistenceLibrary.transactions import copier_member
from KafkaPersistenceLibrary.transactions.copier import DIRECTORY_PREFIX, sweep_orphans
from unit_tests.real.broker_case import BrokerTestCase
from unit_tests.real.test_consumer_leaks import wait_until

ROOT = Path(__file__).resolve().parents[2]
ROBOT_DIR = Path(__file__).with_name("robot")
BIN = Path(sys.executable).parent


def members_of(owner: int) -> list[int]:
    return [pid for pid, owner_pid, _ in _member_processes(copier_member.MARKER) if owner_pid == owner]


def directories_of(owner: int) -> list[str]:
    return [name for name in os.listdir(tempfile.gettempdir()) if name.startswith(f"{DIRECTORY_PREFIX}{owner}-")]


class KilledRunTest(BrokerTestCase):
    """A run killed with SIGKILL while its copier runs: its members exit by themselves, the next run sweeps."""

    def test_members_of_a_killed_run_exit_by_themselves_and_the_next_run_sweeps_their_logs(self):
        source, target = self.topic(), self.topic()
        self.library.create_topic(source, partitions=2)
        self.library.create_topic(target, partitions=2)
        script = textwrap.dedent(f"""
            import time
            from KafkaPersistenceLibrary.clients.connection import Connection
            from KafkaPersistenceLibrary.transactions.copier import Copier, CopyMode
            copier = Copier(Connection({self.bootstrap!r}), "orphans", {source!r}, {target!r}, CopyMode.EXACTLY_ONCE,
                            2, 100)
            copier.start(partitions=2)
            print("GO", flush=True)
            time.sleep(600)
        """)
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.addCleanup(process.kill)
        self.addCleanup(process.stdout.close)
        self.assertEqual(process.stdout.readline().strip(), "GO")
        self.assertEqual(len(members_of(process.pid)), 2)
        process.kill()
        process.wait(10)
        self.assertTrue(wait_until(lambda: not members_of(process.pid), 10), f"left: {members_of(process.pid)}")
        sweep_orphans()
        self.assertEqual(directories_of(process.pid), [])


class InterruptedRobotTest(unittest.TestCase):
    def test_ctrl_c_while_a_copier_copies_leaves_no_member(self):
        with tempfile.TemporaryDirectory(prefix="kpl-interrupted-") as out:
            process = subprocess.Popen([str(BIN / "robot"), "--console", "quiet", "--outputdir", out,
                                        str(ROBOT_DIR / "copier_interrupted.robot")],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=out)
            self.addCleanup(process.stdout.close)
            self.addCleanup(process.kill)
            self.assertEqual(process.stdout.readline().strip(), "GO")
            self.assertEqual(len(members_of(process.pid)), 2)
            process.send_signal(signal.SIGINT)
            process.wait(timeout=120)
        self.assertEqual(members_of(process.pid), [])
        self.assertEqual(directories_of(process.pid), [])


if __name__ == "__main__":
    unittest.main()
