"""Pure logic of Consume Should Equal: which differences fail at once, and their wording."""

import unittest

from KafkaPersistenceLibrary.clients.records import Record
from KafkaPersistenceLibrary.comparison import compare


def record(value, offset, partition=0):
    data = value.encode() if isinstance(value, str) else value  # None stays None: a tombstone
    return Record("t", partition, offset, None, data, (), 0)


class CompareTest(unittest.TestCase):
    def test_equal_values_match(self):
        self.assertTrue(compare("t", ["a", "b"], [record("a", 0), record("b", 1)]).matches)

    def test_bytes_expected_compare_raw(self):
        self.assertTrue(compare("t", [b"\xff\x00"], [record(b"\xff\x00", 0)]).matches)

    def test_missing_topic_may_still_appear(self):
        result = compare("t", ["a"], None)
        self.assertFalse(result.matches)
        self.assertTrue(result.can_still_match)
        self.assertEqual(result.explanation, "Topic 't' does not exist; expected 1 record(s): 'a'.")

    def test_empty_topic_says_so(self):
        result = compare("t", ["a", "b"], [])
        self.assertEqual(result.explanation, "Topic 't' is empty; expected 2 record(s): 'a', 'b'.")

    def test_too_few_is_worth_waiting_for(self):
        result = compare("t", ["a", "b"], [record("a", 0)])
        self.assertFalse(result.matches)
        self.assertTrue(result.can_still_match)
        self.assertEqual(result.explanation.splitlines(), [
            "Topic 't' holds 1 record(s), expected 2: 1 match, 0 differ, 1 missing, 0 extra. First differences:",
            "  #1  missing   expected 'b'",
        ])
        self.assertIn("  #0  ok        'a' at partition 0 offset 0", result.table)

    def test_too_many_fails_at_once(self):
        result = compare("t", ["a"], [record("a", 0), record("b", 1)])
        self.assertFalse(result.can_still_match)
        self.assertIn("  #1  extra     found 'b' at partition 0 offset 1", result.explanation)

    def test_different_value_fails_at_once_with_position(self):
        result = compare("t", ["a", "b"], [record("a", 0), record("x", 1, partition=0)])
        self.assertFalse(result.can_still_match)
        self.assertEqual(result.explanation.splitlines()[0],
                         "Topic 't' holds 2 record(s), expected 2: 1 match, 1 differ, 0 missing, 0 extra. "
                         "First differences:")
        self.assertIn("  #1  differs   expected 'b', found 'x' at partition 0 offset 1", result.explanation)

    def test_one_difference_among_many_leads_the_message(self):
        expected = [f"v-{i}" for i in range(100)]
        expected[50] = "WRONG"
        result = compare("t", expected, [record(f"v-{i}", i) for i in range(100)])
        lines = result.explanation.splitlines()
        self.assertEqual(lines, [
            "Topic 't' holds 100 record(s), expected 100: 99 match, 1 differ, 0 missing, 0 extra. First differences:",
            "  #50  differs   expected 'WRONG', found 'v-50' at partition 0 offset 50",
        ])
        self.assertEqual(len(result.table.splitlines()), 100)

    def test_many_differences_are_cut_after_ten(self):
        result = compare("t", [f"x-{i}" for i in range(30)], [record(f"v-{i}", i) for i in range(30)])
        lines = result.explanation.splitlines()
        self.assertEqual(len(lines), 12)
        self.assertEqual(lines[-1], "  ... and 20 more (the full table is in the log)")

    def test_tombstone_expected_as_none(self):
        self.assertTrue(compare("t", [None], [record(None, 0)]).matches)
        self.assertFalse(compare("t", ["None"], [record(None, 0)]).matches)
        self.assertFalse(compare("t", [None], [record("x", 0)]).matches)

    def test_long_values_are_cut_in_messages(self):
        result = compare("t", ["y" * 5000], [record("x" * 5000, 0)])
        self.assertLess(len(result.explanation), 400)
        self.assertIn("(5000 chars)", result.explanation)


if __name__ == "__main__":
    unittest.main()
