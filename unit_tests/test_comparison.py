"""Pure logic of Consume Should Equal: which differences fail at once, and their wording."""

import unittest

from KafkaPersistenceLibrary.comparison import compare
from KafkaPersistenceLibrary.kafka_client import Record


def record(value, offset, partition=0):
    data = value.encode() if isinstance(value, str) else value
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
            "Topic 't' holds 1 record(s), expected 2:",
            "  #0  ok        'a' at partition 0 offset 0",
            "  #1  missing   expected 'b'",
        ])

    def test_too_many_fails_at_once(self):
        result = compare("t", ["a"], [record("a", 0), record("b", 1)])
        self.assertFalse(result.can_still_match)
        self.assertIn("  #1  extra     found 'b' at partition 0 offset 1", result.explanation)

    def test_different_value_fails_at_once_with_position(self):
        result = compare("t", ["a", "b"], [record("a", 0), record("x", 1, partition=0)])
        self.assertFalse(result.can_still_match)
        self.assertEqual(result.explanation.splitlines()[0], "Topic 't' holds 2 record(s), expected 2 with other values:")
        self.assertIn("  #1  differs   expected 'b', found 'x' at partition 0 offset 1", result.explanation)

    def test_long_values_are_cut_in_messages(self):
        result = compare("t", ["y" * 5000], [record("x" * 5000, 0)])
        self.assertLess(len(result.explanation), 400)
        self.assertIn("(5000 chars)", result.explanation)


if __name__ == "__main__":
    unittest.main()
