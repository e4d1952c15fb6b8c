"""Slow Down Network's values, rules and refusals, without Docker (issue 21)."""

import unittest

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.broker.cluster import Cluster
from KafkaPersistenceLibrary.faults.kinds import slow
from KafkaPersistenceLibrary.faults.kinds.network import Peers


class ValuesTest(unittest.TestCase):
    def test_bandwidth(self):
        self.assertEqual(slow.bandwidth_bits("1mbit"), 1_000_000)
        self.assertEqual(slow.bandwidth_bits(" 256KBIT "), 256_000)
        self.assertEqual(slow.bandwidth_bits("1.5mbit"), 1_500_000)
        self.assertEqual(slow.rate_text(256_000), "256kbit")
        for bad in ("0", "0mbit", "fast", "1mb", "-1mbit", "7kbit"):
            with self.subTest(bad=bad), self.assertRaisesRegex(
                    KafkaPersistenceError, rf"^Invalid bandwidth '{bad}': use a rate of at least 8kbit, like 1mbit or "
                                           r"500kbit \(units bit, kbit, mbit, gbit\)\.$"):
                slow.bandwidth_bits(bad)

    def test_loss(self):
        self.assertAlmostEqual(slow.loss_share("10%"), 0.1)
        self.assertAlmostEqual(slow.loss_share("2.5"), 0.025)
        for bad in ("150%", "0%", "100%", "-5%", "some"):
            with self.subTest(bad=bad), self.assertRaisesRegex(
                    KafkaPersistenceError, rf"^Invalid loss '{bad}': use a share above 0% and below 100%, like 10% "
                                           r"\(100% is a partition: 'Isolate Broker'\)\.$"):
                slow.loss_share(bad)


class RulesTest(unittest.TestCase):
    def test_loss_both_ways_per_peer(self):
        rules = slow.loss_rules(Peers.NODES, 0.1, ["10.0.0.2", "10.0.0.3"])
        self.assertEqual(len(rules), 4)
        self.assertEqual(rules[0], ["-A", "KPL", "-s", "10.0.0.2", "-m", "statistic", "--mode", "random",
                                    "--probability", "0.1000", "-j", "DROP"])
        self.assertEqual(rules[1][2:4], ["-d", "10.0.0.2"])
        clients = slow.loss_rules(Peers.CLIENTS, 0.05, ["10.0.0.2"])
        self.assertEqual([rule[3:6] for rule in clients], [["tcp", "--dport", "9092"], ["tcp", "--sport", "9092"]])

    def test_shaping(self):
        commands = slow.shaping_commands("eth0", 256_000, ["10.0.0.2"], client_port=False)
        self.assertEqual(commands[0], ["qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "0"])
        self.assertEqual(commands[1][-4:], ["rate", "256000bit", "ceil", "256000bit"])
        self.assertEqual(commands[2][-6:], ["match", "ip", "dst", "10.0.0.2/32", "flowid", "1:10"])
        self.assertEqual(len(slow.shaping_commands("eth0", 8_000, [], client_port=True)), 3)
        self.assertIn("256kb/s", slow.client_policing_rule(2_048_000))


class RefusalsTest(unittest.TestCase):
    def setUp(self):
        self.library = KafkaPersistenceLibrary()

    def test_bad_values_before_anything_starts(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid bandwidth '0': "):
            self.library.slow_down_network(broker=2, bandwidth="0")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid loss '150%': "):
            self.library.slow_down_network(broker=2, loss="150%")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid from 'everyone': use one of nodes, clients\.$"):
            self.library.slow_down_network(loss="5%", **{"from": "everyone"})
        with self.assertRaisesRegex(KafkaPersistenceError, r"^'Slow Down Network' takes bandwidth=, loss= and "
                                                           r"from=, not delay=\.$"):
            self.library.slow_down_network(delay="100ms")

    def test_not_a_random_fault(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid fault kind 'slow': use one of kill, graceful, "
                                                           r"pause, power-loss, isolate\.$"):
            self.library.start_random_faults(kinds="kill,slow")

    def test_a_cluster_the_library_did_not_start(self):
        cluster = Cluster("theirs")
        cluster.description = "the cluster at 10.1.1.1:9092"
        self.library.ctx.cluster = cluster
        with self.assertRaisesRegex(KafkaPersistenceError, r"^'Slow Down Network' needs bandwidth= \(like 1mbit\), "
                                                           r"loss= \(like 10%\) or both\.$"):
            self.library.slow_down_network()
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Slow Down Network works on clusters the library "
                                                           r"started \(it shapes their private network\); the "
                                                           r"cluster at 10\.1\.1\.1:9092 is not one\.$"):
            self.library.slow_down_network(loss="10%")

    def test_an_image_without_tc(self):
        class NoTc:
            node_id, image = 1, "apache/kafka:4.1.1"

            @staticmethod
            def exec(command):
                return 127, 'OCI runtime exec failed: exec: "tc": executable file not found in $PATH'

        with self.assertRaisesRegex(KafkaPersistenceError, r"^Node 1 \(apache/kafka:4\.1\.1\) has no 'tc' \(iproute2\): "
                                                           r"Slow Down Network needs it in the image \(ours has it"):
            slow.require_tc(NoTc())


if __name__ == "__main__":
    unittest.main()
