"""A replicated cluster (3 brokers, 1 controller, RF 3, min ISR 2): failover keeps acknowledged records,
and the verdict catches loss where a configuration really loses data.

Every loss here is made for real by Kafka itself (acks=1 and a leader that dies
alone with its records, an unclean election), never by faking the read-back.
"""

import time
import unittest

from KafkaPersistenceLibrary import KafkaPersistenceError, VerificationFailed
from KafkaPersistenceLibrary.clients.admin import partition_states

from .broker_case import BrokerTestCase, ClusterTestCase


class ReplicatedClusterTest(ClusterTestCase):

    def test_start_kafka_returns_every_brokers_address(self):
        bootstrap = self.library.get_bootstrap_servers()
        self.assertRegex(bootstrap, r"^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$")
        nodes = self.library.get_brokers()
        self.assertEqual([(n.id, n.roles, n.state) for n in nodes],
                         [(1, "broker", "running"), (2, "broker", "running"), (3, "broker", "running"),
                          (101, "controller", "running")])
        state = self.library.get_partition_state(self.topic())
        self.assertEqual((len(state.replicas), len(state.isr)), (3, 3))

    def test_create_topic_returns_once_every_broker_knows_it(self):
        """Each broker learns of a new topic after the controller; the next keyword may ask any of them."""
        cluster = self.library.ctx.cluster
        for _ in range(5):
            name = self.topic(partitions=3)
            for node_id in (1, 2, 3):
                states = partition_states(cluster.connection, name, 10, ask=[node_id])
                self.assertIsNotNone(states, f"broker {node_id} knows {name}")
                self.assertTrue(all(state.leader >= 0 for state in states), states)

    def test_mistakes_on_a_cluster(self):
        cases = [
            (lambda: self.library.restart_broker(broker="leader"),
             r"^broker=leader needs the partition it leads or follows: give topic="),
            (lambda: self.library.stop_broker("leader", topic="no-such-topic"),
             r"^Topic 'no-such-topic' does not exist on 127\.0\.0\.1:\d+.*: no leader to choose\.$"),
            (lambda: self.library.restart_broker(broker=7),
             r"^No node 7 in this cluster: brokers are 1-3, controllers 101\.$"),
            (lambda: self.library.restart_broker(),
             r"^This cluster has 3 brokers: say which with broker=, a node id \(1-3\) or one of"),
            (lambda: self.library.start_broker(2), r"^'Start Broker' on node 2, which is running, not stopped"),
            (lambda: self.library.resume_broker(2), r"^'Resume Broker' on node 2, which is running, not paused"),
            (lambda: self.library.resume_broker("all"), r"^No node is paused: 'Resume Broker' undoes what"),
        ]
        for call, expected in cases:
            with self.subTest(expected=expected), self.assertRaisesRegex(KafkaPersistenceError, expected):
                call()

    def test_leader_kills_and_bounces_lose_nothing_with_acks_all(self):
        topic = self.topic(partitions=1)
        self.library.start_background_producer(topic, rate=300)
        leaders = []
        for mode in ["kill", "graceful"] * 5:
            restart = self.library.restart_broker(mode=mode, broker="leader", topic=topic)
            self.assertNotEqual(restart.leader, restart.node, "another replica leads after the fault")
            leaders.append(restart.node)
            self.library.wait_until_replicas_in_sync(topic)
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertGreater(verdict.acknowledged, 1000)
        self.assertEqual((verdict.lost, verdict.duplicated, verdict.order_violations, verdict.offset_mismatches),
                         (0, 0, 0, 0))
        faults = self.library.ctx.runs[topic].history.faults
        self.assertEqual([f.target for f in faults], [f"node {n}" for n in leaders], "the timeline names each node")
        self.assertGreater(len(set(leaders)), 1, "the leader moved between brokers")

    def lose_records_only_the_leader_held(self, topic: str, acks: str) -> float:
        """Pause both followers, write, kill the leader and resume the followers; returns how long they were paused."""
        self.library.produce_records(topic, 100)  # acknowledged by all three
        self.library.wait_until_replicas_in_sync(topic)
        leader = self.library.get_partition_state(topic).leader
        self.library.pause_broker("followers", topic=topic)
        window = time.monotonic()
        self.library.produce_records(topic, 3000, acks=acks, timeout="1s")
        self.library.stop_broker(leader, mode="kill")
        self.library.resume_broker("all")
        window = time.monotonic() - window
        new_leader = self.library.wait_until_partition_has_leader(topic)
        self.assertNotEqual(new_leader, leader)
        self.library.start_broker(leader)  # it returns as a follower and truncates what only it held
        self.library.wait_until_replicas_in_sync(topic)
        return window

    def test_acks_1_loses_records_when_the_leader_dies_alone(self):
        topic = self.topic()
        window = self.lose_records_only_the_leader_held(topic, acks="1")
        self.assertLess(window, 2.5, "followers paused longer than the session timeout are fenced: no loss to show")
        with self.assertRaisesRegex(VerificationFailed, r"^FAIL: \d+ acknowledged records lost") as failed:
            self.library.verify_no_acknowledged_records_lost(topic)
        counts = failed.exception.counts
        self.assertEqual(counts["acknowledged"], 3100, "the leader acknowledged every one of them")
        self.assertGreater(counts["lost"], 1000)
        self.assertEqual(counts["read"], counts["acknowledged"] - counts["lost"])

    def test_acks_all_loses_nothing_in_the_same_steps(self):
        topic = self.topic()
        self.lose_records_only_the_leader_held(topic, acks="all")  # however long the pause: nothing acked is lost
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual(verdict.lost, 0)
        self.assertEqual(verdict.acknowledged, 100, "sends that only the leader could take were never acknowledged")

    def test_unclean_election_loses_what_the_old_leader_acknowledged(self):
        topic = self.topic(**{"min.insync.replicas": "1", "unclean.leader.election.enable": "true"})
        stale = self.stop_followers_then_write_then_stop_the_leader(topic)
        self.library.start_broker(stale)
        self.assertEqual(self.library.wait_until_partition_has_leader(topic), stale, "an out-of-sync replica leads")
        self.library.start_broker("all")
        self.library.wait_until_replicas_in_sync(topic)
        with self.assertRaisesRegex(VerificationFailed, r"^FAIL: 500 acknowledged records lost") as failed:
            self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((failed.exception.counts["acknowledged"], failed.exception.counts["read"]), (600, 100))

    def test_without_unclean_election_the_partition_waits_for_its_leader(self):
        topic = self.topic(**{"min.insync.replicas": "1"})
        stale = self.stop_followers_then_write_then_stop_the_leader(topic)
        self.library.start_broker(stale)
        with self.assertRaisesRegex(KafkaPersistenceError, rf"^Partition {topic}-0 has no leader after 5 s"):
            self.library.wait_until_partition_has_leader(topic, timeout="5s")
        self.library.start_broker("all")
        self.library.wait_until_partition_has_leader(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((verdict.acknowledged, verdict.lost), (600, 0))

    def stop_followers_then_write_then_stop_the_leader(self, topic: str) -> int:
        """Returns a follower that missed the 500 records the leader acknowledged alone."""
        self.library.produce_records(topic, 100)
        self.library.wait_until_replicas_in_sync(topic)
        state = self.library.get_partition_state(topic)
        self.library.stop_broker("followers", topic=topic)
        self.assertEqual(self.library.get_partition_state(topic).isr, [state.leader])
        sent = self.library.produce_records(topic, 500)
        self.assertEqual(sent.acknowledged, 500, "min.insync.replicas=1: the lone leader acknowledges")
        self.library.stop_broker(state.leader)
        return state.followers[0]

    def test_two_of_three_down_fails_sends_and_loses_nothing(self):
        topic = self.topic()
        self.library.produce_records(topic, 100)
        self.library.wait_until_replicas_in_sync(topic)
        self.library.stop_broker("followers", topic=topic)
        started = time.monotonic()
        with self.assertRaisesRegex(KafkaPersistenceError,
                                    rf"^Record to topic '{topic}' was not acknowledged within 5 s: not enough in-sync "
                                    rf"replicas: partition {topic}-0 has ISR \[\d\], fewer than min.insync.replicas=2"):
            self.library.produce_message(topic, "refused", timeout="5s")
        self.assertLess(time.monotonic() - started, 9, "within its timeout, plus the diagnosis")
        sent = self.library.produce_records(topic, 200, timeout="5s")
        self.assertEqual(sent.acknowledged, 0)
        self.assertEqual(sent.failed + sent.unknown, 200)
        self.library.start_broker("all")
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertEqual((verdict.acknowledged, verdict.lost, verdict.unknown_read + verdict.failed_but_read),
                         (100, 0, 0))


class ControllerQuorumTest(BrokerTestCase):
    """Three dedicated controllers, a real quorum: the active one crashes under load and another takes over."""

    START = {"brokers": 3, "controllers": 3}

    def setUp(self):
        self.addCleanup(self.leave_every_node_running)

    def test_killing_the_active_controller_and_a_random_broker_loses_nothing(self):
        topic = self.topic()
        self.library.create_topic(topic)
        self.library.start_background_producer(topic, rate=300)
        first = self.library.restart_broker(mode="kill", broker="controller")
        second = self.library.restart_broker(mode="kill", broker="controller")
        self.assertIn(first.node, [101, 102, 103])
        self.assertIn(second.node, [101, 102, 103])
        self.assertNotEqual(second.node, first.node, "the quorum elected another controller after the first kill")
        chosen = self.library.restart_broker(mode="graceful", broker="random")
        self.assertIn(chosen.node, [1, 2, 3], "random chooses among brokers, not controllers")
        self.library.stop_background_producer(topic)
        verdict = self.library.verify_no_acknowledged_records_lost(topic)
        self.assertGreater(verdict.acknowledged, 300)
        self.assertEqual((verdict.lost, verdict.duplicated, verdict.order_violations), (0, 0, 0))

    def test_get_brokers_says_which_node_is_stopped_or_paused(self):
        self.library.stop_broker(1, mode="kill")
        self.library.pause_broker(2)
        states = {node.id: node.state for node in self.library.get_brokers()}
        self.assertEqual(states, {1: "stopped", 2: "paused", 3: "running",
                                  101: "running", 102: "running", 103: "running"})


if __name__ == "__main__":
    unittest.main()
