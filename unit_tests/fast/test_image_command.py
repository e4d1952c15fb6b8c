"""The image command's own checks, before it touches Docker or the network."""

import os
import subprocess
import sys
import unittest


class ImageCommandTest(unittest.TestCase):
    def test_mistyped_maven_settings_is_refused_even_when_cached(self):
        result = subprocess.run([sys.executable, "-m", "KafkaPersistenceLibrary.image", "build",
                                 "--maven-settings", "/nonexistent/settings.xml"], capture_output=True, text=True)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.strip(), "error: Maven settings file not found: /nonexistent/settings.xml")
        self.assertEqual(result.stdout, "")

    def test_prune_refuses_a_version_that_is_no_release_before_it_looks_at_anything(self):
        result = subprocess.run([sys.executable, "-m", "KafkaPersistenceLibrary.image", "prune", "--version", "latest",
                                 "--cache-dir", "/nonexistent/kpl-cache"], capture_output=True, text=True,
                                env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"})
        self.assertEqual((result.returncode, result.stderr.strip(), result.stdout),
                         (2, "error: Invalid Kafka version 'latest': use a release number such as 4.4.0 or 3.9.1 "
                             "(major.minor.patch, as on Maven Central)", ""))


if __name__ == "__main__":
    unittest.main()
