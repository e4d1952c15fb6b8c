"""The keyword documentation is the product's face: every keyword has an example,
and the committed libdoc (docs/) matches the code.

Regenerate with:  python -m robot.libdoc KafkaPersistenceLibrary docs/KafkaPersistenceLibrary.html
             and  python -m robot.libdoc --specdocformat RAW KafkaPersistenceLibrary docs/KafkaPersistenceLibrary.json
"""

import json
import unittest
from pathlib import Path

from robot.libdoc import LibraryDocumentation

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "regenerate docs/ with the two commands in unit_tests/fast/test_docs.py's docstring (see README)"


def essentials(spec: dict) -> dict:
    """What a reader sees: texts and signatures, not paths, line numbers or dates."""
    return {
        "doc": spec["doc"],
        "version": spec["version"],
        "inits": [(i["doc"], [a["repr"] for a in i["args"]]) for i in spec["inits"]],
        "keywords": {k["name"]: (k["doc"], [a["repr"] for a in k["args"]]) for k in spec["keywords"]},
    }


class DocsTest(unittest.TestCase):
    def setUp(self):
        self.current = LibraryDocumentation("KafkaPersistenceLibrary", doc_format="ROBOT").to_dictionary()

    def test_every_keyword_has_an_example(self):
        for keyword in self.current["keywords"]:
            with self.subTest(keyword=keyword["name"]):
                self.assertIn("\n| ", keyword["doc"], "each keyword doc needs an example table")

    def test_committed_spec_is_current(self):
        committed = json.loads((DOCS / "KafkaPersistenceLibrary.json").read_text())
        self.assertEqual(essentials(committed), essentials(self.current), REGENERATE)

    def test_committed_html_names_every_keyword(self):
        html = (DOCS / "KafkaPersistenceLibrary.html").read_text()
        for keyword in self.current["keywords"]:
            self.assertTrue(keyword["name"] in html, f"{keyword['name']} is missing: {REGENERATE}")


if __name__ == "__main__":
    unittest.main()
