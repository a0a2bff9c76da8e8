"""The explainer's shortcuts change the cost, never the findings: compare them on a real suite (issue 17).

    python bench/same-findings.py --pyargs networkx.algorithms
    python bench/same-findings.py tests -- -p no:randomly
    python bench/same-findings.py --compare full.json optimised.json

Runs the suite under ``--gc-guard --gc-guard-mode=warn`` in fresh
interpreters: once with every shortcut off (the private variable
``_PYTEST_GCGUARD_EXPLAIN_FULLY=1``, engine/shapes.py), once as it is by
default, and with ``--twice`` once more without the shortcuts; then
compares the JSON reports test by test.  Compared: each test's outcome and
every finding, field by field.  A test whose re-run count alone differs is
listed and does not count: how many re-runs a leak suspect takes is a cost,
and the explaining can change it (an explanation that keeps an object alive
while it is counted).  Left out: object labels (reprs carry memory
addresses; addresses elsewhere are blanked) and the heap audits (they run
when the frozen heap has grown, and before a slow test's re-run: by time,
not by test).  Exits 1 and lists the tests whose findings differ.  Tests
whose own outcome differs between the runs (flaky tests) are listed apart
and do not count; with ``--twice``, so do the tests whose findings differ
between the two runs without the shortcuts (a suite whose threads' timing
decides what is garbage when: trio's).
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


def compare(first_path: str, second_path: str, again_path: str | None = None) -> int:
    """``again_path``: the first run made once more; the tests whose findings differ there are the suite's own noise."""
    first, second = tests_of(first_path), tests_of(second_path)
    only = sorted(first.keys() ^ second.keys())
    flaky = sorted(n for n in first.keys() & second.keys() if first[n].get("outcome") != second[n].get("outcome"))
    if again_path is not None:
        again = tests_of(again_path)
        noisy = sorted(n for n in first.keys() & again.keys() if _without_reruns(first[n]) != _without_reruns(again[n]))
        print(f"{len(noisy)} tests whose findings differ between two runs of the same code (left out):")
        for nodeid in noisy:
            print(f"  {nodeid}")
        flaky = sorted({*flaky, *noisy})
    common = sorted(n for n in first.keys() & second.keys() if n not in flaky)
    differ = [n for n in common if _without_reruns(first[n]) != _without_reruns(second[n])]
    print(f"{len(common)} tests compared, {len(differ)} with other findings")
    for nodeid in differ:
        print(f"{nodeid}:")
        for line in _differences(first[nodeid], second[nodeid]):
            print(f"  {line}")
    for nodeid in common:
        runs = first[nodeid].get("reruns"), second[nodeid].get("reruns")
        if nodeid not in differ and runs[0] != runs[1]:
            print(f"the same findings, other re-run counts: {nodeid} ({runs[0]} / {runs[1]})")
    for nodeid in flaky:
        print(f"left out, its own outcome differs: {nodeid} ({first[nodeid]['outcome']} / {second[nodeid]['outcome']})")
    for nodeid in only:
        print(f"left out, in one report only: {nodeid}")
    return 1 if differ else 0


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
