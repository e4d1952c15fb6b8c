"""Mistakes a tester makes, caught before any Docker or Kafka call, each with its one-line message.

These run without a Docker engine: every check here happens before the library
touches one. Their wording is pinned here once; robot_tests/expected_failures.robot
pins what Robot itself shows (its own argument conversion).
"""

import os
import tempfile
import unittest
from datetime import timedelta
from unittest import mock

from robot.libdoc import LibraryDocumentation

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.node import StopMode
from KafkaPersistenceLibrary.choices import by_value
from KafkaPersistenceLibrary.clients.delivery import Acks, idempotence
from KafkaPersistenceLibrary.keywords.lifecycle import _cluster_spec
from KafkaPersistenceLibrary.keywords.verification import Timeline
from KafkaPersistenceLibrary.security.settings import ClientSecurity
from KafkaPersistenceLibrary.timeouts import to_seconds

NOT_STARTED = "No Kafka broker is running: call 'Start Kafka' first (e.g. in Suite Setup)."


class BeforeStartKafkaTest(unittest.TestCase):
    """Every keyword that needs a cluster says so, without touching Docker."""

    # Keywords that work, or fail for their own reason, with no cluster; every other keyword needs one.
    NEEDS_NO_CLUSTER = {
        "Start Kafka": "it starts the cluster",
        "Connect Kafka": "it is the other way to get one",
        "Stop Kafka": "does nothing when none runs",
        "Disconnect Kafka": "does nothing when none is in use",
        "Stop Background Producer": "names the producer that was never started (test below)",
        "Stop Random Faults": "names the random faults that were never started",
    }
    # a value for each required argument
    MINIMAL = {"topic": "t", "name": "t", "value": "v", "count": 10, "by": "+1d", "group": "g", "version": "4.4.0",
               "source": "s", "target": "t"}

    def test_each_keyword_before_start(self):
        """Built from the library's own documentation, so a new keyword cannot be left out."""
        keywords = LibraryDocumentation("KafkaPersistenceLibrary").keywords
        self.assertLessEqual(set(self.NEEDS_NO_CLUSTER), {kw.name for kw in keywords}, "an exemption names no keyword")
        library = KafkaPersistenceLibrary()
        for kw in keywords:
            if kw.name in self.NEEDS_NO_CLUSTER:
                continue
            call = getattr(library, kw.name.lower().replace(" ", "_"))
            with self.subTest(keyword=kw.name), self.assertRaises(KafkaPersistenceError) as raised:
                call(*[self.MINIMAL[arg.name] for arg in kw.args if arg.required])
            self.assertEqual(str(raised.exception), NOT_STARTED, kw.name)

    def test_stop_kafka_before_start_is_harmless(self):
        KafkaPersistenceLibrary().stop_kafka()

    def test_stop_background_producer_that_never_started(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^No background producer writes to 'idle'; start one"):
            KafkaPersistenceLibrary().stop_background_producer("idle")


class ArgumentTest(unittest.TestCase):
    """Wrong arguments fail before anything is started or sent."""

    def setUp(self):
        self.library = KafkaPersistenceLibrary()

    def test_invalid_topic_names(self):
        for bad in ("has space", "..", "x" * 250, "slash/topic"):
            with self.subTest(bad=bad), self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid topic name"):
                self.library.produce_message(bad, "v")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Topic name is empty: give a name like 'orders'\.$"):
            self.library.consume_should_equal("", "v")

    def test_brokers_out_of_range(self):
        for bad in (0, 9, -1, "abc"):
            with self.subTest(bad=bad), self.assertRaisesRegex(
                    KafkaPersistenceError, rf"^Invalid brokers '{bad}': start 1 to 5 brokers\.$"):
                self.library.start_kafka(brokers=bad)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid controllers '0': give 1 to 5"):
            self.library.start_kafka(brokers=3, controllers=0)

    def test_unknown_restart_mode(self):
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^Invalid restart mode 'reboot': use one of graceful, kill, power-loss\.$"):
            self.library.restart_broker(mode="reboot")

    def test_restart_modes_by_their_names(self):
        self.assertIs(StopMode.parse("Power_Loss"), StopMode.POWER_LOSS)
        self.assertIs(StopMode.parse(" KILL "), StopMode.KILL)

    def test_negative_downtime_is_echoed_as_typed(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid downtime '-1s': it must not be negative\.$"):
            self.library.restart_broker(downtime="-1s")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid downtime '-1s': it must not be negative\.$"):
            self.library.restart_broker(downtime=timedelta(seconds=-1))  # what Robot passes for "-1s"

    def test_zero_timeout_could_never_pass(self):
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^Invalid timeout '0': it must be more than zero, or it can never be met\.$"):
            self.library.consume_should_equal("t", "v", timeout="0")
        self.assertEqual(to_seconds("0", "downtime", allow_zero=True), 0.0)

    def test_bad_timeout_text(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid start_timeout 'soon': use a number of seconds"):
            KafkaPersistenceLibrary(start_timeout="soon")

    def test_acks(self):
        self.assertIs(Acks.parse("all"), Acks.ALL)
        self.assertIs(Acks.parse("1"), Acks.LEADER)
        self.assertIs(Acks.parse(0), Acks.NONE)
        self.assertIs(Acks.parse("-1"), Acks.ALL)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid acks 'two': use one of all, 1, 0\.$"):
            self.library.produce_message("t", "v", acks="two")

    def test_idempotence_needs_acks_all(self):
        self.assertTrue(idempotence(Acks.ALL, None))
        self.assertFalse(idempotence(Acks.LEADER, None))
        self.assertFalse(idempotence(Acks.ALL, False))
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    r"^An idempotent producer needs acks=all, not acks=1: drop idempotent=True"):
            self.library.produce_message("t", "v", acks="1", idempotent=True)

    def test_negative_partition(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid partition -1: partitions are numbered from 0\.$"):
            self.library.produce_message("t", "v", partition=-1)

    def test_counts_and_rates(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid count 0: produce at least 1 record\.$"):
            self.library.produce_records("t", 0)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid rate -1: give records per second"):
            self.library.start_background_producer("t", rate=-1)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid keys -1: give the number of distinct keys"):
            self.library.produce_records("t", 5, keys=-1)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid size 5: payload size 5 is smaller than its "
                                                           r"\d+-byte prefix"):
            self.library.produce_records("t", 10, size=5)

    def test_negative_log_tail(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid tail -1: give a positive number of lines"):
            self.library.get_broker_logs(tail=-1)


class ChoicesTest(unittest.TestCase):
    """Every choice argument takes both spellings (``-``/``_``, any case) and refuses in one shape."""

    SHAPE = r"^Invalid {} '{}': use one of [^,:]+(, [^,:]+)*\.$"

    def test_both_spellings_of_every_choice(self):
        self.assertEqual(_cluster_spec(1, None, False, "sasl-ssl", {}).security, "sasl_ssl")
        self.assertEqual(_cluster_spec(1, None, False, "SASL_Plaintext", {}).security, "sasl_plaintext")
        self.assertIs(by_value(Timeline, " File ", "Invalid timeline"), Timeline.FILE)
        self.assertEqual(ClientSecurity(protocol="sasl-ssl", sasl_mechanism="scram_sha_512", username="a",
                                        password="b").sasl_mechanism, "SCRAM-SHA-512")
        for text, member in (("ALL", Acks.ALL), ("leader", Acks.LEADER), ("none", Acks.NONE), (-1, Acks.ALL)):
            self.assertIs(Acks.parse(text), member)

    def test_one_message_shape(self):
        library = KafkaPersistenceLibrary()
        cases = [
            ("acks", "two", lambda: library.produce_message("t", "v", acks="two")),
            ("security", "tls", lambda: library.start_kafka(security="tls")),
            ("driver", "swarm", lambda: library.connect_kafka("localhost:1", driver="swarm")),
            ("timeline", "banana", lambda: library.verify_no_acknowledged_records_lost("t", timeline="banana")),
            ("security_protocol", "TLS", lambda: library.connect_kafka("localhost:1", security_protocol="TLS")),
        ]
        for what, value, call in cases:
            with self.subTest(what), self.assertRaisesRegex(KafkaPersistenceError, self.SHAPE.format(what, value)):
                call()


class EnvironmentProblemsTest(unittest.TestCase):
    def test_no_docker_engine(self):
        with mock.patch.dict(os.environ, {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}):
            with self.assertRaisesRegex(KafkaPersistenceError,
                                        r"^No Docker engine answers at unix:///nonexistent/docker.sock: start one"):
                KafkaPersistenceLibrary().start_kafka()

    def test_no_permission_on_the_docker_socket(self):
        error = PermissionError(13, "Permission denied")
        with tempfile.NamedTemporaryFile(prefix="kpl-docker-", suffix=".sock") as socket_file, \
                mock.patch.dict(os.environ, {"DOCKER_HOST": f"unix://{socket_file.name}"}), \
                mock.patch("docker.from_env", side_effect=__import__("docker").errors.DockerException(
                    f"Error while fetching server API version: ('Connection aborted.', {error!r})")):
            with self.assertRaisesRegex(KafkaPersistenceError,
                                        r"^No permission to use the Docker engine at .*: add this user to the "
                                        r"'docker' group"):
                KafkaPersistenceLibrary().start_kafka()



class EngineRefusalsTest(unittest.TestCase):
    def test_no_fuse_device_on_the_engine_names_what_is_missing(self):
        from docker.errors import APIError

        from KafkaPersistenceLibrary.broker.environment import NodeSpec
        from KafkaPersistenceLibrary.broker.node import Node, NodeOptions

        client = mock.Mock()
        client.containers.create.side_effect = APIError(
            "500 Server Error", explanation='error gathering device information while adding custom device '
                                            '"/dev/fuse": no such file or directory')
        with self.assertRaisesRegex(KafkaPersistenceError, r"^power_loss=True needs /dev/fuse on the Docker host, "
                                                           r"and this engine has none .*modprobe fuse"):
            Node.create(client, "img", NodeSpec(1, "broker,controller", "n-1"), {}, "net", {}, 1,
                        NodeOptions(power_loss=True))
        client.api.remove_container.assert_called_once()


if __name__ == "__main__":
    unittest.main()
