"""Plain pytest against pytest --gc-guard on the same suite: interleaved rounds, median ratios,
and the no-regression check (every test has the same outcome, nothing crashes).

    python bench/compare.py --pyargs networkx.algorithms --rounds 3
    python bench/compare.py path/to/tests --rounds 5 -- -k "not slow"
    python bench/compare.py --pyargs networkx.classes --trace   # also --gc-guard-trace
    python bench/compare.py --pyargs networkx.algorithms --nogarbage   # also pytest-nogarbage
    python bench/compare.py --pyargs networkx.algorithms --allow networkx   # also with its shapes allowed

Each run is a fresh interpreter that runs ``pytest.main`` and reports its own
wall time, peak RSS (``resource.getrusage``) and the outcome of every test
(by node id), so runs do not share a heap and the ratios come from one
sitting: plain and guarded alternate, round after round, and the medians are
compared (the machines are noisy). Guarded runs use warn mode, so outcomes
stay comparable with plain runs. ``--nogarbage`` adds pytest-nogarbage, the
closest peer (its ``nogarbage`` fixture on every test, ``-o
usefixtures=nogarbage``); it errors tests by design, so its outcomes are not
compared.

The exit code is 0 only when every run gave every test the same outcome as
the first plain run (the same node ids passed, failed, errored, were skipped,
xfailed or xpassed) and no run crashed: a child that died, an INTERNALERROR,
or pytest's exit code 2 (interrupted), 3 (internal error), 4 (usage error)
or 5 (no tests collected).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any


CHILD = """
import json, resource, signal, sys, time
import pytest

# SIGINT's default handler back: a shell started in the background ignores
# SIGINT, its children inherit that, and a suite's KeyboardInterrupt tests
# (trio's) then wait forever for an interrupt that never comes.
signal.signal(signal.SIGINT, signal.default_int_handler)

class Outcomes:
    # One outcome per node id, as pytest's terminal summary counts it: the
    # setup's when it did not pass, else the call's; a failed teardown adds
    # "+error" (pytest counts such a test twice, e.g. passed and error).
    def __init__(self):
        self.tests = {}
    def pytest_runtest_logreport(self, report):
        xfail = hasattr(report, "wasxfail")
        if report.when == "teardown":
            if report.failed:
                self.tests[report.nodeid] = self.tests.get(report.nodeid, "passed") + "+error"
            return
        if report.when == "setup" and report.passed:
            return
        if report.failed:
            outcome = "error" if report.when == "setup" else "failed"
        elif report.skipped:
            outcome = "xfailed" if xfail else "skipped"
        else:
            outcome = "xpassed" if xfail else "passed"
        self.tests[report.nodeid] = outcome

outcomes = Outcomes()
start = time.perf_counter()
code = pytest.main(sys.argv[2:], plugins=[outcomes])
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    json.dump({"wall": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               "exit": int(code), "tests": outcomes.tests}, f)
"""

# pytest's exit codes that mean the run did not complete as a test run: interrupted,
# internal error, usage error, no tests collected (0 and 1 are a finished run).
CRASH_EXIT_CODES = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}


def run(python: str, args: list[str]) -> dict[str, Any]:
    """One child run: its figures and outcomes, plus ``crash`` (a reason, or None)."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as out:
        path = out.name
    try:
        with tempfile.TemporaryFile("w+") as output:
            child = subprocess.run(
                [python, "-c", CHILD, path, *args], stdout=output, stderr=subprocess.STDOUT, check=False
            )
            output.seek(0)
            internalerror = any(line.startswith("INTERNALERROR") for line in output)
        try:
            with open(path) as f:
                result: dict[str, Any] = json.load(f)
        except (OSError, ValueError):
            result = {"wall": 0.0, "maxrss_kb": 0, "exit": None, "tests": {}}
    finally:
        os.unlink(path)
    result["outcomes"] = counts(result["tests"])
    if child.returncode != 0 or result["exit"] is None:
        result["crash"] = f"the child interpreter exited (code {child.returncode}) without pytest.main returning"
    elif internalerror:
        result["crash"] = "INTERNALERROR in the output"
    elif result["exit"] in CRASH_EXIT_CODES:
        result["crash"] = f"pytest exit code {result['exit']} ({CRASH_EXIT_CODES[result['exit']]})"
    else:
        result["crash"] = None
    return result


def counts(tests: dict[str, str]) -> dict[str, int]:
    """How many tests had each outcome, e.g. {'passed': 3, 'skipped': 1}."""
    result: dict[str, int] = {}
    for outcome in tests.values():
        result[outcome] = result.get(outcome, 0) + 1
    return dict(sorted(result.items()))


def differences(reference: dict[str, str], other: dict[str, str]) -> list[str]:
    """The node ids whose outcome differs, as 'node id: reference -> other' (missing: 'not run')."""
    return [
        f"{nodeid}: {reference.get(nodeid, 'not run')} -> {other.get(nodeid, 'not run')}"
        for nodeid in sorted(reference.keys() | other.keys())
        if reference.get(nodeid) != other.get(nodeid)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Arguments after -- go to pytest, e.g. -- -k 'not slow'."
    )
    parser.add_argument("suite", nargs="?", default=None, help="test path (or a module with --pyargs)")
    parser.add_argument(
        "--pyargs", default=None, metavar="MODULE", help="run a package's tests, e.g. networkx.algorithms"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--trace", action="store_true", help="also run guarded with --gc-guard-trace (tracemalloc)")
    parser.add_argument("--nogarbage", action="store_true", help="also run pytest-nogarbage on every test")
    parser.add_argument(
        "--allow",
        default=None,
        metavar="ENTRY",
        help="also run guarded with gc_guard_allow = ENTRY (a suite that has adopted the gate: its shapes allowed)",
    )
    # Everything after "--" goes to pytest as is (argparse would take "-k" or "-W" for its own options).
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    options = parser.parse_args(argv[: len(argv) - len(extra) - 1] if "--" in argv else argv)
    target = ["--pyargs", options.pyargs] if options.pyargs else [options.suite or "."]
    common = [
        *target,
        "-p",
        "no:cacheprovider",
        "-q",
        "-p",
        "no:xdist",
        "-W",
        "ignore::pytest.PytestWarning",
        *extra,
    ]
    modes = {"plain": common, "guarded": [*common, "--gc-guard", "--gc-guard-mode=warn"]}
    if options.trace:
        modes["traced"] = [*modes["guarded"], "--gc-guard-trace"]
    if options.allow:
        modes["adopted"] = [*modes["guarded"], "-o", f"gc_guard_allow={options.allow}"]
    if options.nogarbage:
        modes["nogarbage"] = [*common, "-o", "usefixtures=nogarbage"]
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for round_ in range(options.rounds):
        for mode, args in modes.items():
            result = run(options.python, args)
            results[mode].append(result)
            crash = f" CRASH: {result['crash']}" if result["crash"] else ""
            print(
                f"round {round_ + 1} {mode:8} {result['wall']:8.2f} s {result['maxrss_kb'] / 1024:8.1f} MB "
                f"exit {result['exit']} {result['outcomes']}{crash}",
                flush=True,
            )
    wall = {mode: statistics.median(r["wall"] for r in rs) for mode, rs in results.items()}
    rss = {mode: statistics.median(r["maxrss_kb"] for r in rs) for mode, rs in results.items()}
    others = [mode for mode in modes if mode != "plain"]
    print(
        f"median wall: plain {wall['plain']:.2f} s, "
        + ", ".join(f"{m} {wall[m]:.2f} s (ratio {wall[m] / wall['plain']:.3f})" for m in others)
    )
    print(
        f"median peak RSS: plain {rss['plain'] / 1024:.1f} MB, "
        + ", ".join(f"{m} {rss[m] / 1024:.1f} MB (ratio {rss[m] / rss['plain']:.3f})" for m in others)
    )
    reference = results["plain"][0]
    same = True
    for mode, rs in results.items():
        if mode == "nogarbage":
            continue  # it fails tests by design
        for round_, result in enumerate(rs, 1):
            diff = differences(reference["tests"], result["tests"])
            if diff or result["exit"] != reference["exit"]:
                same = False
                print(f"round {round_} {mode}: exit {result['exit']}, {len(diff)} tests with another outcome:")
                for line in diff[:20]:
                    print(f"    {line}")
                if len(diff) > 20:
                    print(f"    ... and {len(diff) - 20} more")
    print(f"same outcomes in every run: {'yes' if same else 'NO'} ({len(reference['tests'])} tests)")
    crashes = [r["crash"] for rs in results.values() for r in rs if r["crash"]]
    print(f"crashes: {'none' if not crashes else '; '.join(crashes)}")
    return 0 if same and not crashes else 1


if __name__ == "__main__":
    raise SystemExit(main())
