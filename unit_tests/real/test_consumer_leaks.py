"""Consumer member processes never outlive their run (issue 17): a killed run's members exit by themselves
or are swept by the next run, and Ctrl-C stops them with the suite."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path

from KafkaPersistenceLibrary.consumers.group import DIRECTORY_PREFIX, _member_processes, sweep_orphans
from unit_tests.real.broker_case import BrokerTestCase

ROOT = Path(__file__).resolve().parents[2]
ROBOT_DIR = Path(__file__).with_name("robot")
BIN = Path(sys.executable).parent


def members_of(owner: int) -> list[int]:
    return [pid for pid, owner_pid, _ in _member_processes() if owner_pid == owner]


def directories_of(owner: int) -> list[str]:
    return [name for name in os.listdir(tempfile.gettempdir()) if name.startswith(f"{DIRECTORY_PREFIX}{owner}-")]


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


class KilledRunTest(BrokerTestCase):
    """A run killed with SIGKILL while its group runs: what it left goes, one way or the other."""

    def killed_run(self, processing: float, records: int) -> int:
        """A python process that starts a 2-member group, then is killed; returns its pid."""
        topic = self.topic()
        self.library.create_topic(topic, partitions=2)
        if records:
            self.library.produce_records(topic, records)
        script = textwrap.dedent(f"""
            import time
            from KafkaPersistenceLibrary.clients.connection import Connection
            from KafkaPersistenceLibrary.consumers.group import ConsumerGroup, GroupOptions
            group = ConsumerGroup(Connection({self.bootstrap!r}), "orphans", {topic!r},
                                  GroupOptions(members=2, processing={processing}))
            group.start()
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
        return process.pid

    def test_idle_members_of_a_killed_run_exit_by_themselves(self):
        owner = self.killed_run(processing=0.0, records=0)
        self.assertTrue(wait_until(lambda: not members_of(owner), 10), f"members left: {members_of(owner)}")
        sweep_orphans()
        self.assertEqual(directories_of(owner), [])

    def test_the_next_run_sweeps_members_stuck_in_processing(self):
        owner = self.killed_run(processing=60.0, records=10)  # each member sleeps in a record: it cannot look
        stuck = members_of(owner)
        self.assertEqual(len(stuck), 2, "the members should still be in their first record")
        still_there = members_of(owner)  # another run's sweep (pabot, CI's Robot suites beside) may come first
        swept = sweep_orphans()
        self.assertTrue(wait_until(lambda: not members_of(owner), 5), f"members left: {members_of(owner)}")
        self.assertEqual(directories_of(owner), [])
        if still_there:
            self.assertTrue(any(str(pid) in line for pid in still_there for line in swept), swept)


def assert_ctrl_c_leaves_nothing(test: unittest.TestCase, suite: str, members_of, directories_of) -> None:
    """Runs ``suite`` (it prints GO once 2 members run), presses Ctrl-C, and asserts no member or directory is left."""
    with tempfile.TemporaryDirectory(prefix="kpl-interrupted-") as out:
        process = subprocess.Popen([str(BIN / "robot"), "--console", "quiet", "--outputdir", out,
                                    str(ROBOT_DIR / suite)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=out)
        test.addCleanup(process.stdout.close)
        test.addCleanup(process.kill)
        test.assertEqual(process.stdout.readline().strip(), "GO")
        test.assertEqual(len(members_of(process.pid)), 2)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    test.assertEqual(members_of(process.pid), [])
    test.assertEqual(directories_of(process.pid), [])


class InterruptedRobotTest(unittest.TestCase):
    def test_ctrl_c_while_members_consume_leaves_no_member(self):
        assert_ctrl_c_leaves_nothing(self, "consumers_interrupted.robot", members_of, directories_of)


if __name__ == "__main__":
    unittest.main()
