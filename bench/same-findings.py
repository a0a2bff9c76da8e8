"""The explainer's shortcuts change the cost, never a verdict: compare them on a real suite (issue 17).

    python bench/same-findings.py --pyargs networkx.algorithms
    python bench/same-findings.py tests -- -p no:randomly
    python bench/same-findings.py --compare full.json optimised.json

Runs the suite under ``--gc-guard --gc-guard-mode=warn`` in fresh
interpreters (``PYTHONHASHSEED=0``): once with every shortcut off (the
private variable ``_PYTEST_GCGUARD_EXPLAIN_FULLY=1``, engine/shapes.py),
once as it is by default, and with ``--twice`` once more without the
shortcuts; then compares the JSON reports test by test.  A test's verdicts
are its outcome and, for each finding, its kind, shape, status, fingerprint
and origin: a test whose verdicts differ makes the exit code 1.  Its numbers
(a finding's count, objects and hangers-on, the window's unsaved objects)
and re-run count are compared too and listed, but do not count: they move
with when the collector runs and, in suites that iterate over sets of
objects hashed by address (networkx), with the addresses our own
allocations leave to the suite.  Object labels are left out (reprs carry
memory addresses; addresses elsewhere are blanked), and so are the heap
audits (they run when the frozen heap has grown, and before a slow test's
re-run: by time, not by test).  Tests whose own outcome differs between
the runs (flaky tests) are left out; with ``--twice``, so are the tests
whose verdicts differ between the two runs without the shortcuts (a suite
whose threads' timing decides what is garbage when: trio's).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


EXPLAIN_FULLY = "_PYTEST_GCGUARD_EXPLAIN_FULLY"
COMMON = ["-p", "no:cacheprovider", "-q", "-p", "no:xdist", "-W", "ignore::pytest.PytestWarning"]
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+|(?<=memory:)[0-9a-fA-F]+")


def normalised(value: Any) -> Any:
    """A finding without its object labels, memory addresses blanked."""
    if isinstance(value, dict):
        return {key: normalised(item) for key, item in value.items() if key != "label"}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    if isinstance(value, str):
        return _ADDRESS.sub("ADDR", value)
    return value


def tests_of(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as report:
        data: dict[str, Any] = json.load(report)
    return {test["nodeid"]: normalised(test) for test in data.get("tests", [])}


def _without_reruns(test: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in test.items() if key != "reruns"}


def _differences(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """What differs between two tests' entries: fields, and findings by kind and shape, field by field."""
    lines = [
        f"{key}: {first.get(key)!r} / {second.get(key)!r}"
        for key in sorted(first.keys() | second.keys())
        if key not in ("findings", "reruns") and first.get(key) != second.get(key)
    ]

    def by_shape(test: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for finding in test.get("findings", []):
            found.setdefault((finding.get("kind", ""), finding.get("shape", "")), []).append(finding)
        return found

    ones, others = by_shape(first), by_shape(second)
    for key in sorted(ones.keys() | others.keys()):
        a, b = ones.get(key, []), others.get(key, [])
        if a == b:
            continue
        title = f"{key[0]} {key[1][:100]}"
        if len(a) != 1 or len(b) != 1:
            lines.append(f"{title}: {len(a)} / {len(b)} findings")
            continue
        fields = sorted(k for k in a[0].keys() | b[0].keys() if a[0].get(k) != b[0].get(k))
        lines.append(f"{title}: " + ", ".join(f"{k} {a[0].get(k)!r} / {b[0].get(k)!r}" for k in fields))
    return lines


# What a finding's verdict is made of; its numbers (count, objects, kept_alive) and path labels are not.
VERDICT = ("kind", "shape", "status", "fingerprint", "origin", "origin_name", "allocated_in")


def verdicts(test: dict[str, Any]) -> tuple[Any, ...]:
    """A test's outcome and its findings' verdicts (as many as it has findings)."""
    findings = sorted(json.dumps([f.get(key) for key in VERDICT]) for f in test.get("findings", []))
    return (test.get("outcome"), findings)


def compare(first_path: str, second_path: str, again_path: str | None = None) -> int:
    """Exit code 1 when a test's verdicts differ.

    ``again_path``: the first run made once more; tests whose verdicts differ
    between it and the first run are the suite's own noise, left out.
    """
    first, second = tests_of(first_path), tests_of(second_path)
    only = sorted(first.keys() ^ second.keys())
    both = sorted(first.keys() & second.keys())
    flaky = [n for n in both if first[n].get("outcome") != second[n].get("outcome")]
    noisy: list[str] = []
    if again_path is not None:
        again = tests_of(again_path)
        noisy = [n for n in both if n in again and n not in flaky and verdicts(first[n]) != verdicts(again[n])]
    common = [n for n in both if n not in flaky and n not in noisy]
    other_verdicts = [n for n in common if verdicts(first[n]) != verdicts(second[n])]
    numbers = [n for n in common if n not in other_verdicts and _without_reruns(first[n]) != _without_reruns(second[n])]
    reruns = [n for n in common if first[n].get("reruns") != second[n].get("reruns")]
    print(
        f"{len(common)} tests compared: {len(other_verdicts)} with other verdicts, "
        f"{len(numbers)} with other numbers only, {len(reruns)} with other re-run counts"
    )
    for title, nodeids in (("other verdicts", other_verdicts), ("other numbers only", numbers)):
        for nodeid in nodeids:
            print(f"{title}: {nodeid}")
            for line in _differences(first[nodeid], second[nodeid]):
                print(f"  {line}")
    for nodeid in reruns:
        print(f"other re-run counts: {nodeid} ({first[nodeid].get('reruns')} / {second[nodeid].get('reruns')})")
    for nodeid in noisy:
        print(f"left out, other verdicts between two runs of the same code: {nodeid}")
    for nodeid in flaky:
        print(f"left out, its own outcome differs: {nodeid} ({first[nodeid]['outcome']} / {second[nodeid]['outcome']})")
    for nodeid in only:
        print(f"left out, in one report only: {nodeid}")
    return 1 if other_verdicts else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", nargs="?", default=None)
    parser.add_argument("--pyargs", default=None, metavar="MODULE")
    parser.add_argument("--compare", nargs=2, metavar="REPORT", help="compare two reports made already")
    parser.add_argument(
        "--twice", action="store_true", help="run without the shortcuts twice: what differs there is the suite's noise"
    )
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    options = parser.parse_args(argv[: len(argv) - len(extra) - 1] if "--" in argv else argv)
    if options.compare:
        return compare(*options.compare)
    target = ["--pyargs", options.pyargs] if options.pyargs else [options.suite or "."]
    with tempfile.TemporaryDirectory() as directory:
        reports = []
        runs = [("full", "1"), ("optimised", "")] + ([("full again", "1")] if options.twice else [])
        for name, fully in runs:
            report = str(Path(directory) / f"{name.replace(' ', '-')}.json")
            # One hash seed for every run: set order decides which paths a graph algorithm takes.
            env = {"PYTHONHASHSEED": "0", **os.environ, EXPLAIN_FULLY: fully}
            args = [*target, *COMMON, *extra, "--gc-guard", "--gc-guard-mode=warn", f"--gc-guard-report={report}"]
            done = subprocess.run([sys.executable, "-m", "pytest", *args], env=env, check=False, capture_output=True)
            if done.returncode not in (0, 1) or not os.path.exists(report):
                print(f"the {name} run failed (exit code {done.returncode}):\n{done.stdout.decode()[-3000:]}")
                return 2
            print(f"{name} run: exit code {done.returncode}", flush=True)
            reports.append(report)
        return compare(*reports[:2], *reports[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
