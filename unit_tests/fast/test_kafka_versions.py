"""Choosing a Kafka version without Docker: the one-line mistakes, the backend per release,
which image wins, and the line for a release Maven cannot serve."""

import os
import subprocess
import sys
import unittest
from unittest import mock

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.image import IMAGE_ENV, VERSION_ENV, ImageError, provide_image
from KafkaPersistenceLibrary.image.build import INPUT_HASH_LABEL, BuildOptions, image_input_hash, maven_error
from KafkaPersistenceLibrary.image.kafka_versions import check_version, image_name, logging_backend, maven_properties
from KafkaPersistenceLibrary.versions import KAFKA_VERSION


class VersionCheckTest(unittest.TestCase):

    def test_a_release_number_is_taken(self):
        self.assertEqual(check_version(" 3.9.1 "), "3.9.1")
        self.assertEqual(check_version("4.4.0"), "4.4.0")
        self.assertEqual(image_name("3.9.1"), "kafka-persistence-library/kafka:3.9.1")

    def test_mistakes_are_one_line(self):
        cases = {
            "4.4": r"^Invalid Kafka version '4\.4': use a release number such as .* \(major\.minor\.patch",
            "latest": r"^Invalid Kafka version 'latest'",
            "4.0.0-rc1": r"^Invalid Kafka version '4\.0\.0-rc1'",
            "3.6.2": r"^Kafka 3\.6\.2 is older than 3\.7: .*; use 3\.7\.0 or newer$",
            "2.8.0": r"^Kafka 2\.8\.0 is older than 3\.7",
        }
        for version, expected in cases.items():
            with self.subTest(version=version), self.assertRaisesRegex(ImageError, expected):
                check_version(version)

    def test_each_release_line_gets_its_own_logging_backend(self):
        self.assertEqual(logging_backend("3.7.0"), "reload4j")
        self.assertEqual(logging_backend("3.9.1"), "reload4j")
        self.assertEqual(logging_backend("4.0.0"), "log4j2")
        self.assertEqual(logging_backend("4.4.0"), "log4j2")
        self.assertIn("reload4j.version", maven_properties("3.9.1"))
        self.assertIn("log4j.version", maven_properties("4.4.0"))

    def test_each_version_has_its_own_input_hash(self):
        self.assertNotEqual(image_input_hash("3.9.1"), image_input_hash("4.4.0"))
        self.assertEqual(image_input_hash("4.4.0"), image_input_hash("4.4.0"))


class MavenErrorTest(unittest.TestCase):
    """mvn's own words for a missing artifact, in both forms it prints (fresh and cached failure)."""

    def test_the_repository_and_the_way_out_are_named(self):
        fresh = ("[ERROR] Failed to execute goal on project kafka-image-jars: Could not resolve dependencies for "
                 "project x: Could not find artifact org.apache.kafka:kafka_2.13:jar:3.7.9 in central "
                 "(https://repo.example/maven2) -> [Help 1]")
        cached = ("[ERROR] Failed to execute goal on project kafka-image-jars: Could not resolve dependencies: "
                  "org.apache.kafka:kafka_2.13:jar:3.7.9 was not found in https://repo.example/maven2 during a "
                  "previous attempt. This failure was cached in the local repository")
        for output in (fresh, cached):
            with self.subTest(output=output[-60:]):
                message = str(maven_error("3.7.9", output, BuildOptions(cache_dir="/tmp/x")))
                self.assertRegex(message, r"^Maven could not serve org\.apache\.kafka:kafka_2\.13:3\.7\.9 from "
                                          r"https://repo\.example/maven2: .*--maven-settings FILE\)$")
                self.assertNotIn("\n", message)

    def test_another_failure_keeps_mavens_last_lines(self):
        message = str(maven_error("3.9.1", "[ERROR] Network is unreachable\n[ERROR] done", BuildOptions()))
        self.assertRegex(message, r"^mvn could not resolve the jars of Kafka 3\.9\.1: .*Network is unreachable")


class WhichImageWinsTest(unittest.TestCase):
    """image= and $KAFKA_PERSISTENCE_IMAGE win; then version=, then $KAFKA_PERSISTENCE_VERSION."""

    def current(self, name):
        version = name.split(":")[1]
        return {INPUT_HASH_LABEL: image_input_hash(version)}

    def provide(self, requested=None, version=None, env=None):
        messages = []
        with mock.patch.dict(os.environ, env or {}, clear=False):
            for key in (IMAGE_ENV, VERSION_ENV):
                if key not in (env or {}):
                    os.environ.pop(key, None)
            image = provide_image(requested, version, log=messages.append, labels_of=self.current,
                                  is_local=lambda name: False)
        return image, messages

    def test_order(self):
        self.assertEqual(self.provide()[0], image_name(KAFKA_VERSION))
        self.assertEqual(self.provide(version="3.9.1")[0], image_name("3.9.1"))
        self.assertEqual(self.provide(env={VERSION_ENV: "4.4.0"})[0], image_name("4.4.0"))
        self.assertEqual(self.provide(version="3.9.1", env={VERSION_ENV: "4.4.0"})[0], image_name("3.9.1"))
        image, messages = self.provide(requested="mine:1", version="3.9.1")
        self.assertEqual((image, len(messages)), ("mine:1", 1))
        self.assertIn("version=3.9.1 is not used: the image mine:1 was chosen (image=)", messages[0])
        self.assertEqual(self.provide(env={IMAGE_ENV: "theirs:2", VERSION_ENV: "4.4.0"})[0], "theirs:2")

    def test_an_image_of_other_files_is_not_run(self):
        """The old trap: another checkout built the same name from other files; ours is found by its second tag."""
        built = []
        pinned = f"{image_name('4.4.0')}-{image_input_hash('4.4.0')}"
        labels = {image_name("4.4.0"): {INPUT_HASH_LABEL: "0123456789abcdef"},
                  pinned: {INPUT_HASH_LABEL: image_input_hash("4.4.0")}}
        messages = []
        image = provide_image(None, "4.4.0", log=messages.append, labels_of=labels.get, is_local=lambda n: False)
        self.assertEqual((image, built), (pinned, []))
        self.assertIn("holds another build (input hash 0123456789abcdef", messages[0])


class StartKafkaVersionTest(unittest.TestCase):
    """Start Kafka's version= is checked before any Docker call."""

    def test_bad_versions_fail_in_one_line(self):
        library = KafkaPersistenceLibrary()
        for version, expected in {"banana": r"^Invalid Kafka version 'banana': use a release number",
                                  "3.5.0": r"^Kafka 3\.5\.0 is older than 3\.7"}.items():
            with self.subTest(version=version), self.assertRaisesRegex(KafkaPersistenceError, expected):
                library.start_kafka(version=version)

    def test_bad_environment_version_fails_in_one_line(self):
        with mock.patch.dict(os.environ, {VERSION_ENV: "4.x"}), \
                self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid Kafka version '4\.x'"):
            KafkaPersistenceLibrary().start_kafka()


class BuildCommandTest(unittest.TestCase):
    """The CLI refuses a bad version before it touches Docker, Maven or debootstrap."""

    def test_bad_versions(self):
        for version, expected in {"4.4": "error: Invalid Kafka version '4.4'",
                                  "3.6.2": "error: Kafka 3.6.2 is older than 3.7"}.items():
            with self.subTest(version=version):
                result = subprocess.run([sys.executable, "-m", "KafkaPersistenceLibrary.image", "build",
                                         "--kafka-version", version], capture_output=True, text=True, timeout=60)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(result.stdout, "")
                self.assertTrue(result.stderr.startswith(expected), result.stderr)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
