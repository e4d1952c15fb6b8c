"""Images on the real engine: ``kafka-persistence-image prune`` on throwaway images of this test's own only,
and an upgrade to an image the engine does not have.

The engine and the cache are shared with other checkouts and with a running CI: prune must
never remove an image a container was made from. The test makes two stale images of ours
(our labels, an input hash no tree builds), a container of one of them, and prunes only
those two (``only=``), so nothing else on the machine is touched.
"""

import io
import tempfile
import unittest
import uuid

import docker
from docker.errors import ImageNotFound, NotFound

from KafkaPersistenceLibrary import KafkaPersistenceError
from KafkaPersistenceLibrary.image.build import BASE_REPOSITORY, INPUT_HASH_LABEL, KAFKA_VERSION_LABEL, base_hash
from KafkaPersistenceLibrary.image.inventory import images, prune
from KafkaPersistenceLibrary.upgrade.rolling import target_levels
from KafkaPersistenceLibrary.versions import KAFKA_VERSION


class PruneTest(unittest.TestCase):
    def setUp(self):
        self.client = docker.from_env()
        self.addCleanup(self.client.close)
        self.run_id = uuid.uuid4().hex[:8]
        self.parent = self._parent_image()

    def _parent_image(self) -> str:
        for name in (f"{BASE_REPOSITORY}:{base_hash()}", f"kafka-persistence-library/kafka:{KAFKA_VERSION}"):
            try:
                self.client.images.get(name)
                return name
            except ImageNotFound:
                continue
        raise AssertionError("no image of ours to build throwaway images on: run ./run.sh true first")

    def stale_image(self, name: str) -> str:
        """An image that looks like an old build of ours (our labels, an input hash no tree has); its short id."""
        tag = f"kpl-prune-test-{self.run_id}/kafka:{name}"
        dockerfile = f"FROM {self.parent}\nLABEL {INPUT_HASH_LABEL}=stale-{self.run_id}-{name}\n"
        image, _ = self.client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True,
                                            labels={KAFKA_VERSION_LABEL: KAFKA_VERSION})
        self.addCleanup(self._remove_image, tag)
        image.tag(f"kpl-prune-test-{self.run_id}/kafka", f"{name}-pinned")  # two tags, as our builds have
        self.addCleanup(self._remove_image, f"{tag}-pinned")
        return image.id.split(":")[-1][:12]

    def _remove_image(self, tag: str) -> None:
        try:
            self.client.images.remove(tag, force=True)
        except (ImageNotFound, NotFound):
            pass

    def test_prune_removes_a_stale_image_and_keeps_one_a_container_uses(self):
        unused, used = self.stale_image("unused"), self.stale_image("used")
        container = self.client.containers.create(f"kpl-prune-test-{self.run_id}/kafka:used", command=["true"],
                                                  name=f"kpl-prune-test-{self.run_id}")
        self.addCleanup(container.remove, force=True)
        found = {item.image_id: item for item in images() if item.image_id in (unused, used)}
        self.assertEqual({i: (found[i].kind, found[i].current) for i in found},
                         {unused: ("kafka", False), used: ("kafka", False)}, "both look stale to prune")
        said = []
        with tempfile.TemporaryDirectory() as cache_dir:
            prune(cache_dir, log=said.append, only=lambda item: item.image_id in (unused, used))
        self.assertIn(f"kept kpl-prune-test-{self.run_id}/kafka:used, kpl-prune-test-{self.run_id}/kafka:used-pinned: "
                      f"container(s) kpl-prune-test-{self.run_id} use it", said)
        self.assertTrue(any(line.startswith(f"removed kpl-prune-test-{self.run_id}/kafka:unused, ") for line in said),
                        said)
        with self.assertRaises(ImageNotFound):
            self.client.images.get(f"kpl-prune-test-{self.run_id}/kafka:unused")
        for tag in ("used", "used-pinned"):  # before, 'docker rmi' of both tags untagged the first, then refused
            self.assertEqual(self.client.images.get(f"kpl-prune-test-{self.run_id}/kafka:{tag}").id.split(":")[-1][:12],
                             used)


class MissingImageTest(unittest.TestCase):
    def test_an_image_the_engine_lacks_is_named_with_what_to_do(self):
        """Before: docker-py tried to pull it, and Upgrade Kafka    image=no/such:image said '500 Server Error for
        http+docker://localhost/v1.41/images/create?...' (the keyword probe)."""
        image = f"kpl-no-such-{uuid.uuid4().hex[:8]}/kafka:4.4.0"
        with self.assertRaises(KafkaPersistenceError) as raised:
            target_levels(image, "missing-image-test", "4.4.0")
        self.assertEqual(str(raised.exception), f"Image '{image}' is not on this Docker engine: build it first "
                                                f"('kafka-persistence-image build --kafka-version 4.4.0'), or give "
                                                f"image= of one that is.")


if __name__ == "__main__":
    unittest.main()
