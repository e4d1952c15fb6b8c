"""The power-loss filesystem of our image (volatilefs) on its own: what survives a power cut.

Real containers of the image (``KAFKA_PERSISTENCE_IMAGE``, else the library's default):
  * the filesystem alone, driven with ``volatilefs-probe`` (pwrite/mmap with and without
    fsync/msync), cut with ``docker kill`` and started again;
  * the entrypoint without ``KPL_POWER_LOSS`` (java is PID 1, as appuser, no FUSE), and with
    it but without FUSE (fails at once, saying what is missing).
What it means for Kafka is shown through the keywords in test_power_loss.py.
Every container carries the library's owner labels and is removed even when a test fails.
"""

import time
import unittest
import uuid

from docker.errors import APIError, NotFound

from KafkaPersistenceLibrary.broker import engine as docker_engine
from KafkaPersistenceLibrary.broker.environment import new_cluster_id
from KafkaPersistenceLibrary.broker.environment import single_node_environment as broker_environment
from KafkaPersistenceLibrary.broker.labels import labels_for
from KafkaPersistenceLibrary.broker.ports import free_loopback_port
from KafkaPersistenceLibrary.image import resolve_image

DATA = "/var/lib/kafka/data"
BACKING = "/var/lib/kafka/backing"
FUSE = dict(user="root", devices=["/dev/fuse:/dev/fuse:rwm"], cap_add=["SYS_ADMIN"])
# The filesystem alone under a PID 1 that stops it cleanly on SIGTERM (docker stop).
FS_ONLY = f"""
setsid volatilefs -f {BACKING} {DATA} & fs=$!
trap 'kill -TERM $fs; wait $fs; exit 0' TERM
sleep infinity & wait
"""


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
