"""Consumer group arguments and the coordinator selector, without Docker (issue 17)."""

import random
import types
import unittest

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.clients.admin import PartitionState
from KafkaPersistenceLibrary.consumers.group import Commit, ConsumerGroup, GroupOptions, Protocol, StartFrom, parse_options
from KafkaPersistenceLibrary.faults.selection import role_name, select
from KafkaPersistenceLibrary.keywords.targets import check_coordinated, select_nodes

NOT_ASKED = PartitionState("t", 0, 1, (1, 2, 3), (1, 2, 3), 0)


class GroupArgumentTest(unittest.TestCase):
    def refused(self, message: str, **arguments):
        given = {"members": 1, "commit": "after-processing", "processing": 0.0, "isolation": "read_uncommitted",
                 "protocol": "classic", "start_from": "earliest", "session_timeout": 10.0, **arguments}
        with self.assertRaises(KafkaPersistenceError) as raised:
            parse_options(**given)
        self.assertEqual(str(raised.exception), message)

    def test_each_bad_argument_is_one_line(self):
        self.refused("Invalid members 0: a group needs at least 1 member.", members=0)
        self.refused("Invalid commit 'sometimes': use one of after-processing, before-processing, auto.",
                     commit="sometimes")
        self.refused("Invalid protocol 'new': use one of classic, consumer.", protocol="new")
        self.refused("Invalid start_from 'middle': use one of earliest, latest.", start_from="middle")
        self.refused("Invalid isolation 'none': use one of read_uncommitted, read_committed.", isolation="none")
        self.refused("Invalid processing -1 s: give the time one record takes, or 0.", processing=-1.0)
        self.refused("Invalid session_timeout 1 s: Kafka's brokers accept 6 s to 5 min by default.",
                     session_timeout=1.0)

    def test_either_spelling_is_read(self):
        options = parse_options(2, "Before_Processing", 0.05, "read-committed", "CONSUMER", "latest", 10.0)
        self.assertEqual((options.commit, options.protocol, options.start_from),
                         (Commit.BEFORE_PROCESSING, Protocol.CONSUMER, StartFrom.LATEST))

    def test_the_client_gets_a_session_timeout_only_with_the_classic_protocol(self):
        self.assertEqual(GroupOptions(protocol=Protocol.CLASSIC).client_config()["session.timeout.ms"], 10000)
        self.assertNotIn("session.timeout.ms", GroupOptions(protocol=Protocol.CONSUMER).client_config())

    def test_start_background_consumer_refuses_members_0_before_anything_starts(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid members 0: a group needs at least 1 member\.$"):
            KafkaPersistenceLibrary().start_background_consumer("t", group="g", members=0)


class MemberSelectorTest(unittest.TestCase):
    def setUp(self):
        self.group = ConsumerGroup.__new__(ConsumerGroup)  # no processes, no directory: only the selector
        self.group.group, self.group.options, self.group.random = "billing", GroupOptions(members=3), random.Random(4)

    def test_numbers_random_and_all(self):
        self.assertEqual(self.group.members("2"), [2])
        self.assertEqual(self.group.members("all"), [1, 2, 3])
        self.assertIn(self.group.members("random")[0], (1, 2, 3))

    def test_a_member_that_does_not_exist(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Group 'billing' has no member 4: it has members 1-3\.$"):
            self.group.members(4)
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Invalid member 'first': use a member number \(1-3\)"):
            self.group.members("first")


class CoordinatorSelectorTest(unittest.TestCase):
    def choose(self, coordinator):
        return select("coordinator", [1, 2, 3], [101], lambda: NOT_ASKED, lambda: 101, random.Random(1), 1, False,
                      coordinator)

    def test_the_coordinator_is_asked_and_remembered_by_what_it_coordinates(self):
        selection = self.choose(lambda: (2, "group billing"))
        self.assertEqual((selection.node_ids, selection.role), ([2], "coordinator of group billing"))
        self.assertEqual(role_name("coordinator", None, 0, "group billing"), "coordinator of group billing")

    def test_without_group_or_transactional_id(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^broker=coordinator needs what it coordinates"):
            self.choose(None)

    def test_coordinator_arguments_are_checked_whatever_the_cluster(self):
        """Before, a one-node cluster took every one of these and faulted its node (the keyword probe): a test
        written there passed, then failed on three brokers."""
        refused = {
            (None, "billing", None): "group= names what broker=coordinator coordinates, and broker= is not given: "
                                     "add broker=coordinator, or drop group=",
            ("leader", None, "tx-1"): "transactional_id= names what broker=coordinator coordinates, and broker= is "
                                      "leader: add broker=coordinator, or drop transactional_id=",
            ("coordinator", "billing", "tx-1"): "broker=coordinator takes group= or transactional_id=, not both.",
            ("coordinator", None, ""): "broker=coordinator needs what it coordinates: give group= (a consumer group) "
                                       "or transactional_id=.",
        }
        for (broker, group, transactional_id), message in refused.items():
            with self.subTest(broker=broker, group=group, transactional_id=transactional_id):
                with self.assertRaises(KafkaPersistenceError) as raised:
                    check_coordinated(broker, group, transactional_id)
                self.assertEqual(str(raised.exception), message)
        check_coordinated("coordinator", None, "tx-1")
        check_coordinated(1, None, None)

    def test_a_one_node_cluster_refuses_them_too(self):
        one_node = types.SimpleNamespace(brokers=[types.SimpleNamespace(node_id=1)], controllers=[], single_node=True)
        context = types.SimpleNamespace(random=random.Random(1), seed=1)
        self.assertEqual(select_nodes(context, one_node, "coordinator", None, 0, group="billing").node_ids, [1])
        with self.assertRaisesRegex(KafkaPersistenceError, r"^group= names what broker=coordinator coordinates"):
            select_nodes(context, one_node, None, None, 0, group="billing")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^broker=coordinator takes group= or transactional_id="):
            select_nodes(context, one_node, "coordinator", None, 0, group="billing", transactional_id="tx-1")


if __name__ == "__main__":
    unittest.main()
