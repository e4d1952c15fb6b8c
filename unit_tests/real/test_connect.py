"""Kafka the library did not start: a docker compose project of our image, faults through the compose
driver and through commands that call the docker CLI (a stand-in for kubectl), and one-line errors.

The project is left exactly as it was found: its containers running, with the same ids.
"""

import os
import shutil
import socket
import subprocess
import time
import unittest
import uuid
from pathlib import Path

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.labels import labels_for
from KafkaPersistenceLibrary.broker.ports import free_loopback_port
from KafkaPersistenceLibrary.image import resolve_image

COMPOSE_FILE = Path(__file__).with_name("compose") / "docker-compose.yml"
READY_SECONDS = 120


class ComposeProject:
    """A compose project of 3 brokers and 1 controller, as a team would run its own stack."""

    def __init__(self):
        self.name = f"kplcompose{os.getpid()}{uuid.uuid4().hex[:4]}"
        self.ports = [free_loopback_port() for _ in range(3)]
        labels = labels_for("compose test")
        self.env = {**os.environ, "KPL_IMAGE": resolve_image(None), "KPL_PID": labels["kafka-persistence-library.pid"],
                    "KPL_PID_STARTED": labels["kafka-persistence-library.pid-started"],
                    "KPL_HOST": labels["kafka-persistence-library.host"],
                    **{f"KPL_PORT_{i + 1}": str(port) for i, port in enumerate(self.ports)}}

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def compose(self, *args: str, timeout: float = 180) -> str:
        if shutil.which("docker-compose") is None:
            raise AssertionError("docker-compose is not installed: ./run.sh installs Debian's docker-compose")
        result = subprocess.run(["docker-compose", "-p", self.name, "-f", str(COMPOSE_FILE), *args],
                                env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
        return result.stdout

    def container_ids(self) -> dict[str, tuple[str, str]]:
        """Service -> (container id, status)."""
        out = subprocess.run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={self.name}",
                              "--format", "{{.Label \"com.docker.compose.service\"}} {{.ID}} {{.State}}"],
                             capture_output=True, text=True, check=True).stdout
        return {service: (cid, state) for service, cid, state in (line.split() for line in out.splitlines())}

    def container(self, service: str) -> str:
        return f"{self.name}_{service}_1"


class ConnectTest(unittest.TestCase):
    project: ComposeProject

    @classmethod
    def setUpClass(cls):
        cls.project = ComposeProject()
        cls.addClassCleanup(cls.project.compose, "down", "-v", "--remove-orphans")
        cls.project.compose("up", "-d")
        cls.wait_until_served()
        cls.found = cls.project.container_ids()

    @classmethod
    def wait_until_served(cls):
        library, deadline = KafkaPersistenceLibrary(), time.monotonic() + READY_SECONDS
        while True:
            try:
                library.connect_kafka(cls.project.bootstrap, timeout="5s")
                library.produce_message("ready", "yes", timeout="5s")
                library.disconnect_kafka()
                return
            except KafkaPersistenceError:
                library.ctx.forget_cluster()
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def setUp(self):
        self.library = KafkaPersistenceLibrary()
        self.addCleanup(self.library.disconnect_kafka)
        self.addCleanup(self.assert_left_as_found)

    def assert_left_as_found(self):
        self.assertEqual(self.project.container_ids(), self.found, "same containers, running, same ids")

    def topic(self) -> str:
        name = f"{self._testMethodName}-{uuid.uuid4().hex[:6]}"
        self.library.create_topic(name)
        self.library.wait_until_replicas_in_sync(name)
        return name

    def test_compose_driver_leader_faults_lose_nothing(self):
        self.library.connect_kafka(self.project.bootstrap, driver="compose", project=self.project.name)
        self.assertEqual([(n.id, n.container) for n in self.library.get_brokers()],
                         [(1, self.project.container("kafka-1")), (2, self.project.container("kafka-2")),
                          (3, self.project.container("kafka-3")), (101, self.project.container("controller"))])
        topic = self.topic()
        self.library.start_background_producer(topic, rate=300)
        for mode in ("kill", "graceful"):
            restart = self.library.restart_broker(mode=mode, broker="leader", topic=topic)
            self.assertNotEqual(restart.leader, restart.node)
            self.library.wait_until_replicas_in_sync(topic)
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((verdict.lost, verdict.duplicated), (0, 0))
        self.assertGreater(verdict.acknowledged, 100)
        self.assertIn("Kafka Server started", self.library.get_broker_logs(broker=1, tail=500)
                      + self.library.get_broker_logs(broker=1))

    def test_command_driver_with_the_docker_cli(self):
        container = self.project.container("kafka-{broker}")
        self.library.connect_kafka(self.project.bootstrap, driver="command", stop=f"docker stop {container}",
                                   kill=f"docker kill {container}", start=f"docker start {container}",
                                   logs=f"docker logs --tail 100 {container}",
                                   pause="docker pause no-such-container-{broker}")
        topic = self.topic()
        self.library.start_background_producer(topic, rate=300)
        restart = self.library.restart_broker(mode="kill", broker="leader", topic=topic)
        self.library.wait_until_replicas_in_sync(topic)
        self.library.stop_background_producer(topic)
        self.assertEqual(self.library.verify_no_acknowledged_records_lost(topic).lost, 0)
        self.assertTrue(" INFO " in self.library.get_broker_logs(broker=restart.node, tail=20), "logs= ran")
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^The pause= command for broker 2 failed with exit code 1: docker pause "
                                    r"no-such-container-2 -> .*[Nn]o such container"):
            self.library.pause_broker(2)

    def test_mistakes_say_what_is_wrong_in_one_line(self):
        bootstrap = self.project.bootstrap
        cases = [
            (dict(driver="swarm"), r"^Invalid driver 'swarm': use one of none, docker, compose, command\.$"),
            (dict(driver="docker", containers="no-such-kafka"), r"^No container named 'no-such-kafka' on this Docker"),
            (dict(driver="compose"), r"^driver=compose needs project="),
            (dict(driver="command", restart="kubectl delete pod kafka-{node}"),
             r"^Unknown placeholder \{node\} in the restart= command: use \{broker\}, \{host\}, \{port\}\.$"),
            (dict(driver="command", reboot="x"), r"^Unknown command action 'reboot=': use stop=, kill="),
            (dict(restart="x"), r"^Commands \(restart=\) need driver=command\.$"),
            (dict(security_protocol="SSL", ca_file="/nonexistent/ca.pem"), r"ca_file .*/nonexistent/ca.pem"),
            (dict(security_protocol="SSL", ca_file=str(COMPOSE_FILE)), r"ca_file .*docker-compose.yml.*certificate"),
        ]
        for arguments, expected in cases:
            with self.subTest(**{k: v for k, v in arguments.items() if k != "ca_file"}):
                with self.assertRaisesRegex(KafkaPersistenceError, expected):
                    self.library.connect_kafka(bootstrap, **arguments)
                self.assertIsNone(self.library.ctx.cluster)

    def test_an_address_that_does_not_answer_is_named(self):
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        started = time.monotonic()
        with self.assertRaisesRegex(KafkaPersistenceError, rf"^Cannot reach Kafka at 127\.0\.0\.1:{port}: "
                                                           rf"connection refused"):
            self.library.connect_kafka(f"127.0.0.1:{port}")
        self.assertLess(time.monotonic() - started, 5)

    def test_faults_without_a_driver_say_which_driver_to_use(self):
        self.library.connect_kafka(self.project.bootstrap)
        self.library.produce_message("no-driver", "works without one")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Faults on a connected cluster need a driver: "):
            self.library.restart_broker(broker=1)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Isolate Broker works on clusters the library started"):
            self.library.isolate_broker(1)


if __name__ == "__main__":
    unittest.main()
