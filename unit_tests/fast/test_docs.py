"""The keyword documentation is the product's face: every keyword has an example,
and the committed libdoc (docs/) matches the code.

Regenerate with:  python -m robot.libdoc KafkaPersistenceLibrary docs/KafkaPersistenceLibrary.html
             and  python -m robot.libdoc --specdocformat RAW KafkaPersistenceLibrary docs/KafkaPersistenceLibrary.json
"""

import json
import re
import unittest
from pathlib import Path

from robot.libdoc import LibraryDocumentation
from robot.libdocpkg.htmlutils import DocFormatter

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


class RenderedDocsTest(unittest.TestCase):
    """The docs as libdoc renders them (Robot's doc format): no mark a reader should not see.

    Robot's format reads ``*x*`` as bold, ``_x_`` as italic and `x` as a link,
    so ``| *** Settings ***`` shows ``* Settings *``, a backtick left unpaired
    shifts every pair after it, and a `name` that is no keyword or section is
    shown in italics as a link to nothing.
    """

    CODE_LIKE = re.compile(r"[=_/*`.]")

    @classmethod
    def setUpClass(cls):
        library = LibraryDocumentation("KafkaPersistenceLibrary", doc_format="ROBOT")
        formatter = DocFormatter(library.keywords, library.doc, library.doc_format)  # what libdoc's HTML uses
        cls.rendered = [("the introduction", formatter.html(library.doc))]
        cls.rendered += [(f"importing {i.name}", formatter.html(i.doc)) for i in library.inits]
        cls.rendered += [(f"'{kw.name}'", formatter.html(kw.doc)) for kw in library.keywords]

    def test_no_stray_marks(self):
        for where, html in self.rendered:
            with self.subTest(where):
                self.assertEqual(marks(html), [], f"{where} shows marks a reader should not see")

    def test_the_check_sees_the_marks(self):
        formatter = DocFormatter([], "", "ROBOT")
        for doc in ("| *** Settings ***", "of ``topic=``/``partition=``", "`No Such Keyword` observe",
                    "a stray ` here", "a *broker=x* setting", "_acks=all_"):
            with self.subTest(doc):
                self.assertNotEqual(marks(formatter.html(doc)), [])


def marks(html: str) -> list[str]:
    """What Robot's formatter left or made that a reader should not see, each with a little context."""
    found = [f"markup inside code: {m.group(0)}" for m in re.finditer(r"<code>[^<]*<(?!/code>).*?</code>", html)]
    found += [f"a link to nothing: {m.group(0)}" for m in re.finditer(r'<span class="name">.*?</span>', html)]
    for m in re.finditer(r"<(b|i)>(.*?)</\1>", html, re.S):
        if not re.search(r"[A-Za-z]", m.group(2)) or RenderedDocsTest.CODE_LIKE.search(m.group(2)):
            found.append(f"bold or italic around code or marks: {m.group(0)}")
    text = re.sub(r"<[^>]+>", "", re.sub(r"<code>.*?</code>", "", html, flags=re.S))
    found += [f"a stray {m.group(0)}: ...{text[max(0, m.start() - 30):m.end() + 30]}..."
              for m in re.finditer(r"[*`]", text)]
    return found


if __name__ == "__main__":
    unittest.main()
