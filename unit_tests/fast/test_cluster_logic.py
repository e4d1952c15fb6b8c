"""Pure logic of the broker side: which node a selector means, node properties, ports, labels."""

import random
import unittest
from unittest import mock

from KafkaPersistenceLibrary import KafkaPersistenceError
from KafkaPersistenceLibrary.broker import labels, ports
from KafkaPersistenceLibrary.broker.environment import (
    Topology,
    node_properties,
    property_to_env,
    single_node_environment,
)
from KafkaPersistenceLibrary.clients.admin import PartitionState
from KafkaPersistenceLibrary.faults.selection import select

STATE = PartitionState("orders", 0, leader=2, replicas=(2, 3, 1), isr=(2, 1), leader_epoch=4)


def choose(selector, combined=False, state=STATE, brokers=(1, 2, 3), controllers=(101,)):
    return select(selector, list(brokers), list(controllers), lambda: state, lambda: 101,
                  random.Random(7), 7, combined)


class SelectionTest(unittest.TestCase):
    def test_roles(self):
        self.assertEqual(choose("leader").node_ids, [2])
        self.assertEqual(choose("follower").node_ids, [1], "an in-sync follower first")
        self.assertEqual(choose("controller").node_ids, [101])
        self.assertEqual(choose("all").node_ids, [1, 2, 3])
        self.assertEqual(choose(3).node_ids, [3])
        self.assertEqual(choose("101").node_ids, [101])

    def test_random_is_repeatable_with_its_seed(self):
        first = [choose("random").node_ids[0] for _ in range(3)]
        self.assertEqual(first, [choose("random").node_ids[0] for _ in range(3)])
        self.assertIn("seed 7", choose("random").how)

    def test_single_node_means_that_node(self):
        for selector in (None, "leader", "follower", "controller", "all", "random", 1):
            self.assertEqual(choose(selector, combined=True, brokers=(1,)).node_ids, [1])

    def test_mistakes(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^No node 7 in this cluster: brokers are 1-3, "
                                                           r"controllers 101\.$"):
            choose(7)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid broker 'leeder': use a node id, or one of"):
            choose("leeder")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^This cluster has 3 brokers: say which with broker="):
            choose(None)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^No node 2: this cluster has one node, 1\.$"):
            choose(2, combined=True, brokers=(1,))
        offline = PartitionState("orders", 0, -1, (1, 2, 3), (), 5)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Partition orders-0 has no leader now"):
            choose("leader", state=offline)
        alone = PartitionState("solo", 0, 1, (1,), (1,), 0)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Partition solo-0 has no follower"):
            choose("follower", state=alone)


class NodePropertiesTest(unittest.TestCase):
    def test_single_node_is_combined(self):
        env = single_node_environment(39092, "cluster-id")
        self.assertEqual(env["KAFKA_PROCESS_ROLES"], "broker,controller")
        self.assertEqual(env["KAFKA_ADVERTISED_LISTENERS"], "CLIENT://127.0.0.1:39092,INTERNAL://kafka-1:19092")
        self.assertEqual(env["KAFKA_DEFAULT_REPLICATION_FACTOR"], "1")
        self.assertEqual(env["KAFKA_MIN_INSYNC_REPLICAS"], "1")
        self.assertEqual(env["CLUSTER_ID"], "cluster-id")

    def test_three_brokers_with_dedicated_controllers(self):
        topology = Topology(brokers=3, controllers=3)
        nodes = topology.nodes("kpl-x")
        self.assertEqual([n.node_id for n in nodes], [101, 102, 103, 1, 2, 3])
        broker = node_properties(nodes[3], nodes, topology, 40001, {})
        self.assertEqual(broker["process.roles"], "broker")
        self.assertEqual(broker["controller.quorum.voters"],
                         "101@kpl-x-controller-101:9093,102@kpl-x-controller-102:9093,103@kpl-x-controller-103:9093")
        self.assertEqual((broker["default.replication.factor"], broker["min.insync.replicas"]), ("3", "2"))
        self.assertEqual(broker["unclean.leader.election.enable"], "false")
        controller = node_properties(nodes[0], nodes, topology, None, {})
        self.assertEqual(controller["listeners"], "CONTROLLER://0.0.0.0:9093")
        self.assertNotIn("inter.broker.listener.name", controller)

    def test_replication_defaults_follow_the_broker_count(self):
        self.assertEqual([(Topology(n, 1).replication_factor, Topology(n, 1).min_insync_replicas)
                          for n in (1, 2, 3, 5)], [(1, 1), (2, 1), (3, 2), (3, 2)])

    def test_user_properties_win(self):
        topology = Topology(3, 1)
        nodes = topology.nodes("k")
        props = node_properties(nodes[1], nodes, topology, 1, {"min.insync.replicas": "1"})
        self.assertEqual(props["min.insync.replicas"], "1")

    def test_property_names_to_environment(self):
        self.assertEqual(property_to_env("log.flush.interval.messages"), "KAFKA_LOG_FLUSH_INTERVAL_MESSAGES")
        self.assertEqual(property_to_env("listener.name.client.scram-sha-256.sasl.jaas.config"),
                         "KAFKA_LISTENER_NAME_CLIENT_SCRAM___SHA___256_SASL_JAAS_CONFIG")


class PortsTest(unittest.TestCase):
    def test_ports_are_outside_the_ephemeral_range(self):
        candidates = ports.candidate_ports((32768, 60999))
        self.assertNotIn(32768, candidates)
        self.assertNotIn(60999, candidates)
        self.assertIn(32767, candidates)
        self.assertIn(61000, candidates)
        self.assertEqual(min(candidates), ports.LOWEST)
        with mock.patch.object(ports, "ephemeral_range", return_value=(10000, 65535)):
            with self.assertRaisesRegex(KafkaPersistenceError, r"^No free port on 127.0.0.1 outside the kernel's "
                                                               r"ephemeral range 10000-65535"):
                ports.free_loopback_port()  # nothing left to choose from: says so instead of guessing

    def test_a_free_port_is_free(self):
        port = ports.free_loopback_port()
        low, high = ports.ephemeral_range()
        self.assertFalse(low <= port <= high)
        self.assertTrue(ports.is_free(port))


class LabelsTest(unittest.TestCase):
    def test_our_own_process_is_alive_and_a_dead_one_is_not(self):
        mine = labels.labels_for("suite")
        self.assertFalse(labels._orphaned(mine))
        self.assertTrue(labels._orphaned({**mine, labels.LABEL_STARTED: "1"}), "same pid, other start: reused")
        self.assertFalse(labels._orphaned({**mine, labels.LABEL_STARTED: "1", labels.LABEL_HOST: "elsewhere"}))


if __name__ == "__main__":
    unittest.main()
