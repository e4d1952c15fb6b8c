"""Every fault kind in the code's own registry has keywords, docs, a README row and a timeline colour.

Adding a kind (a module in faults/kinds/) without them fails here.
"""

import unittest
from pathlib import Path

from robot.libdoc import LibraryDocumentation

from KafkaPersistenceLibrary.faults.fault import Need
from KafkaPersistenceLibrary.faults.registry import KINDS, kind

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def readme_fault_rows() -> list[str]:
    """First cells of the rows of README's table under 'Faults, and what each one proves'."""
    section = README.split("## Faults, and what each one proves", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| fault |")]
    return [row.split(" | ")[0][2:] for row in rows if not set(row) <= {"|", "-", " "}]


class FaultKindsTest(unittest.TestCase):
    def setUp(self):
        spec = LibraryDocumentation("KafkaPersistenceLibrary", doc_format="ROBOT").to_dictionary()
        self.docs = {k["name"]: k["doc"] for k in spec["keywords"]}
        self.intro = spec["doc"]

    def test_the_registry_finds_every_kind(self):
        self.assertEqual(list(KINDS), ["kill", "graceful", "pause", "power-loss", "isolate", "slow", "clock",
                                       "disk-full", "disk-error", "disk-slow", "upgrade"])

    def test_each_kind_has_keywords_that_document_it(self):
        for fault in KINDS.values():
            with self.subTest(kind=fault.name):
                self.assertTrue(fault.keywords)
                for name in fault.keywords:
                    self.assertIn(name, self.docs, f"{fault.name}: no keyword {name}")
                own = [name for name in fault.keywords if name != "Start Random Faults"]
                self.assertTrue(any(f"``{fault.name}``" in self.docs[name] or fault.name in name.lower()
                                    for name in own), f"no keyword of its own ({own}) documents ``{fault.name}``")
                if fault.random:
                    self.assertIn(f"``{fault.name}``", self.docs["Start Random Faults"])

    def test_each_kind_has_a_readme_row_and_each_row_a_kind(self):
        rows = readme_fault_rows()
        self.assertEqual(sorted(rows), sorted(fault.readme for fault in KINDS.values()))

    def test_each_kind_has_a_colour_of_its_own(self):
        colours = [fault.colour for fault in KINDS.values()]
        for colour in colours:
            self.assertRegex(colour, r"^#[0-9a-f]{6}$")
        self.assertEqual(len(set(colours)), len(colours))

    def test_needs_say_what_to_do(self):
        class Plain:
            power_loss, network_name, description, nodes = False, None, "the cluster at x:9092", {1: object()}

        self.assertEqual(Need.FILESYSTEM.why_not(Plain()),
                         "it needs the power-loss filesystem: 'Start Kafka    power_loss=True'")
        self.assertEqual(Need.PRIVATE_NETWORK.why_not(Plain()),
                         "it needs a cluster the library started, and the cluster at x:9092 is not one")
        self.assertEqual(Need.NOTHING.why_not(Plain()), "")
        self.assertEqual(kind("Power_Loss").name, "power-loss")
        with self.assertRaisesRegex(Exception, r"^Invalid fault kind 'flood': use one of kill, graceful, pause, "
                                               r"power-loss, isolate, slow, clock, disk-full, disk-error, disk-slow, "
                                               r"upgrade\.$"):
            kind("flood")


if __name__ == "__main__":
    unittest.main()
