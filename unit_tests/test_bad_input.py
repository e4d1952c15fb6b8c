"""Mistakes a tester makes, each with its one-line message, and cleanup that never leaks."""

import os
import subprocess
import sys
import unittest
from unittest import mock

import docker

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.labels import LABEL, LABEL_HOST, LABEL_PID, LABEL_STARTED, labels_for, sweep_orphans

NOT_STARTED = "No Kafka broker is running: call 'Start Kafka' first (e.g. in Suite Setup)."


class BeforeStartKafkaTest(unittest.TestCase):
    """Every keyword that needs a broker says so, without touching Docker."""

    def test_each_keyword_before_start(self):
        library = KafkaPersistenceLibrary()
        calls = {
            "produce_message": lambda: library.produce_message("t", "v"),
            "consume_should_equal": lambda: library.consume_should_equal("t", "v"),
            "read_messages": lambda: library.read_messages("t"),
            "create_topic": lambda: library.create_topic("t"),
            "restart_broker": lambda: library.restart_broker(),
            "get_bootstrap_servers": library.get_bootstrap_servers,
            "get_broker_logs": library.get_broker_logs,
        }
        for name, call in calls.items():
            with self.subTest(keyword=name), self.assertRaises(KafkaPersistenceError) as raised:
                call()
            self.assertEqual(str(raised.exception), NOT_STARTED)

    def test_stop_kafka_before_start_is_harmless(self):
        KafkaPersistenceLibrary().stop_kafka()

    def test_bad_timeout_text(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid start_timeout 'soon': use a number of seconds"):
            KafkaPersistenceLibrary(start_timeout="soon")


class EnvironmentProblemsTest(unittest.TestCase):
    def test_no_docker_engine(self):
        with mock.patch.dict(os.environ, {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}):
            with self.assertRaisesRegex(KafkaPersistenceError,
                                        r"^No Docker engine answers at unix:///nonexistent/docker.sock: start one"):
                KafkaPersistenceLibrary().start_kafka()

    def test_missing_image_says_how_to_build_it(self):
        library = KafkaPersistenceLibrary(image="kafka-persistence-library/no-such-image:0")
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^Image 'kafka-persistence-library/no-such-image:0' is not on this Docker engine: "
                                    r"build it with 'python -m KafkaPersistenceLibrary.image build'"):
            library.start_kafka()
        self.assertIsNone(library.ctx.broker)


class BrokerThatCannotStartTest(unittest.TestCase):
    def test_invalid_broker_property_names_the_cause_and_leaves_nothing(self):
        library = KafkaPersistenceLibrary()
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"did not serve clients after start: the broker container stopped.*"
                                    r"Broker says: .*ConfigException: Invalid value abc for configuration num.partitions"):
            library.start_kafka(**{"num.partitions": "abc"})
        self.assertIsNone(library.ctx.broker)
        client = docker.from_env()
        try:
            mine = client.containers.list(all=True, filters={"label": f"{LABEL_PID}={os.getpid()}"})
            self.assertEqual(mine, [], "a broker that never served must be removed")
        finally:
            client.close()


class ImageCommandTest(unittest.TestCase):
    def test_mistyped_maven_settings_is_refused_even_when_cached(self):
        result = subprocess.run([sys.executable, "-m", "KafkaPersistenceLibrary.image", "build",
                                 "--maven-settings", "/nonexistent/settings.xml"], capture_output=True, text=True)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.strip(), "error: Maven settings file not found: /nonexistent/settings.xml")
        self.assertEqual(result.stdout, "")


class SweepTest(unittest.TestCase):
    """A run killed with SIGKILL leaves containers; the next run removes them, and only them."""

    def test_sweep_removes_containers_of_dead_processes_only(self):
        client = docker.from_env()
        image = _any_local_image(client)
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        dead_labels = {**labels_for("killed run"), LABEL_PID: dead.stdout.strip(), LABEL_STARTED: "1"}
        orphan = client.containers.create(image, command=["true"], labels=dead_labels, entrypoint=[])
        live = client.containers.create(image, command=["true"], labels=labels_for("this run"), entrypoint=[])
        other_host = client.containers.create(image, command=["true"], entrypoint=[],
                                              labels={**dead_labels, LABEL_HOST: "another-host"})
        try:
            removed = sweep_orphans(client)
            self.assertIn(orphan.name, removed)
            self.assertNotIn(live.name, removed)
            self.assertNotIn(other_host.name, removed)
            remaining = [c.name for c in client.containers.list(all=True, filters={"label": LABEL})]
            self.assertNotIn(orphan.name, remaining)
            self.assertIn(live.name, remaining)
        finally:
            for container in (orphan, live, other_host):
                try:
                    container.remove(force=True)
                except docker.errors.NotFound:
                    pass
            client.close()


def _any_local_image(client) -> str:
    from KafkaPersistenceLibrary.image import resolve_image

    return resolve_image(None)


if __name__ == "__main__":
    unittest.main()
