"""Copier member processes never outlive their run (issue 18): Ctrl-C stops them with the suite. (A run killed
with SIGKILL: ``test_copier.CopierFaultsTest``, on that class's cluster.)"""

import os
import tempfile
import unittest

from KafkaPersistenceLibrary.consumers.group import _member_processes
from KafkaPersistenceLibrary.transactions import copier_member
from KafkaPersistenceLibrary.transactions.copier import DIRECTORY_PREFIX
from unit_tests.real.test_consumer_leaks import assert_ctrl_c_leaves_nothing


def members_of(owner: int) -> list[int]:
    return [pid for pid, owner_pid, _ in _member_processes(copier_member.MARKER) if owner_pid == owner]


def directories_of(owner: int) -> list[str]:
    return [name for name in os.listdir(tempfile.gettempdir()) if name.startswith(f"{DIRECTORY_PREFIX}{owner}-")]


class InterruptedRobotTest(unittest.TestCase):
    def test_ctrl_c_while_a_copier_copies_leaves_no_member(self):
        assert_ctrl_c_leaves_nothing(self, "copier_interrupted.robot", members_of, directories_of)


if __name__ == "__main__":
    unittest.main()
