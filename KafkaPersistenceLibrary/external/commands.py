"""The nodes of a cluster the library reaches only through commands the user gives (kubectl, ssh, ...).

Each action is an argument-list template, e.g.
``restart=kubectl delete pod my-cluster-kafka-{broker}``; placeholders are
``{broker}`` (the node id), ``{host}`` and ``{port}`` (its advertised address).
Commands run without a shell, with a timeout; what ran and what it printed goes
to the log, and a failure is one line with the exit code and the last output lines.
"""

import contextlib
import dataclasses
import os
import shlex
import signal
import string
import subprocess
import time

from robot.api import logger

from ..broker.environment import NodeSpec
from ..broker.node import ContainerState, NodeState, StopMode
from ..errors import KafkaPersistenceError

ACTIONS = {
    "stop": "a graceful stop (Stop Broker, and Restart Broker mode=graceful without restart=)",
    "kill": "a crash of the broker process (mode=kill)",
    "start": "a start after stop= or kill= (omit it where the platform starts the broker again by itself)",
    "restart": "a graceful restart in one command (e.g. kubectl delete pod ...)",
    "pause": "Pause Broker",
    "resume": "Resume Broker",
    "ready": "a command that returns once the node is ready again (e.g. kubectl wait ...), run after a start",
    "logs": "a command that prints the node's log (Get Broker Logs, and the log of a failed test)",
}
PLACEHOLDERS = ("broker", "host", "port")
OUTPUT_LINES = 3


@dataclasses.dataclass(frozen=True)
class CommandTemplates:
    """Validated argument-list templates per action."""

    templates: tuple[tuple[str, tuple[str, ...]], ...]
    timeout: float

    @classmethod
    def parse(cls, given: dict[str, str], timeout: float) -> "CommandTemplates":
        """From ``action=command line`` arguments; one line per mistake, before anything runs."""
        templates = []
        for action, text in given.items():
            if action not in ACTIONS:
                raise KafkaPersistenceError(
                    f"Unknown command action '{action}=': use {', '.join(f'{a}=' for a in ACTIONS)}.")
            try:
                argv = tuple(shlex.split(str(text)))
            except ValueError as error:
                raise KafkaPersistenceError(f"The {action}= command cannot be split into arguments: {error}.") from None
            if not argv:
                raise KafkaPersistenceError(f"The {action}= command is empty.")
            for arg in argv:
                for _, field, _, _ in string.Formatter().parse(arg):
                    if field is not None and field not in PLACEHOLDERS:
                        raise KafkaPersistenceError(
                            f"Unknown placeholder {{{field}}} in the {action}= command: use "
                            f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}.")
            templates.append((action, argv))
        if not templates:
            raise KafkaPersistenceError(
                "driver=command needs at least one command: e.g. restart=kubectl delete pod my-kafka-{broker}.")
        return cls(tuple(templates), timeout)

    def get(self, action: str) -> "tuple[str, ...] | None":
        return dict(self.templates).get(action)


class CommandNode:
    """A broker the library knows by its id and address, and acts on through the user's commands."""

    image = "(commands)"
    when_gone = "bring it back yourself, then 'Connect Kafka' again"

    def __init__(self, node_id: int, address: str, commands: CommandTemplates):
        self.spec = NodeSpec(node_id, "broker", address.rsplit(":", 1)[0])
        self.address = address
        self.commands = commands
        self.expected = NodeState.RUNNING
        self.cut = False
        self._restarted_itself = False

    @property
    def node_id(self) -> int:
        return self.spec.node_id

    @property
    def name(self) -> str:
        return f"broker {self.node_id} ({self.address})"

    def stop(self, mode: StopMode, stop_timeout: float) -> int:
        """Run stop=, kill= or (for a graceful restart) restart=; the exit code is the command's."""
        if mode is StopMode.GRACEFUL and self.commands.get("restart") and not self.commands.get("stop"):
            self._restarted_itself = True
            code = self._run("restart")
        else:
            code = self._run("stop" if mode is StopMode.GRACEFUL else "kill")
            self._restarted_itself = self.commands.get("start") is None
        self.expected = NodeState.STOPPED
        return code

    def start(self) -> None:
        if not self._restarted_itself:
            self._run("start")
        self._restarted_itself = False
        if self.commands.get("ready"):
            self._run("ready")
        self.expected = NodeState.RUNNING

    def pause(self) -> None:
        self._run("pause")
        self.expected = NodeState.PAUSED

    def unpause(self) -> None:
        self._run("resume")
        self.expected = NodeState.RUNNING

    def state(self) -> ContainerState:
        """What the library did last: commands cannot be asked whether a node crashed."""
        return ContainerState({NodeState.STOPPED: "exited"}.get(self.expected, str(self.expected)))

    def logs(self, tail: "int | None" = None, since: "float | None" = None) -> str:
        if not self.commands.get("logs"):
            return "(no logs: give Connect Kafka a logs= command to see them)"
        output = self._run("logs", quiet=True, output=True)
        lines = output.splitlines()
        return "\n".join(lines[-tail:] if tail else lines)

    def remove(self) -> None:
        return None  # not ours

    def _run(self, action: str, quiet: bool = False, output: bool = False):
        template = self.commands.get(action)
        if not self.commands.templates:
            raise KafkaPersistenceError(
                "Faults on a connected cluster need a driver: Connect Kafka with driver=compose (project=), "
                "driver=docker (containers=) or driver=command (restart=..., kill=..., ...).")
        if template is None:
            raise KafkaPersistenceError(
                f"Connect Kafka was given no {action}= command, needed for {ACTIONS[action]}.")
        host, _, port = self.address.rpartition(":")
        argv = [arg.format(broker=self.node_id, host=host, port=port) for arg in template]
        shown = shlex.join(argv)
        started = time.monotonic()
        try:
            result = _run_bounded(argv, self.commands.timeout)
        except FileNotFoundError:
            raise KafkaPersistenceError(f"The {action}= command '{argv[0]}' was not found on this machine.") from None
        except subprocess.TimeoutExpired:
            raise KafkaPersistenceError(
                f"The {action}= command for broker {self.node_id} did not finish within "
                f"{self.commands.timeout:g} s: {shown}") from None
        text = (result.stdout + result.stderr).strip()
        if not quiet:
            logger.info(f"Ran {shown} ({action}, broker {self.node_id}): exit code {result.returncode} after "
                        f"{time.monotonic() - started:.2f} s" + (f"; output:\n{text}" if text else "."))
        if result.returncode != 0:
            last = " | ".join(text.splitlines()[-OUTPUT_LINES:]) or "(no output)"
            raise KafkaPersistenceError(
                f"The {action}= command for broker {self.node_id} failed with exit code {result.returncode}: "
                f"{shown} -> {last}")
        return result.stdout if output else result.returncode


def _run_bounded(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run without a shell; on timeout kill the command's whole process group (e.g. what ``sh -c`` started)."""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
