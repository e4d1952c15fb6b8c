"""run.sh's apt stage keeps apt's chatter in a log: the set-up prints its stage lines, and a log's tail on failure.

Sources run.sh (which then runs no stage) with a fake ``apt-get`` first on PATH: no root, network or Docker.
"""

import os
import subprocess
import tempfile
import unittest
from pathlib import Path

RUN_SH = Path(__file__).resolve().parents[2] / "run.sh"

# What apt printed on a fresh machine: needrestart's and debconf's lines, on both streams.
FAKE_APT_GET = """#!/bin/sh
echo "Reading package lists..."
echo "readline() on closed filehandle HENV at /usr/sbin/needrestart line 79." >&2
echo "debconf: delaying package configuration, since apt-utils is not installed" >&2
[ "$1" = install ] && [ -n "$FAIL_INSTALL" ] || exit 0
for package; do :; done
echo "E: Unable to locate package $package" >&2
exit 100
"""


class AptInstallTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="kpl-run-sh-")
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        fake = self.tmp / "bin" / "apt-get"
        fake.parent.mkdir()
        fake.write_text(FAKE_APT_GET)
        fake.chmod(0o755)
        self.log = self.tmp / "logs" / "apt.log"

    def apt_install(self, package: str, **env: str) -> subprocess.CompletedProcess:
        script = f'source "{RUN_SH}" && apt_install {package} && echo "apt_install returned"'
        return subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, timeout=10, cwd=self.tmp,
            env={**os.environ, "PATH": f"{self.tmp / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                 "APT_LOG": str(self.log), **env})

    def test_a_successful_install_prints_nothing(self):
        done = self.apt_install("docker.io")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "apt_install returned\n")
        self.assertEqual(done.stderr, "")
        self.assertIn("delaying package configuration", self.log.read_text())

    def test_a_failed_install_shows_the_tail_of_its_log_and_one_error_line(self):
        self.log.parent.mkdir()
        self.log.write_text("an earlier run's line\n")
        done = self.apt_install("no-such-package", FAIL_INSTALL="1")
        self.assertNotEqual(done.returncode, 0)
        self.assertEqual(done.stdout, "")
        lines = done.stderr.splitlines()
        self.assertEqual(lines[:-1], [
            "Reading package lists...",
            "readline() on closed filehandle HENV at /usr/sbin/needrestart line 79.",
            "debconf: delaying package configuration, since apt-utils is not installed",
            "E: Unable to locate package no-such-package",
        ])
        self.assertEqual(lines[-1], f"[run.sh] ERROR: apt-get install -y -qq no-such-package failed; "
                                    f"its log: {self.log}")

    def test_apt_runs_without_needrestart_prompts(self):
        fake = self.tmp / "bin" / "apt-get"
        fake.write_text('#!/bin/sh\necho "$NEEDRESTART_MODE $NEEDRESTART_SUSPEND $DEBIAN_FRONTEND"\n')
        done = self.apt_install("docker.io")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.log.read_text().splitlines()[-1], "a 1 noninteractive")


if __name__ == "__main__":
    unittest.main()
