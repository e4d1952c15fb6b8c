"""Power-loss mode of our image (volatilefs): what survives a power cut, for files and for Kafka.

Real containers of the image (``KAFKA_PERSISTENCE_IMAGE``, else the library's default):
  * the filesystem alone, driven with ``volatilefs-probe`` (pwrite/mmap with and without
    fsync/msync), cut with ``docker kill`` and started again;
  * one broker with ``KPL_POWER_LOSS=1``: acknowledged (acks=all) records are lost at a power
    cut unless the broker fsyncs each one, and survive a kill of java alone and a graceful stop;
  * the entrypoint without ``KPL_POWER_LOSS`` (java is PID 1, as appuser, no FUSE).
Every container carries the library's owner labels and is removed even when a test fails.
"""

import re
import time
import unittest
import uuid

import confluent_kafka
import docker
from docker.errors import APIError, NotFound

from KafkaPersistenceLibrary import docker_engine
from KafkaPersistenceLibrary.broker import broker_environment, new_cluster_id
from KafkaPersistenceLibrary.image import resolve_image
from KafkaPersistenceLibrary.labels import labels_for
from KafkaPersistenceLibrary.ports import free_loopback_port
from KafkaPersistenceLibrary.readiness import wait_until_ready

DATA = "/var/lib/kafka/data"
BACKING = "/var/lib/kafka/backing"
FUSE = dict(user="root", devices=["/dev/fuse:/dev/fuse:rwm"], cap_add=["SYS_ADMIN"])
# The filesystem alone under a PID 1 that stops it cleanly on SIGTERM (docker stop).
FS_ONLY = f"""
setsid volatilefs -f {BACKING} {DATA} & fs=$!
trap 'kill -TERM $fs; wait $fs; exit 0' TERM
sleep infinity & wait
"""
READY_TIMEOUT = 120


class ContainerCase(unittest.TestCase):
    """Starts containers of the image and removes them, whatever happens."""

    @classmethod
    def setUpClass(cls):
        cls.client = docker_engine.connect()
        cls.image = resolve_image(None)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def run_container(self, **kwargs):
        name = f"kpl-power-loss-test-{uuid.uuid4().hex[:8]}"
        try:
            container = self.client.containers.run(self.image, name=name, detach=True,
                                                   labels=labels_for(f"power loss test {self.id()}"),
                                                   **kwargs)
        except APIError:
            self.remove(name)
            raise
        self.addCleanup(self.remove, name)
        return container

    def remove(self, name):
        try:
            self.client.containers.get(name).remove(force=True, v=True)
        except NotFound:
            pass

    def sh(self, container, script, user="appuser"):
        """Run a shell script in the container; returns (exit code, output)."""
        code, output = container.exec_run(["bash", "-c", script], user=user)
        return code, output.decode(errors="replace").strip()

    def ok(self, container, script, user="appuser"):
        code, output = self.sh(container, script, user)
        self.assertEqual(code, 0, f"{script!r} failed: {output}")
        return output


class VolatileFsTest(ContainerCase):
    """The filesystem alone: only fsynced (or msynced) data survives docker kill."""

    def setUp(self):
        self.container = self.run_container(command=["bash", "-c", FS_ONLY], **FUSE)
        self.wait_mounted()

    def wait_mounted(self):
        deadline = time.monotonic() + 20
        while self.sh(self.container, f"mountpoint -q {DATA}")[0] != 0:
            self.container.reload()
            if self.container.status != "running" or time.monotonic() > deadline:
                self.fail(f"volatilefs did not mount {DATA}; logs: "
                          f"{self.container.logs(tail=20).decode(errors='replace')}")
            time.sleep(0.05)

    def power_cut(self):
        """Every process of the container dies at once, volatilefs with them."""
        self.container.kill(signal="SIGKILL")
        self.container.wait(timeout=30)
        self.container.start()
        self.wait_mounted()

    def clean_stop(self):
        self.container.stop(timeout=30)  # SIGTERM: PID 1 stops volatilefs, which writes all
        self.container.start()
        self.wait_mounted()

    def probe(self, *args):
        return self.ok(self.container, f"cd {DATA} && volatilefs-probe {' '.join(map(str, args))}")

    def intact(self, file, offset, length, seed):
        code, output = self.sh(self.container, f"cd {DATA} && volatilefs-probe check {file} {offset} {length} {seed}")
        self.assertIn(code, (0, 1), output)
        return code == 0

    def size(self, file):
        return int(self.ok(self.container, f"stat -c %s {DATA}/{file}"))

    def test_power_cut_keeps_fsynced_writes_and_loses_the_rest(self):
        self.probe("write", "f", 0, 10000, 1, "fsync")
        self.probe("write", "f", 10000, 5000, 2)  # appended, not synced
        self.probe("write", "f", 0, 100, 3)  # overwritten, not synced
        self.assertEqual(self.size("f"), 15000)
        self.assertTrue(self.intact("f", 0, 100, 3) and self.intact("f", 10000, 5000, 2), "reads see unsynced data")
        self.assertEqual(int(self.ok(self.container, f"stat -c %s {BACKING}/f")), 10000, "backing holds the synced part")

        self.power_cut()

        self.assertEqual(self.size("f"), 10000)
        self.assertTrue(self.intact("f", 0, 10000, 1), "the fsynced bytes, without the unsynced overwrite")

    def test_mmap_writes_survive_only_when_msynced(self):
        self.probe("write", "m", 0, 65536, 1, "fsync")
        self.probe("mmap", "m", 0, 4096, 2, "msync")
        self.probe("mmap", "m", 8192, 4096, 3)  # written through the mapping, unmapped, never synced
        # still mapped and dirty in the kernel when the power goes
        self.ok(self.container, f"cd {DATA} && (volatilefs-probe mmap m 16384 4096 4 hold > /tmp/hold 2>&1 < /dev/null &)"
                                "; until grep -q holding /tmp/hold; do sleep 0.05; done")
        self.assertTrue(all(self.intact("m", off, 4096, seed) for off, seed in ((0, 2), (8192, 3), (16384, 4))),
                        "every mapped write is visible before the cut")

        self.power_cut()

        self.assertEqual(self.size("m"), 65536)
        self.assertTrue(self.intact("m", 0, 4096, 2), "msync made it durable")
        self.assertTrue(self.intact("m", 8192, 4096, 1), "the unsynced mapped write is gone")
        self.assertTrue(self.intact("m", 16384, 4096, 1), "the still-mapped dirty page is gone")
        self.assertTrue(self.intact("m", 4096, 4096, 1))

    def test_namespace_is_durable_at_once_data_follows_the_inode(self):
        # rename: the unsynced data follows the file; an fsync under the new name persists it
        self.probe("write", "a", 0, 4096, 5)
        self.ok(self.container, f"cd {DATA} && mv a b")
        self.probe("write", "b", 4096, 4096, 6)
        self.ok(self.container, f"sync {DATA}/b")  # fsync(2) of that one file
        # rename without fsync: the new name survives, the data does not
        self.probe("write", "c", 0, 4096, 7)
        self.ok(self.container, f"cd {DATA} && mv c d")
        # truncate without fsync is undone; with fsync it stays
        self.probe("write", "t", 0, 20000, 8, "fsync")
        self.ok(self.container, f"truncate -s 5000 {DATA}/t")
        self.probe("write", "u", 0, 8192, 9, "fsync")
        self.ok(self.container, f"truncate -s 100 {DATA}/u && sync {DATA}/u")
        # unlink is durable; a hard link shares the unsynced data, and a sync through one name
        self.probe("write", "gone", 0, 4096, 10, "fsync")
        self.ok(self.container, f"rm {DATA}/gone")
        self.probe("write", "x", 0, 4096, 11)
        self.ok(self.container, f"cd {DATA} && ln x y")
        self.probe("write", "y", 4096, 4096, 12)
        self.assertTrue(self.intact("x", 4096, 4096, 12), "a write through one link is seen through the other")
        self.ok(self.container, f"sync {DATA}/x")

        self.power_cut()

        names = self.ok(self.container, f"ls {DATA}").split()
        self.assertEqual(sorted(names), ["b", "d", "t", "u", "x", "y"])
        self.assertEqual(self.size("b"), 8192)
        self.assertTrue(self.intact("b", 0, 4096, 5) and self.intact("b", 4096, 4096, 6))
        self.assertEqual(self.size("d"), 0, "renamed but never synced: the name survives, empty")
        self.assertEqual(self.size("t"), 20000, "an unsynced truncate is undone")
        self.assertTrue(self.intact("t", 0, 20000, 8))
        self.assertEqual(self.size("u"), 100)
        self.assertTrue(self.intact("u", 0, 100, 9))
        self.assertEqual(self.size("y"), 8192)
        self.assertTrue(self.intact("y", 0, 4096, 11) and self.intact("y", 4096, 4096, 12))

    def test_clean_stop_loses_nothing(self):
        self.probe("write", "f", 0, 30000, 1)
        self.probe("write", "m", 0, 16384, 2, "fsync")
        self.probe("mmap", "m", 4096, 4096, 3)
        self.ok(self.container, f"truncate -s 12288 {DATA}/m")

        self.clean_stop()

        self.assertEqual(self.size("f"), 30000)
        self.assertTrue(self.intact("f", 0, 30000, 1))
        self.assertEqual(self.size("m"), 12288)
        self.assertTrue(self.intact("m", 0, 4096, 2) and self.intact("m", 4096, 4096, 3) and self.intact("m", 8192, 4096, 2))


class PowerLossBrokerTest(ContainerCase):
    """One broker with KPL_POWER_LOSS=1 per test; 2,000 records of 1 KiB with acks=all."""

    RECORDS = 2000

    def start_broker(self, **config):
        self.port = free_loopback_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        env = broker_environment(self.port, new_cluster_id(), config)
        env["KPL_POWER_LOSS"] = "1"
        self.broker = self.run_container(environment=env, ports={"9092/tcp": ("127.0.0.1", self.port)}, **FUSE)
        self.wait_ready()

    def wait_ready(self):
        def running():
            self.broker.reload()
            return self.broker.status == "running"
        wait_until_ready(self.bootstrap, READY_TIMEOUT, still_running=running)

    def produce(self, topic) -> int:
        """Send RECORDS records (acks=all); return how many were acknowledged."""
        producer = confluent_kafka.Producer({"bootstrap.servers": self.bootstrap, "acks": "all",
                                             "enable.idempotence": True, "linger.ms": 5, "log_level": 0})
        acked = []
        padding = b"x" * 1016
        for index in range(self.RECORDS):
            producer.produce(topic, value=b"%08d" % index + padding, partition=0,
                             on_delivery=lambda error, message: acked.append(error is None))
            producer.poll(0)
        self.assertEqual(producer.flush(60), 0, "every send has an outcome")
        return sum(acked)

    def stored(self, topic) -> list[int]:
        """The record indexes the broker serves for the topic, in offset order."""
        consumer = confluent_kafka.Consumer({"bootstrap.servers": self.bootstrap, "group.id": "power-loss-test",
                                             "enable.auto.commit": False, "log_level": 0})
        try:
            low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=30)
            consumer.assign([confluent_kafka.TopicPartition(topic, 0, low)])
            indexes, deadline = [], time.monotonic() + 60
            while len(indexes) < high - low and time.monotonic() < deadline:
                for message in consumer.consume(1000, timeout=1.0):
                    if message.error() is None:
                        indexes.append(int(message.value()[:8]))
            return indexes
        finally:
            consumer.close()

    def exit_code(self):
        self.broker.wait(timeout=60)
        self.broker.reload()
        return self.broker.attrs["State"]["ExitCode"]

    def start_again(self):
        self.broker.start()
        self.wait_ready()

    def last_run_log(self):
        """The container's log since its last start (it accumulates across restarts)."""
        text = self.broker.logs().decode(errors="replace")
        return re.split(r"power-loss mode: \S+ is volatilefs", text)[-1]

    def kill_java(self):
        self.ok(self.broker, 'kill -KILL "$(cat /run/kafka-broker.pid)"', user="root")

    def test_power_cut_loses_acknowledged_records_and_the_broker_recovers(self):
        self.start_broker()
        self.assertEqual(self.produce("cut"), self.RECORDS)

        self.broker.kill(signal="SIGKILL")  # the power cut: every process at once
        self.assertEqual(self.exit_code(), 137)
        self.start_again()

        survivors = self.stored("cut")
        self.assertLess(len(survivors), self.RECORDS, "Kafka does not fsync per record: acknowledged records die")
        self.assertEqual(survivors, list(range(len(survivors))), "what survives is a prefix, in order")
        log = self.last_run_log()
        self.assertIn("since no clean shutdown file was found", log)
        self.assertRegex(log, r"Recovering unflushed segment \d+.*cut-0")
        self.assertEqual(self.produce("after-cut"), self.RECORDS, "the recovered broker serves")

    def test_flush_per_message_survives_the_power_cut(self):
        self.start_broker(**{"log.flush.interval.messages": "1"})
        self.assertEqual(self.produce("flushed"), self.RECORDS)

        self.broker.kill(signal="SIGKILL")
        self.exit_code()
        self.start_again()

        self.assertEqual(self.stored("flushed"), list(range(self.RECORDS)))

    def test_killing_java_alone_loses_nothing(self):
        self.start_broker()
        self.assertEqual(self.produce("crash"), self.RECORDS)

        self.kill_java()  # a process crash: the supervisor lets volatilefs write everything
        self.assertEqual(self.exit_code(), 137)
        log = self.last_run_log()
        self.assertIn("broker exited with 137", log)
        self.assertRegex(log, r"volatilefs: flush \(unmount\): \d+ files, \d+ bytes written, 0 failed")
        self.start_again()

        self.assertEqual(self.stored("crash"), list(range(self.RECORDS)))
        self.assertIn("since no clean shutdown file was found", self.last_run_log(), "java died uncleanly")

    def test_graceful_stop_loses_nothing(self):
        self.start_broker()
        self.assertEqual(self.produce("graceful"), self.RECORDS)

        self.broker.stop(timeout=60)  # SIGTERM to the supervisor, forwarded to java
        self.assertEqual(self.exit_code(), 143)
        self.assertIn("broker exited with 143", self.last_run_log())
        self.start_again()

        self.assertEqual(self.stored("graceful"), list(range(self.RECORDS)))
        self.assertNotIn("since no clean shutdown file was found", self.last_run_log())


class EntrypointModeTest(ContainerCase):
    """Without KPL_POWER_LOSS the entrypoint is the one it always was; with it, it needs FUSE."""

    def test_without_power_loss_java_is_pid_1_as_appuser_and_nothing_is_mounted(self):
        port = free_loopback_port()
        container = self.run_container(environment=broker_environment(port, new_cluster_id(), {}))
        deadline = time.monotonic() + 60
        while self.sh(container, "cat /proc/1/comm", user="root")[1] != "java":
            self.assertLess(time.monotonic(), deadline, "java never became PID 1")
            time.sleep(0.2)
        self.assertEqual(self.ok(container, "ps -o user= -p 1", user="root"), "appuser")
        self.ok(container, "! grep -q fuse /proc/self/mountinfo", user="root")

    def test_power_loss_without_fuse_fails_at_once_and_says_why(self):
        container = self.run_container(environment={"KPL_POWER_LOSS": "1"})  # appuser, no /dev/fuse
        self.assertEqual(container.wait(timeout=30)["StatusCode"], 2)
        self.assertIn("--device /dev/fuse --cap-add SYS_ADMIN", container.logs().decode())


if __name__ == "__main__":
    unittest.main()
