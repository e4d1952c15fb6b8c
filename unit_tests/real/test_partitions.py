"""Network partitions through the keywords: a leader cut off from its peers but not from clients.

With acks=all the isolated leader cannot acknowledge (its followers cannot copy),
the others elect a new leader, and after healing nothing acknowledged is lost.
With acks=1 it keeps acknowledging what nobody else has; after healing it
truncates those records, and the verdict reports them lost.
"""

import time
import unittest
import uuid

import confluent_kafka

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary, VerificationFailed

from .broker_case import BrokerTestCase

CUT_SECONDS = 8  # well past broker.session.timeout.ms (3 s): the controller fences the leader and elects another
DIRECT_SEND_SECONDS = 4


class PartitionTest(BrokerTestCase):
    START = {"brokers": 3}

    def setUp(self):
        self.addCleanup(self.library.heal_network)

    def topic(self) -> str:
        name = f"{self._testMethodName}-{uuid.uuid4().hex[:6]}"
        self.library.create_topic(name)
        self.library.produce_records(name, 100)
        self.library.wait_until_replicas_in_sync(name)
        return name

    def isolate_the_leader_under_load(self, topic: str, acks: str) -> int:
        leader = self.library.get_partition_state(topic).leader
        self.library.start_background_producer(topic, rate=300, acks=acks)
        time.sleep(1)
        isolated = self.library.isolate_broker("leader", topic=topic)
        cut_at = time.monotonic()
        self.assertEqual(isolated.node, leader)
        self.sent_to_the_isolated_leader = self.send_directly(leader, topic, acks)
        time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)))
        state = self.library.get_partition_state(topic)
        self.assertNotEqual(state.leader, leader, "the others elected a new leader")
        self.library.heal_network()
        self.library.wait_until_replicas_in_sync(topic)
        time.sleep(1)
        self.library.stop_background_producer(topic)
        return leader

    def send_directly(self, node_id: int, topic: str, acks: str) -> "str | None":
        """One record through a client that knows only this node (its stale view: "I lead"); None if acknowledged."""
        producer = confluent_kafka.Producer({
            "bootstrap.servers": self.library.ctx.cluster.nodes[node_id].address, "acks": acks,
            "enable.idempotence": False, "message.timeout.ms": DIRECT_SEND_SECONDS * 1000, "log_level": 0})
        outcome = []
        producer.produce(topic, b"sent to the isolated leader alone", on_delivery=lambda e, _m: outcome.append(e))
        producer.flush(DIRECT_SEND_SECONDS + 5)
        return "no delivery report" if not outcome else None if outcome[0] is None else outcome[0].str()

    def test_isolated_leader_loses_nothing_with_acks_all(self):
        topic = self.topic()
        leader = self.isolate_the_leader_under_load(topic, "all")
        self.assertIsNotNone(self.sent_to_the_isolated_leader,
                             "cut off from its followers, the old leader cannot acknowledge acks=all")
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((verdict.lost, verdict.duplicated, verdict.order_violations), (0, 0, 0))
        self.assertGreater(verdict.acknowledged, 100)
        faults = self.library.ctx.runs[topic].history.faults
        self.assertEqual([(f.kind, f.target) for f in faults], [("isolate", f"node {leader} from nodes")],
                         "the timeline shows the partition")
        self.assertIsNotNone(faults[0].up_at)

    def test_isolated_leader_loses_acks_1_records(self):
        topic = self.topic()
        self.isolate_the_leader_under_load(topic, "1")
        self.assertIsNone(self.sent_to_the_isolated_leader, "with acks=1 it acknowledges alone: the split brain")
        with self.assertRaisesRegex(VerificationFailed, r"^FAIL: \d+ acknowledged records lost") as failed:
            self.library.verify_no_acknowledged_records_lost(topic)
        self.assertGreater(failed.exception.counts["lost"], 0)

    def test_isolated_from_clients_still_replicates(self):
        topic = self.topic()
        leader = self.library.get_partition_state(topic).leader
        follower = next(i for i in (1, 2, 3) if i != leader)
        self.library.isolate_broker(follower, **{"from": "clients"})
        # A client that picks the unreachable broker for a metadata request waits out its connection
        # timeout (~10 s in kafka-python) before it tries another: as any client would.
        self.library.produce_message(topic, "replicated to the cut-off follower", timeout="40s")
        self.library.wait_until_replicas_in_sync(topic, timeout="10s")
        self.assertIn(follower, self.library.get_partition_state(topic).isr)
        self.library.heal_network()

    def test_the_rules_live_in_the_nodes_namespace_and_go_with_heal(self):
        self.library.isolate_broker(2)
        node = self.library.ctx.cluster.nodes[2]
        code, rules = node.exec(["iptables", "-S", "KPL"])
        self.assertEqual(code, 0)
        self.assertEqual(rules.count("-j DROP"), 6, "three peers (2 brokers, 1 controller), both ways")
        self.library.heal_network()
        self.assertNotIn("DROP", node.exec(["iptables", "-S", "KPL"])[1])

    def test_mistakes(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid from 'everyone': use one of nodes, clients\.$"):
            self.library.isolate_broker(1, **{"from": "everyone"})
        with self.assertRaisesRegex(KafkaPersistenceError, r"^'Isolate Broker' takes from=nodes or from=clients, "
                                                           r"not form=\.$"):
            self.library.isolate_broker(1, form="nodes")


class SingleNodePartitionTest(unittest.TestCase):
    def test_one_node_can_be_cut_from_clients_only(self):
        library = KafkaPersistenceLibrary()
        self.addCleanup(library.stop_kafka)
        library.start_kafka()
        with self.assertRaisesRegex(KafkaPersistenceError, r"^A single node has no other node to be cut off from"):
            library.isolate_broker()
        library.produce_message("cut", "before")
        library.isolate_broker(**{"from": "clients"})
        started = time.monotonic()
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Record to topic 'cut' was not acknowledged within 3 s"):
            library.produce_message("cut", "while cut", timeout="3s")
        self.assertLess(time.monotonic() - started, 10)
        library.heal_network()
        library.produce_message("cut", "after")
        self.assertEqual([r.value for r in library.read_messages("cut")][-1], "after")


if __name__ == "__main__":
    unittest.main()
