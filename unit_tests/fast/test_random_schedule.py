"""The random fault schedule's pure parts: one seed, one schedule; arguments refused in one line."""

import random
import unittest

from KafkaPersistenceLibrary import KafkaPersistenceError, KafkaPersistenceLibrary
from KafkaPersistenceLibrary.faults.registry import KINDS
from KafkaPersistenceLibrary.faults.schedule import Draw, Schedule, Span, parse_kinds

KILL, PAUSE, ISOLATE, POWER_LOSS = KINDS["kill"], KINDS["pause"], KINDS["isolate"], KINDS["power-loss"]


class ScheduleTest(unittest.TestCase):
    def test_one_seed_gives_the_same_schedule(self):
        def draws(seed):
            schedule = Schedule(seed, [KILL, PAUSE, ISOLATE], Span(3, 8), Span(1, 4))
            return [schedule.next() for _ in range(50)]

        self.assertEqual(draws(4711), draws(4711))
        self.assertNotEqual(draws(4711), draws(4712))

    def test_draws_stay_in_their_ranges_and_use_every_kind(self):
        schedule = Schedule(1, list(KINDS.values()), Span(3, 8), Span(1, 4))
        draws = [schedule.next() for _ in range(500)]
        self.assertTrue(all(3 <= d.wait <= 8 and 1 <= d.hold <= 4 and 0 <= d.pick < 1 for d in draws))
        self.assertEqual({d.kind.name for d in draws}, set(KINDS))

    def test_a_draw_picks_among_sorted_candidates(self):
        self.assertEqual(Draw(1, KILL, 0.0, 1).node([1, 2, 3]), 1)
        self.assertEqual(Draw(1, KILL, 0.999, 1).node([1, 2, 3]), 3)
        self.assertIsNone(Draw(1, KILL, 0.5, 1).node([]))
        picks = [Draw(1, KILL, random.Random(s).random(), 1).node([1, 2, 3]) for s in range(300)]
        self.assertEqual(set(picks), {1, 2, 3})

    def test_spans_and_kinds(self):
        self.assertEqual(Span.parse("3s..8s", "interval"), Span(3, 8))
        self.assertEqual(Span.parse("5", "interval"), Span(5, 5))
        self.assertEqual(Span.parse("1 min .. 2 min", "interval"), Span(60, 120))
        self.assertEqual(str(Span(3, 8)), "3s..8s")
        self.assertEqual(parse_kinds("kill, Power_Loss,kill"), [KILL, POWER_LOSS])


class RandomFaultArgumentsTest(unittest.TestCase):
    """Mistakes are refused before the library touches Docker (no engine is needed here)."""

    def test_mistakes(self):
        library = KafkaPersistenceLibrary()
        cases = [
            (dict(kinds="kill,explode"),
             "Invalid fault kind 'explode': use one of kill, graceful, pause, power-loss, isolate."),
            (dict(kinds=" , "), "Invalid kinds ' , ': name at least one of kill, graceful, pause, power-loss, "
                                "isolate, separated by commas."),
            (dict(interval="soon"), "Invalid interval 'soon': use a number of seconds or a time string like '10s' "
                                    "or '1 min'."),
            (dict(interval="8s..3s"), "Invalid interval '8s..3s': the range must go from low to high."),
            (dict(interval="1s..2s..3s"), "Invalid interval '1s..2s..3s': give a time like '5s' or a range like "
                                          "'3s..8s'."),
            (dict(duration="0s"), "Invalid duration '0s': it must be more than zero, or it can never be met."),
            (dict(broker="everyone"), "Invalid broker 'everyone': use one of any, leaders, followers, controllers."),
        ]
        for arguments, message in cases:
            with self.subTest(**arguments), self.assertRaises(KafkaPersistenceError) as raised:
                library.start_random_faults(**arguments)
            self.assertEqual(str(raised.exception), message)

    def test_stop_without_start(self):
        with self.assertRaisesRegex(KafkaPersistenceError, r"^No random faults are running: start them with"):
            KafkaPersistenceLibrary().stop_random_faults()


if __name__ == "__main__":
    unittest.main()
