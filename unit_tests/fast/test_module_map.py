"""README's module map (Development) names every module of the library, so a reader finds each room."""

import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ModuleMapTest(unittest.TestCase):
    def test_every_module_is_in_the_map(self):
        section = (ROOT / "README.md").read_text().split("## Development", 1)[1]
        package = ROOT / "KafkaPersistenceLibrary"
        modules = [path for path in package.rglob("*.py")
                   if path.stem not in ("__init__", "__main__") and "image" not in path.relative_to(package).parts]
        self.assertGreater(len(modules), 40)
        missing = [str(path.relative_to(ROOT)) for path in modules if path.stem not in section]
        self.assertEqual(missing, [], "name these modules in README's Development map")


if __name__ == "__main__":
    unittest.main()
