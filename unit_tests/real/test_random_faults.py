"""Random fault schedules on a real cluster: one seed repeats the same faults on the same nodes; what the
cluster cannot do, and what would race the schedule, is refused in one line."""

import time

from KafkaPersistenceLibrary import KafkaPersistenceError

from .broker_case import BrokerTestCase

WAIT_SECONDS = 120


class RandomFaultsTest(BrokerTestCase):
    START = {"brokers": 3}

    def setUp(self):
        self.addCleanup(self.stop_random_faults_if_running)

    def stop_random_faults_if_running(self):
        if self.library.ctx.random_faults is not None:
            self.library.stop_random_faults()

    def run_schedule(self, faults: int, **arguments) -> list[tuple[str, int]]:
        """Start a schedule, let ``faults`` faults run, stop it; the (kind, node) of each fault that ran."""
        self.library.start_random_faults(**arguments)
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.library.ctx.random_faults.ran) < faults + 1 and time.monotonic() < deadline:
            time.sleep(0.2)  # the fault after the last one counted has begun: those before it are whole
        schedule = self.library.stop_random_faults()
        self.assertEqual([f.error for f in schedule.faults], [""] * len(schedule.faults))
        self.assertGreaterEqual(len(schedule.faults), faults)
        return [(f.kind, f.node) for f in schedule.faults][:faults]

    def test_one_seed_repeats_the_same_faults_on_the_same_nodes(self):
        arguments = dict(kinds="kill,pause,graceful,isolate", interval="0.2s..1s", duration="0.5s..1s", seed=11)
        first = self.run_schedule(4, **arguments)
        second = self.run_schedule(4, **arguments)
        self.assertEqual(first, second)
        self.assertGreater(len({node for _, node in first}), 1, f"several nodes were chosen: {first}")
        self.assertEqual({n.state for n in self.library.get_brokers()}, {"running"})

    def test_what_the_cluster_cannot_do_and_what_would_race_it(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^This cluster cannot make power-loss faults: it needs "
                                                           r"the power-loss filesystem: 'Start Kafka    "
                                                           r"power_loss=True'\.$"):
            self.library.start_random_faults(kinds="kill,power-loss")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^broker=leaders needs the partitions they lead or "
                                                           r"follow: give topic=, or start a producer first\.$"):
            self.library.start_random_faults(broker="leaders")
        self.library.start_random_faults(interval="1h")
        with self.assertRaisesRegex(KafkaPersistenceError, r"^Random faults are already running"):
            self.library.start_random_faults()
        for call, name in ((lambda: self.library.restart_broker(broker=1), "Restart Broker"),
                           (lambda: self.library.pause_broker(1), "Pause Broker"),
                           (self.library.heal_network, "Heal Network")):
            with self.subTest(name), self.assertRaisesRegex(
                    KafkaPersistenceError, rf"^Random faults are running: call 'Stop Random Faults' before '{name}'"):
                call()
        self.assertEqual(self.library.stop_random_faults().faults, [])
