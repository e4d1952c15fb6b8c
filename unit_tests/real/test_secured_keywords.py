"""Secured keywords end to end, through Robot: the right credentials work, each mistake is named in one
line, and the password appears nowhere in the output, even at TRACE log level."""

import tempfile
import unittest
from pathlib import Path

import robot

SUITE = Path(__file__).with_name("robot") / "secured.robot"


class SecuredKeywordsTest(unittest.TestCase):
    def test_suite_passes_and_the_password_is_nowhere_in_the_log(self):
        with tempfile.TemporaryDirectory(prefix="kpl-secured-") as out:
            rc = robot.run(str(SUITE), outputdir=out, loglevel="TRACE", console="none", report="NONE")
            output = Path(out, "output.xml").read_text()
            self.assertEqual(rc, 0, f"the suite failed; see the messages in {SUITE.name}: "
                                    + " | ".join(line.strip()[:200] for line in output.splitlines()
                                                 if 'status="FAIL"' in line)[:1500])
            for secret in ("password.txt", "wrong-password.txt"):
                password = Path(out, secret).read_text()
                self.assertGreater(len(password), 10)
                for name in ("output.xml", "log.html"):
                    with self.subTest(secret=secret, file=name):
                        self.assertNotIn(password, Path(out, name).read_text(), "a password leaked")
            self.assertIn("&lt;secret&gt;", output, "it was there, masked")


if __name__ == "__main__":
    unittest.main()
