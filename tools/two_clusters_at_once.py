"""Two 3-broker clusters at once on this machine, as pabot would run them: each kills a leader under load and
verifies with it down (issue 16, item 2; a long form, not part of CI).

    .venv/bin/python tools/two_clusters_at_once.py [--rounds 5]

Each round starts two Robot processes on two_clusters/kill_leader_and_verify.robot side by side and prints
whether each passed; the output directories are kept under /tmp for the logs of a failure.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = Path(__file__).resolve().parent / "two_clusters" / "kill_leader_and_verify.robot"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    passed = 0
    for number in range(1, rounds + 1):
        started = time.monotonic()
        outputs = [tempfile.mkdtemp(prefix=f"kpl-two-clusters-{number}-{side}-") for side in "ab"]
        processes = [subprocess.Popen([sys.executable, "-m", "robot", "--console", "none", "--outputdir", output,
                                       str(SUITE)]) for output in outputs]
        codes = [process.wait(timeout=900) for process in processes]
        passed += codes == [0, 0]
        print(f"round {number}: {'passed' if codes == [0, 0] else 'FAILED'} in {time.monotonic() - started:.0f} s "
              f"(exit codes {codes}; logs in {', '.join(outputs)})", flush=True)
    print(f"{passed} of {rounds} rounds passed")
    return 0 if passed == rounds else 1


if __name__ == "__main__":
    sys.exit(main())
