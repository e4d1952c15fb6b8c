"""The command driver runs real commands (here: sh, sleep, printf) without a shell and with a timeout.

No Docker and no Kafka: what is checked is how the library runs the user's commands
and how it reports them, which is the same for kubectl, ssh or the docker CLI.
"""

import re
import time
import unittest
from pathlib import Path

from KafkaPersistenceLibrary import KafkaPersistenceError
from KafkaPersistenceLibrary.broker.node import StopMode
from KafkaPersistenceLibrary.external.commands import CommandNode, CommandTemplates

README = Path(__file__).resolve().parents[2] / "README.md"


def node(timeout: float = 5.0, **commands: str) -> CommandNode:
    return CommandNode(2, "10.0.0.7:9092", CommandTemplates.parse(commands, timeout))


class CommandDriverTest(unittest.TestCase):
    def test_placeholders_are_filled_per_argument_without_a_shell(self):
        shown = node(logs="printf '%s|' {broker} {host} {port} '$HOME;*'").logs()
        self.assertEqual(shown, "2|10.0.0.7|9092|$HOME;*|", "no shell expands $HOME, ; or *")

    def test_a_failing_command_is_one_line_with_its_exit_code_and_last_output(self):
        failing = node(kill="sh -c 'echo one; echo two; echo three; echo four >&2; exit 3'")
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^The kill= command for broker 2 failed with exit code 3: sh -c .* -> "
                                    r"two \| three \| four$"):
            failing.stop(StopMode.KILL, 5)

    def test_a_command_that_hangs_is_stopped_at_its_timeout_with_what_it_started(self):
        hanging = node(timeout=1.0, stop="sh -c 'sleep 60 & sleep 60'")
        started = time.monotonic()
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^The stop= command for broker 2 did not finish within 1 s: sh -c"):
            hanging.stop(StopMode.GRACEFUL, 5)
        self.assertLess(time.monotonic() - started, 5, "the whole process group was killed, pipes closed")

    def test_a_command_that_is_not_installed(self):
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^The restart= command 'kubectl-not-here' was not found on this machine\.$"):
            node(restart="kubectl-not-here delete pod kafka-{broker}").stop(StopMode.GRACEFUL, 5)

    def test_restart_then_ready_is_one_graceful_restart(self):
        ran = []
        restarting = node(restart="true", ready="true")
        restarting._run = lambda action, **_: ran.append(action) or 0  # record the order; the runs are tested above
        restarting.stop(StopMode.GRACEFUL, 5)
        restarting.start()
        self.assertEqual(ran, ["restart", "ready"], "no start= is needed after restart=")
        self.assertEqual(restarting.expected, "running")

    def test_an_action_without_its_command(self):
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^Connect Kafka was given no pause= command, needed for Pause Broker\.$"):
            node(restart="true").pause()

    def test_the_readmes_kubernetes_templates_parse(self):
        """The Strimzi example is not run here (no cluster), but its templates are valid ones."""
        block = README.read_text().split("### Kubernetes (Strimzi)", 1)[1].split("```", 2)[1]
        given = dict(re.findall(r"^\.\.\.\s{4}(\w+)=(.*)$", block, re.M))
        actions = {k: v for k, v in given.items() if k in ("restart", "kill", "ready", "logs")}
        self.assertEqual(sorted(actions), ["kill", "logs", "ready", "restart"])
        templates = CommandTemplates.parse(actions, 300)
        self.assertEqual(templates.get("kill")[-3:], ("sh", "-c", "kill -9 $(pgrep -f kafka.Kafka)"))


if __name__ == "__main__":
    unittest.main()
