"""Synthetic suites: a big heap with idle tests, and one test dropping a million cycles.

    python bench/synthetic.py bigheap               # 2 M-object heap, 1,000 idle tests
    python bench/synthetic.py garbage               # one test, 1 M two-object cycles
    python bench/synthetic.py bigheap --heap 1000 --tests 20 --rounds 1   # tiny (smoke test)

    python bench/synthetic.py instructions          # the same idle tests, instructions counted by valgrind

bigheap: a conftest builds ``--heap`` tracked objects at import; ``--tests``
idle tests run plain and guarded, interleaved for ``--rounds`` rounds.  Each
test's time is taken inside the session (around ``pytest_runtest_protocol``,
which holds gc-guard's window), so the one-time costs of a session -- the
first full collection, the final unfreeze -- are not spread over the tests;
they are printed apart.  The added time per idle test is the guarded median
minus the plain median (goal <= 0.05 ms); the same with an empty heap shows
whether it depends on the heap's size.

instructions: the idle suite (empty heap) runs under valgrind's cachegrind
with ``--tests`` of, say, 200 and 1,000 tests, plain and guarded; the
difference between the two sizes, per test, is what one idle test costs in
instructions -- a count that does not move with the machine's load, where
the wall time of a test moves by more than gc-guard adds.  Needs valgrind
(``apt-get install valgrind``); PYTHONHASHSEED is fixed.  gc-guard's heap
audits are spaced in wall time, which valgrind stretches fifty-fold, so the
suite's conftest spaces them out of the run (they are not per-test work).

garbage: one test makes ``--cycles`` two-object cycles in a loop (automatic
collection on).  Prints peak RSS guarded/plain (goal <= 1.05, at most 1.10)
and checks that the report counts every object: analysed plus "freed without
being analysed" equals the objects the test made (on 3.11+, where an
instance's attributes are not a separate dict; 3.9/3.10 count the dicts too).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import run


TIMER = """
import json, os, time
import pytest

_times = []
_start = time.perf_counter()

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        _times.append(time.perf_counter() - start)

def pytest_unconfigure(config):
    with open(os.environ["BENCH_TIMES"], "w") as f:
        json.dump({"tests": _times, "session": time.perf_counter() - _start}, f)
"""

HEAP = """
HEAP = [[i] for i in range({n})]  # tracked objects alive for the whole session
"""

IDLE = """
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_idle(i):
    pass
"""

# Node is the code under test's (a module of its own): a cycle among a test
# module's own instances would be test-local.
NODES = """
class Node:
    def __init__(self):
        self.other = None
"""

GARBAGE = """
from nodes import Node


def test_cycles():
    for _ in range({n}):
        a, b = Node(), Node()
        a.other, b.other = b, a
"""

COMMON = ["-p", "no:cacheprovider", "-q", "-p", "no:xdist", "-W", "ignore::pytest.PytestWarning"]
GUARDED = ["--gc-guard", "--gc-guard-mode=warn"]


def timed(python: str, args: list[str]) -> dict[str, Any]:
    """One run; per-test times from inside the session."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as out:
        path = out.name
    os.environ["BENCH_TIMES"] = path
    try:
        result = run(python, args)
        with open(path) as f:
            result.update(json.load(f))
        return result
    finally:
        os.unlink(path)


def bigheap(options: argparse.Namespace) -> int:
    added = {}
    for heap in (options.heap, 0):
        with tempfile.TemporaryDirectory() as directory:
            suite = Path(directory)
            (suite / "conftest.py").write_text(TIMER + HEAP.format(n=heap))
            (suite / "test_idle.py").write_text(IDLE.format(n=options.tests))
            runs: dict[str, list[dict[str, Any]]] = {"plain": [], "guarded": []}
            for round_ in range(options.rounds):
                for mode, extra in (("plain", []), ("guarded", GUARDED)):
                    result = timed(options.python, [str(suite), *COMMON, *extra])
                    runs[mode].append(result)
                    median_ms = statistics.median(result["tests"][1:]) * 1000
                    print(
                        f"heap {heap:>9,} round {round_ + 1} {mode:8} session {result['session']:6.2f} s, "
                        f"median test {median_ms:.4f} ms, first test {result['tests'][0] * 1000:.1f} ms, "
                        f"outcomes {result['outcomes']}",
                        flush=True,
                    )
        per_test = {
            mode: statistics.median(statistics.median(r["tests"][1:]) for r in rs) * 1000 for mode, rs in runs.items()
        }
        mean = {
            mode: statistics.median(sum(r["tests"][1:]) / (len(r["tests"]) - 1) for r in rs) * 1000
            for mode, rs in runs.items()
        }
        added[heap] = per_test["guarded"] - per_test["plain"]
        # The same, round by round: a run's median moves with the machine's
        # load more than gc-guard adds; the two runs of a round are neighbours.
        paired = statistics.median(
            statistics.median(g["tests"][1:]) - statistics.median(p["tests"][1:])
            for p, g in zip(runs["plain"], runs["guarded"])
        )
        print(
            f"heap {heap:,}: added per idle test {added[heap]:+.4f} ms (median; goal <= 0.05 ms), "
            f"mean {mean['guarded'] - mean['plain']:+.4f} ms, median of the rounds' differences {paired * 1000:+.4f} ms"
        )
        same = all(r["outcomes"] == {"passed": options.tests} for rs in runs.values() for r in rs)
        if not same:
            print("outcomes differ: NO")
            return 1
    print(
        f"added per idle test, {options.heap:,}-object heap against an empty one: "
        f"{added[options.heap]:+.4f} ms against {added[0]:+.4f} ms"
    )
    return 0


NO_AUDITS = """
import pytest_gcguard.audits
pytest_gcguard.audits.AUDIT_MIN_GROWTH = 10**12  # idle tests grow nothing; this keeps it so
"""


def instructions(options: argparse.Namespace) -> int:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind not found: install it (apt-get install valgrind)")
        return 2
    small, large = options.tests
    counts: dict[tuple[str, int], int] = {}
    with tempfile.TemporaryDirectory() as directory:
        for size in (small, large):
            suite = Path(directory) / f"idle{size}"
            suite.mkdir()
            (suite / "conftest.py").write_text(NO_AUDITS)
            (suite / "test_idle.py").write_text(IDLE.format(n=size))
            for mode, extra in (("plain", []), ("guarded", GUARDED)):
                out = Path(directory) / f"cachegrind.{mode}.{size}"
                tool = [valgrind, "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}"]
                done = subprocess.run(
                    [*tool, options.python, "-m", "pytest", str(suite), *COMMON, *extra],
                    capture_output=True,
                    text=True,
                    env={**os.environ, "PYTHONHASHSEED": "0"},
                    check=False,
                    cwd=directory,
                )
                found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
                if done.returncode != 0 or found is None:
                    print(
                        f"{mode} run of {size} tests failed (exit code {done.returncode}):\n{done.stdout}{done.stderr}"
                    )
                    return 1
                counts[mode, size] = int(found.group(1).replace(",", ""))
                print(f"{mode:8} {size:>6,} tests: {counts[mode, size]:>16,} instructions", flush=True)
    per_test = {mode: (counts[mode, large] - counts[mode, small]) / (large - small) for mode in ("plain", "guarded")}
    added = per_test["guarded"] - per_test["plain"]
    print(
        f"instructions per idle test: plain {per_test['plain']:,.0f}, guarded {per_test['guarded']:,.0f}, "
        f"added {added:+,.0f} ({added / per_test['plain']:+.1%} of plain)"
    )
    return 0


def _sizes(text: str) -> tuple[int, int]:
    small, large = (int(part) for part in text.split(","))
    if not 0 < small < large:
        raise argparse.ArgumentTypeError("two sizes, the smaller first: 200,1000")
    return small, large


def garbage(options: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as directory:
        suite = Path(directory)
        (suite / "nodes.py").write_text(NODES)
        (suite / "test_garbage.py").write_text(GARBAGE.format(n=options.cycles))
        report = suite / "report.json"
        rss: dict[str, list[float]] = {"plain": [], "guarded": []}
        counted = []
        for round_ in range(options.rounds):
            for mode, extra in (("plain", []), ("guarded", [*GUARDED, f"--gc-guard-report={report}"])):
                result = run(options.python, [str(suite), *COMMON, *extra])
                rss[mode].append(result["maxrss_kb"] / 1024)
                print(
                    f"round {round_ + 1} {mode:8} {result['wall']:6.2f} s {result['maxrss_kb'] / 1024:7.1f} MB "
                    f"outcomes {result['outcomes']}",
                    flush=True,
                )
                if mode == "guarded":
                    (test,) = json.loads(report.read_text())["tests"]
                    analysed = sum(f["objects"] for f in test["findings"] if f["kind"] == "cycle")
                    counted.append(analysed + test.get("unsaved", 0))
    ratio = statistics.median(rss["guarded"]) / statistics.median(rss["plain"])
    print(
        f"median peak RSS: plain {statistics.median(rss['plain']):.1f} MB, "
        f"guarded {statistics.median(rss['guarded']):.1f} MB, ratio {ratio:.3f} (goal <= 1.05, at most 1.10)"
    )
    expected = 2 * options.cycles
    exact = all(n == expected for n in counted)
    print(f"objects reported (analysed + freed without analysis): {counted}, made: {expected}")
    if sys.version_info >= (3, 11):
        print(f"counts exact: {'yes' if exact else 'NO'}")
        return 0 if exact else 1
    print("counts: 3.9/3.10 count instance dicts among the unanalysed objects; not compared")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--python", default=sys.executable)
    shared.add_argument("--rounds", type=int, default=3)
    commands = parser.add_subparsers(dest="command", required=True)
    big = commands.add_parser("bigheap", parents=[shared], help="idle tests on a big heap: added time per test")
    big.add_argument("--heap", type=int, default=2_000_000)
    big.add_argument("--tests", type=int, default=1000)
    heavy = commands.add_parser(
        "garbage", parents=[shared], help="one test dropping many cycles: peak RSS and exact counts"
    )
    heavy.add_argument("--cycles", type=int, default=1_000_000)
    counted = commands.add_parser(
        "instructions", parents=[shared], help="idle tests under valgrind: instructions added per test"
    )
    counted.add_argument("--tests", type=_sizes, default=(200, 1000), metavar="SMALL,LARGE")
    options = parser.parse_args(argv)
    commands_ = {"bigheap": bigheap, "garbage": garbage, "instructions": instructions}
    return commands_[options.command](options)


if __name__ == "__main__":
    raise SystemExit(main())
