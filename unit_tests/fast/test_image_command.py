"""The image command's own checks, before it touches Docker or the network."""

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


if __name__ == "__main__":
    unittest.main()
