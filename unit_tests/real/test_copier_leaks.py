"""Copier member processes never outlive their run (issue 18): Ctrl-C stops them with the suite. (A run killed
with SIGKILL: ``test_copier.CopierFaultsTest``, on that class's cluster.)"""

import os
import signal
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from KafkaPersistenceLibrary.consumers.group import _member_processes
from KafkaPersistenceLibrary.transactions import copier_member
from KafkaPersistenceLibrary.transactions.copier import DIRECTORY_PREFIX

ROBOT_DIR = Path(__file__).with_name("robot")
BIN = Path(sys.executable).parent


def members_of(owner: int) -> list[int]:
    return [pid for pid, owner_pid, _ in _member_processes(copier_member.MARKER) if owner_pid == owner]


def directories_of(owner: int) -> list[str]:
    return [name for name in os.listdir(tempfile.gettempdir()) if name.startswith(f"{DIRECTORY_PREFIX}{owner}-")]


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
