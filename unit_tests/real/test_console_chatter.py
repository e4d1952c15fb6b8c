"""kafka-python's chatter stays at DEBUG in the log: never on Robot's console, in its error list or at INFO.

Runs robot/console_chatter.robot: one Produce Message while the broker is up, one while it is stopped
(before, the second printed dozens of "[ ERROR ] Connection failed: KafkaConnectionError: 111
ECONNREFUSED" lines; issue 16, item 4).
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

SUITE = Path(__file__).with_name("robot") / "console_chatter.robot"
BIN = Path(sys.executable).parent

# Words of kafka-python's log records (connection, bootstrap, metadata, close), none of the library's.
CHATTER = re.compile(r"KafkaConnectionError|ECONNREFUSED|Bootstrap|bootstrap-0|Connection (failed|lost|closed)"
                     r"|Closing the Kafka producer|Updated metadata|KafkaTCPTransport|KafkaConnection node_id")
LIBRDKAFKA_STDERR = re.compile(r"^%\d\|", re.MULTILINE)  # librdkafka's own log line format


class ConsoleChatterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = tempfile.TemporaryDirectory(prefix="kpl-chatter-")
        cls.addClassCleanup(out.cleanup)
        # DEBUG, so the log shows where kafka-python's records went; Robot's default is INFO.
        cls.done = subprocess.run(
            [str(BIN / "robot"), "--loglevel", "DEBUG", "--outputdir", out.name, str(SUITE)],
            capture_output=True, text=True, timeout=180, cwd=out.name,
            env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
        cls.console = cls.done.stdout + cls.done.stderr
        cls.output = ET.parse(Path(out.name) / "output.xml").getroot()

    def produce_messages(self, test: str) -> list[tuple[str, str]]:
        """(level, text) of every message the test's Produce Message logged, nested keywords included."""
        case = next(t for t in self.output.iter("test") if t.get("name") == test)
        keyword = next(k for k in case.iter("kw") if k.get("name") == "Produce Message")
        return [(m.get("level"), m.text or "") for m in keyword.iter("msg")]

    def test_the_suite_passes(self):
        self.assertEqual(self.done.returncode, 0, self.console[-3000:])

    def test_no_kafka_python_warning_or_error_on_the_console(self):
        noisy = [line for line in self.console.splitlines()
                 if ("[ WARN ]" in line or "[ ERROR ]" in line) and CHATTER.search(line)]
        self.assertEqual(noisy[:5], [], f"{len(noisy)} line(s) of kafka-python chatter on the console")
        self.assertIsNone(LIBRDKAFKA_STDERR.search(self.console), self.console[-3000:])

    def test_no_kafka_python_warning_or_error_in_the_log(self):
        noisy = [m.text for m in self.output.iter("msg")
                 if m.get("level") in ("WARN", "ERROR") and CHATTER.search(m.text or "")]
        self.assertEqual(noisy[:5], [], f"{len(noisy)} kafka-python warning(s)/error(s) in output.xml")

    def test_a_successful_send_logs_only_the_library_at_info(self):
        messages = self.produce_messages("Produce While The Broker Is Up")
        info = [text for level, text in messages if level == "INFO"]
        self.assertEqual([t for t in info if CHATTER.search(t)], [])
        self.assertTrue(any(re.match(r"Produced 'up' .* acknowledged in \d+ ms", t) for t in info), info)
        self.assertTrue(any(level == "DEBUG" and text.startswith("kafka") and "Bootstrap complete" in text
                            for level, text in messages), "kafka-python's records are kept at DEBUG")

    def test_a_refused_connection_is_kept_at_debug(self):
        messages = self.produce_messages("Produce While The Broker Is Down")
        self.assertTrue(any(level == "DEBUG" and "ECONNREFUSED" in text for level, text in messages),
                        messages[:20])
        self.assertEqual([(level, text) for level, text in messages if level != "DEBUG" and CHATTER.search(text)],
                         [])


if __name__ == "__main__":
    unittest.main()
