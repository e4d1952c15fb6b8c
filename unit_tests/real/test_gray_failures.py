"""Gray failures on real brokers: a follower on a link slower than the producer, a lossy leader (issue 21).

3 brokers, RF 3, min ISR 2, acks=all background producer. A follower whose
links are shaped below the producer's rate falls out of the ISR while produce
goes on; the leader is then killed and nothing acknowledged is lost; after
Heal Network the follower rejoins. A leader whose links drop 10% of packets
for 30 s loses nothing, and the fault table shows its throughput and longest
stretch without an ack beside the clean baseline.
"""

import time

from KafkaPersistenceLibrary import KafkaPersistenceError
from KafkaPersistenceLibrary.durability.verdict import fault_figures

from .broker_case import ClusterTestCase

LAG_MS = 4000  # replica.lag.time.max.ms: a follower behind for this long leaves the ISR (Kafka's default is 30 s)
RECORD_BYTES, RATE = 1000, 300  # ~300 KB/s, 2.4 Mbit/s: well above the shaped link
BANDWIDTH = "256kbit"  # 32 KB/s
LINK_RECORDS_PER_SECOND = 32  # what the slowed link carries of RECORD_BYTES records
LOSSY_SECONDS = 30


class GrayFailureTest(ClusterTestCase):
    START = {"brokers": 3, "replica.lag.time.max.ms": str(LAG_MS)}

    def setUp(self):
        super().setUp()
        self.addCleanup(self.library.heal_network)  # runs before the nodes are brought back: also on failure

    def topic(self, **config) -> str:
        name = super().topic(**{"min.insync.replicas": "2", **config})
        self.library.produce_records(name, 100)
        self.library.wait_until_replicas_in_sync(name)
        return name

    def wait_for_isr(self, topic: str, node: int, inside: bool, seconds: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if (node in self.library.get_partition_state(topic).isr) == inside:
                return time.monotonic() - started
            time.sleep(0.5)
        return self.fail(f"node {node} {'did not rejoin' if inside else 'stayed in'} the ISR within {seconds} s: "
                  f"{self.library.get_partition_state(topic)}")

    def test_a_follower_on_a_slow_link_leaves_the_isr_and_nothing_is_lost_when_the_leader_dies(self):
        topic = self.topic()
        state = self.library.get_partition_state(topic)
        follower = next(node for node in state.isr if node != state.leader)
        self.library.start_background_producer(topic, size=RECORD_BYTES, rate=RATE)
        time.sleep(2)
        slowed = self.library.slow_down_network(broker=follower, bandwidth=BANDWIDTH)
        self.assertEqual((slowed.node, slowed.link), (follower, BANDWIDTH))
        left = self.wait_for_isr(topic, follower, inside=False, seconds=LAG_MS / 1000 + 25)
        acked_before = self.acknowledged(topic)
        time.sleep(3)
        # acks=all waiting on the slowed follower would ack at most what its link carries (~32 records/s of
        # 1000 B); twice that shows the ISR went on without it, on a machine however loaded (a fixed share of
        # RATE failed at load average 30: 246 acks in 3 s).
        self.assertGreater(self.acknowledged(topic) - acked_before, 3 * 2 * LINK_RECORDS_PER_SECOND,
                           "produce goes on without the follower")
        restart = self.library.restart_broker(mode="kill", broker="leader", topic=topic)
        self.assertNotIn(restart.leader, (state.leader, follower), "the other in-sync follower leads")
        time.sleep(2)
        self.assertNotIn(follower, self.library.get_partition_state(topic).isr, "still behind on its slow link")
        healing = time.monotonic()
        healed = self.library.heal_network()
        self.assertIn(follower, healed.nodes)
        self.wait_for_isr(topic, follower, inside=True, seconds=60)
        rejoined = time.monotonic() - healing
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((verdict.lost, verdict.duplicated, verdict.order_violations), (0, 0, 0))
        faults = self.library.ctx.runs[topic].history.faults
        self.assertEqual([f.kind for f in faults], ["slow", "kill"])
        self.assertEqual(faults[0].target, f"node {follower} from nodes ({BANDWIDTH})")
        print(f"\nslow follower: left the ISR {left:.1f} s after the slow-down, rejoined {rejoined:.1f} s after "
              f"healing; {verdict.acknowledged} acknowledged, 0 lost")

    def test_a_lossy_leader_loses_nothing_and_the_fault_table_shows_what_it_cost(self):
        topic = self.topic()
        self.library.start_background_producer(topic, size=100, rate=RATE)
        time.sleep(5)
        self.library.slow_down_network(broker="leader", topic=topic, loss="10%")
        time.sleep(LOSSY_SECONDS)
        self.library.heal_network()
        time.sleep(5)
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((verdict.lost, verdict.duplicated, verdict.order_violations), (0, 0, 0))
        lossy, whole, clean = fault_figures(self.library.ctx.runs[topic].history)
        self.assertRegex(lossy["kind"], r"^slow node \d from nodes \(10% loss\)$")
        self.assertEqual((whole["kind"], clean["kind"]), ("whole run", "outside faults"))
        self.assertGreater(lossy["throughput"], 0, "acks went on through the lossy link")
        # Outside the fault the producer ran as fast as the machine let it: at least half the whole run's
        # average (a fixed share of RATE failed at load average 30: 60 acks/s). The arithmetic is pinned in
        # unit_tests/fast.
        self.assertGreater(clean["throughput"], whole["throughput"] / 2)
        self.assertIsNotNone(lossy["gap"])
        print(f"\nlossy leader: {lossy['throughput']:.0f} acks/s (clean {clean['throughput']:.0f}), longest gap "
              f"{lossy['gap']:.3f} s (clean run's longest {whole['gap']:.3f} s); {verdict.acknowledged} acknowledged")

    def test_the_qdiscs_and_rules_live_in_the_nodes_namespaces_and_go_with_heal(self):
        self.library.slow_down_network(broker=2, bandwidth="1mbit", loss="5%")
        cluster = self.library.ctx.cluster
        for node_id, node in cluster.nodes.items():
            with self.subTest(node=node_id):
                self.assertIn("qdisc htb 1: dev eth0 root", node.exec(["tc", "qdisc", "show"])[1],
                              "the slowed node, and each other node towards it")
        rules = cluster.nodes[2].exec(["iptables", "-S", "KPL"])[1]
        self.assertEqual(rules.count("statistic"), 6, "three peers (2 brokers, 1 controller), both ways")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Node\(s\) 2 are slowed down already: call 'Heal "
                                                           r"Network' before the next 'Slow Down Network'\.$"):
            self.library.slow_down_network(broker=1, loss="5%")
        self.assertEqual(self.library.heal_network().nodes, sorted(cluster.nodes))
        for node_id, node in cluster.nodes.items():
            with self.subTest(node=node_id):
                self.assertNotIn("htb", node.exec(["tc", "qdisc", "show"])[1])
                self.assertNotIn("DROP", node.exec(["iptables", "-S", "KPL"])[1])

    def test_from_clients_shapes_the_client_port_only(self):
        topic = self.topic()
        leader = self.library.get_partition_state(topic).leader
        self.library.slow_down_network(broker="leader", topic=topic, bandwidth="1mbit", **{"from": "clients"})
        node = self.library.ctx.cluster.nodes[leader]
        self.assertIn("qdisc htb 1: dev eth0 root", node.exec(["tc", "qdisc", "show"])[1])
        self.assertIn("hashlimit", node.exec(["iptables", "-S", "KPL"])[1])
        self.library.produce_message(topic, "through the slow client link", timeout="30s")
        self.library.wait_until_replicas_in_sync(topic, timeout="10s")  # the other nodes still copy at full speed
        self.library.heal_network()
        self.assertNotIn("htb", node.exec(["tc", "qdisc", "show"])[1])

    def acknowledged(self, topic: str) -> int:
        return len(self.library.ctx.runs[topic].history.ack_times())
