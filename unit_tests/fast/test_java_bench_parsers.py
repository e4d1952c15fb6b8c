"""The output parsers and pure helpers of benchmarks/java_tools.py and benchmarks/bare_java.py.

No broker, no Java: the tool outputs below were printed by kafka-tools 4.1.1 here.
"""

import math
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bare_java  # noqa: E402
import java_tools  # noqa: E402

from KafkaPersistenceLibrary.broker.environment import property_to_env  # noqa: E402

PRODUCER_OUT = (
    "49972 records sent, 9988.4 records/sec (0.95 MB/sec), 6.3 ms avg latency, 274.0 ms max latency.\n"
    "60000 records sent, 9976.7 records/sec (0.95 MB/sec), 5.93 ms avg latency, 274.00 ms max latency, "
    "5 ms 50th, 18 ms 95th, 34 ms 99th, 43 ms 99.9th.\n")
CONSUMER_OUT = (
    "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
    "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
    "2026-11-25 10:12:07:065, 2026-11-25 10:12:08:039, 5.7220, 5.8748, 60000, 61601.6427, 711, 263, "
    "21.7568, 228136.8821\n")
CONSUMER_DETAILED_OUT = (
    "time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
    "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
    "2026-11-25 10:12:09:489, 0, 0.0001, 0.0003, 1, 2.8653, 291, 58, 0.0016, 17.2414\n")
CONSUMER_TIMED_OUT = (
    "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
    "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
    "WARNING: Exiting before consuming the expected number of messages: timeout (2000 ms) exceeded. "
    "You can use the --timeout option to increase the timeout.\n"
    "2026-11-25 10:11:16:528, 2026-11-25 10:11:18:615, 0.0000, 0.0000, 0, 0.0000, 0, 2087, 0.0000, 0.0000\n")


class ProducerSummaryTest(unittest.TestCase):
    def test_final_line_not_the_progress_line(self):
        result = java_tools.parse_producer_summary(PRODUCER_OUT)
        self.assertEqual(result.records, 60000)
        self.assertEqual(result.records_per_second, 9976.7)
        self.assertEqual(result.mb_per_second, 0.95)
        self.assertEqual((result.latency_avg_ms, result.latency_max_ms), (5.93, 274.0))
        self.assertEqual((result.latency_p50_ms, result.latency_p95_ms, result.latency_p99_ms,
                          result.latency_p999_ms), (5, 18, 34, 43))
        self.assertAlmostEqual(result.tool_seconds, 60000 / 9976.7)

    def test_nothing_acknowledged_prints_nan(self):
        result = java_tools.parse_producer_summary(
            "0 records sent, 0.0 records/sec (0.00 MB/sec), NaN ms avg latency, 0.00 ms max latency, "
            "0 ms 50th, 0 ms 95th, 0 ms 99th, 0 ms 99.9th.\n")
        self.assertEqual(result.records, 0)
        self.assertTrue(math.isnan(result.latency_avg_ms))
        self.assertEqual(result.tool_seconds, 0.0)

    def test_progress_lines_only_is_no_summary(self):
        with self.assertRaises(ValueError):
            java_tools.parse_producer_summary(PRODUCER_OUT.splitlines()[0])


class ConsumerOutputTest(unittest.TestCase):
    def test_header_and_line(self):
        result = java_tools.parse_consumer_output(CONSUMER_OUT)
        self.assertEqual(result.messages, 60000)
        self.assertEqual((result.rebalance_ms, result.fetch_ms), (711, 263))
        self.assertEqual(result.messages_per_second, 61601.6427)
        self.assertEqual(result.fetch_messages_per_second, 228136.8821)
        self.assertEqual(result.fetch_mb_per_second, 21.7568)
        self.assertEqual(result.start_time, "2026-11-25 10:12:07:065")
        self.assertAlmostEqual(result.window_seconds, 0.974)

    def test_zero_fetch_time_prints_infinity(self):
        line = CONSUMER_OUT.replace("711, 263, 21.7568, 228136.8821", "974, 0, Infinity, Infinity")
        self.assertEqual(java_tools.parse_consumer_output(line).fetch_messages_per_second, math.inf)

    def test_the_timeout_warning_line_is_skipped(self):
        result = java_tools.parse_consumer_output(CONSUMER_TIMED_OUT)
        self.assertEqual((result.messages, result.fetch_ms), (0, 2087))
        self.assertIn(java_tools.CONSUMER_TIMEOUT_WARNING, CONSUMER_TIMED_OUT)  # what consumer_performance refuses

    def test_detailed_stats_and_missing_lines_are_refused(self):
        for text in (CONSUMER_DETAILED_OUT, CONSUMER_OUT.splitlines()[0], "", "Exception in thread main"):
            with self.subTest(text=text[:30]), self.assertRaises(ValueError):
                java_tools.parse_consumer_output(text)


class HelpersTest(unittest.TestCase):
    def test_properties_file_escapes(self):
        text = java_tools.properties_text({"a=b:c": "x=y\\z", "sasl.jaas.config": "é\n"})
        self.assertEqual(text, "a\\=b\\:c=x=y\\\\z\nsasl.jaas.config=\\u00e9\\n\n")

    def test_last_lines_drop_timestamps_and_repeats(self):
        out = "[2026-11-25 10:11:00,658] WARN a\n[2026-11-25 10:11:01,064] WARN b\n" * 3 + "done\n"
        self.assertEqual(java_tools.last_lines("", out), "WARN a | WARN b | done")
        self.assertEqual(java_tools.last_lines(b"", None), "(no output)")

    def test_first_exception_is_the_cause_not_the_trace_tail(self):
        trace = ("Exception in thread \"main\" org.apache.kafka.common.config.ConfigException: Invalid value bogus\n"
                 "\tat org.apache.kafka.clients.producer.KafkaProducer.<init>(KafkaProducer.java:328)\n")
        self.assertTrue(java_tools.first_exception(trace).endswith("ConfigException: Invalid value bogus"))
        self.assertEqual(java_tools.first_exception("all fine\n"), "")

    def test_env_names_turn_back_into_the_properties(self):
        for name in ("log.flush.interval.messages", "some_name.with-dash", "node.id"):
            self.assertEqual(bare_java.env_to_property(property_to_env(name)), name)

    def test_server_properties_listen_on_loopback_only(self):
        props = bare_java.server_properties(20001, 20002, Path("/tmp/data"), {"log.flush.interval.messages": "1"})
        self.assertEqual(props["listeners"], "PLAINTEXT://127.0.0.1:20001,CONTROLLER://127.0.0.1:20002")
        self.assertEqual(props["controller.quorum.voters"], "1@127.0.0.1:20002")
        self.assertEqual(props["log.dirs"], "/tmp/data")
        self.assertEqual(props["log.flush.interval.messages"], "1")
        self.assertEqual(props["broker.session.timeout.ms"], "1500")  # the library's single-node settings
        self.assertNotIn("0.0.0.0", "".join(props.values()))

    def test_jvm_flags_come_from_the_image_entrypoint(self):
        broker, storage = bare_java.image_jvm_opts()
        self.assertIn("-XX:+UseG1GC", broker)
        self.assertTrue(any(flag.startswith("-Xmx") for flag in broker))
        self.assertIn("-XX:+UseSerialGC", storage)

    def test_free_port_is_outside_the_ephemeral_range(self):
        low, high = bare_java.ephemeral_range()
        port = bare_java.free_port()
        self.assertFalse(low <= port <= high, (port, low, high))


if __name__ == "__main__":
    unittest.main()
