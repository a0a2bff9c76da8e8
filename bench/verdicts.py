"""Compare two gc-guard JSON reports of the same suite test by test: do the verdicts agree?

    python bench/verdicts.py seed1.json seed2.json

For each test in both reports: its outcome and the set of its failing
findings (kind and shape).  Tests whose own outcome differs (the suite's own
order dependence: one passes, the other fails on its own) are left out,
unless one run passed and the other failed only on gc-guard's verdict.
Prints the differing tests with the shapes only one side has, and exits 1
if there is any.  Used for "the same verdict under another test order"
(docs/real-suites.md): run a suite twice with ``--randomly-seed=N``.
"""

from __future__ import annotations

import json
import sys
from typing import Any


Verdict = tuple[str, frozenset[tuple[str, str]]]
FAILING = ("failed", "warned")


def verdicts(path: str) -> dict[str, Verdict]:
    with open(path, encoding="utf-8") as report:
        data: dict[str, Any] = json.load(report)
    return {
        test["nodeid"]: (
            test.get("outcome", ""),
            frozenset(
                (finding.get("kind", ""), finding.get("shape", ""))
                for finding in test.get("findings", [])
                if finding.get("status") in FAILING
            ),
        )
        for test in data.get("tests", [])
    }


def comparable(a: Verdict, b: Verdict) -> bool:
    """Same outcome, or passed against an error (gc-guard's failure is an error at teardown)."""
    return a[0] == b[0] or {a[0], b[0]} <= {"passed", "error"}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    first, second = (verdicts(path) for path in argv)
    common = sorted(nodeid for nodeid in first.keys() & second.keys() if comparable(first[nodeid], second[nodeid]))
    differ = [nodeid for nodeid in common if first[nodeid] != second[nodeid]]
    print(f"{len(common)} tests compared, {len(differ)} with another verdict")
    for nodeid in differ:
        a, b = first[nodeid], second[nodeid]
        print(f"{nodeid}: {a[0]} / {b[0]}")
        for kind, shape in sorted(a[1] - b[1]):
            print(f"  only in the first: {kind} {shape}")
        for kind, shape in sorted(b[1] - a[1]):
            print(f"  only in the second: {kind} {shape}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
