"""Plain pytest against pytest --gc-guard on the same suite: interleaved rounds, median ratios.

    python bench/compare.py --pyargs networkx.algorithms --rounds 3
    python bench/compare.py path/to/tests --rounds 5 -- -k "not slow"
    python bench/compare.py --pyargs networkx.classes --trace   # also --gc-guard-trace

Each run is a fresh interpreter that runs ``pytest.main`` and reports its own
wall time and peak RSS (``resource.getrusage``), so runs do not share a heap
and the ratios come from one sitting: plain and guarded alternate, round
after round, and the medians are compared (the machines are noisy).
Guarded runs use warn mode, so outcomes stay comparable with plain runs.
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
import json, resource, sys, time
import pytest

class Outcomes:
    def __init__(self):
        self.counts = {}
    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            key = "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome
            self.counts[key] = self.counts.get(key, 0) + 1

outcomes = Outcomes()
start = time.perf_counter()
code = pytest.main(sys.argv[2:], plugins=[outcomes])
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    json.dump({"wall": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               "exit": int(code), "outcomes": outcomes.counts}, f)
"""


def run(python: str, args: list[str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as out:
        path = out.name
    try:
        subprocess.run(
            [python, "-c", CHILD, path, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        with open(path) as f:
            result: dict[str, Any] = json.load(f)
        return result
    finally:
        os.unlink(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", nargs="?", default=None, help="test path (or a module with --pyargs)")
    parser.add_argument(
        "--pyargs", default=None, metavar="MODULE", help="run a package's tests, e.g. networkx.algorithms"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--trace", action="store_true", help="also run guarded with --gc-guard-trace (tracemalloc)")
    parser.add_argument("extra", nargs="*", help="more pytest arguments, after --")
    options = parser.parse_args(argv)
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
        *options.extra,
    ]
    modes = {"plain": common, "guarded": [*common, "--gc-guard", "--gc-guard-mode=warn"]}
    if options.trace:
        modes["traced"] = [*modes["guarded"], "--gc-guard-trace"]
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for round_ in range(options.rounds):
        for mode, args in modes.items():
            result = run(options.python, args)
            results[mode].append(result)
            print(
                f"round {round_ + 1} {mode:8} {result['wall']:8.2f} s {result['maxrss_kb'] / 1024:8.1f} MB "
                f"exit {result['exit']} {result['outcomes']}",
                flush=True,
            )
    wall = {mode: statistics.median(r["wall"] for r in rs) for mode, rs in results.items()}
    rss = {mode: statistics.median(r["maxrss_kb"] for r in rs) for mode, rs in results.items()}
    same = all(r["outcomes"] == results["plain"][0]["outcomes"] for rs in results.values() for r in rs)
    others = [mode for mode in modes if mode != "plain"]
    print(
        f"median wall: plain {wall['plain']:.2f} s, "
        + ", ".join(f"{m} {wall[m]:.2f} s (ratio {wall[m] / wall['plain']:.3f})" for m in others)
    )
    print(
        f"median peak RSS: plain {rss['plain'] / 1024:.1f} MB, "
        + ", ".join(f"{m} {rss[m] / 1024:.1f} MB (ratio {rss[m] / rss['plain']:.3f})" for m in others)
    )
    print(f"same outcomes in every run: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
