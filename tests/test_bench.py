"""The benchmark scripts still run (on a tiny suite; timings belong in bench/, not in tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
# The code under test's ring (a cycle among a test module's own instances is test-local).
RINGS = "class Ring:\n    def __init__(self):\n        self.me = self\n"


def test_compare_runs_plain_and_guarded_and_reports_ratios(pytester: pytest.Pytester) -> None:
    """bench/compare.py alternates plain and guarded runs and prints median ratios and an outcome check."""
    pytester.makepyfile(rings=RINGS, test_tiny="from rings import Ring\n\ndef test_ring():\n    Ring()\n")
    run = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "compare.py"), str(pytester.path)),
            *("--rounds", "1", "--trace", "--allow", "rings"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("round 1 plain ") and "{'passed': 1}" in line for line in lines)
    assert any(line.startswith("round 1 guarded ") and "{'passed': 1}" in line for line in lines)
    assert any(line.startswith("round 1 traced ") and "{'passed': 1}" in line for line in lines)
    assert any(line.startswith("round 1 adopted ") and "{'passed': 1}" in line for line in lines)
    assert any(
        line.startswith("median wall: plain ")
        and " guarded " in line
        and " traced " in line
        and " adopted " in line
        and "(ratio " in line
        for line in lines
    )
    assert any(line.startswith("median peak RSS: plain ") for line in lines)
    assert "same outcomes in every run: yes (1 tests)" in lines
    assert "crashes: none" in lines


def _compare(pytester: pytest.Pytester, *args: str, crash: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), str(pytester.path), "--rounds", "1", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CRASH": crash},
    )


def test_compare_checks_the_outcome_of_every_test_not_only_the_counts(pytester: pytest.Pytester) -> None:
    """The no-regression check: a test whose outcome differs fails it, by node id, even when the counts match."""
    pytester.makepyfile(
        rings=RINGS,
        test_tiny="""
        import pytest
        from rings import Ring

        def test_ring():
            Ring()

        @pytest.fixture
        def broken():
            yield
            raise RuntimeError("teardown")

        def test_broken_teardown(broken):
            pass

        @pytest.mark.xfail(strict=True)
        def test_xfails():
            assert 0

        def test_skips():
            pytest.skip("never")
        """,
    )
    same = _compare(pytester)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "round 1 guarded " in same.stdout
    assert "{'passed': 1, 'passed+error': 1, 'skipped': 1, 'xfailed': 1}" in same.stdout
    assert "same outcomes in every run: yes (4 tests)" in same.stdout
    # Made an error in guarded runs only: the ring's warning fails test_ring's teardown.
    differ = _compare(pytester, "--", "-W", "error::pytest_gcguard.GcGuardWarning")
    assert differ.returncode == 1, differ.stdout + differ.stderr
    lines = differ.stdout.splitlines()
    assert "round 1 guarded: exit 1, 1 tests with another outcome:" in lines
    assert "    test_tiny.py::test_ring: passed -> passed+error" in lines
    assert "same outcomes in every run: NO (4 tests)" in lines


def test_compare_fails_on_an_internal_error_or_a_crash(pytester: pytest.Pytester) -> None:
    """An INTERNALERROR, or an interpreter that dies before pytest returns, in a guarded run fails the check."""
    pytester.makepyfile(test_tiny="def test_passes():\n    pass\n")
    pytester.makeconftest(
        """
        import os

        def pytest_runtest_makereport(item, call):
            if item.config.getoption("gc_guard") and os.environ["CRASH"] == "internal":
                raise RuntimeError("boom")

        def pytest_unconfigure(config):
            if config.getoption("gc_guard") and os.environ["CRASH"] == "die":
                os._exit(0)
        """
    )
    assert _compare(pytester).returncode == 0
    internal = _compare(pytester, crash="internal")
    assert internal.returncode == 1, internal.stdout + internal.stderr
    assert "CRASH: INTERNALERROR in the output" in internal.stdout
    assert "crashes: INTERNALERROR in the output" in internal.stdout.splitlines()
    died = _compare(pytester, crash="die")
    assert died.returncode == 1, died.stdout + died.stderr
    assert "crashes: the child interpreter exited (code 0) without pytest.main returning" in died.stdout.splitlines()


def _bench(*args: str) -> list[str]:
    run = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.splitlines()


def test_explainer_builds_every_chain_in_one_batched_search() -> None:
    lines = _bench(str(ROOT / "bench" / "explainer.py"), "--heap", "1000", "--objects", "5", "--alone", "1")
    assert any(line.startswith("all 5 chains in one batched search: ") for line in lines)
    assert any(line.startswith("one chain searched alone: ") for line in lines)
    assert "every chain reaches the module global: yes" in lines


def test_synthetic_bigheap_reports_the_added_time_per_idle_test() -> None:
    lines = _bench(str(ROOT / "bench" / "synthetic.py"), "bigheap", "--heap", "1000", "--tests", "5", "--rounds", "1")
    assert any(line.startswith("heap 1,000: added per idle test ") for line in lines)
    assert any(line.startswith("heap 0: added per idle test ") for line in lines)
    assert any(" round 1 guarded " in line and "{'passed': 5}" in line for line in lines)


def test_synthetic_garbage_reports_the_rss_ratio_and_exact_counts() -> None:
    lines = _bench(str(ROOT / "bench" / "synthetic.py"), "garbage", "--cycles", "5000", "--rounds", "1")
    assert any(line.startswith("median peak RSS: plain ") and " ratio " in line for line in lines)
    counted = next(line for line in lines if line.startswith("objects reported"))
    if sys.version_info >= (3, 11):  # 3.9/3.10 count instance dicts among the unanalysed objects
        assert counted.endswith("[10000], made: 10000"), counted
        assert "counts exact: yes" in lines


FAKE_VALGRIND = """#!{python}
# Stands in for valgrind: runs the command after the options and reports an
# instruction count that grows by 900 per test plain and 1,000 guarded.
import re, subprocess, sys
args = sys.argv[1:]
while args[0].startswith("--"):
    args.pop(0)
done = subprocess.run(args, capture_output=True, text=True)
sys.stdout.write(done.stdout)
passed = int(re.search(r"(\\d+) passed", done.stdout).group(1))
per_test = 1000 if "--gc-guard" in args else 900
sys.stderr.write(f"==1== I   refs:      {{5_000_000 + per_test * passed:,}}\\n")
sys.exit(done.returncode)
"""


def test_synthetic_instructions_reports_the_instructions_added_per_idle_test(tmp_path: Path) -> None:
    """The valgrind mode's plumbing, with a stand-in for valgrind: the per-test slope, plain against guarded."""
    fake = tmp_path / "valgrind"
    fake.write_text(FAKE_VALGRIND.format(python=sys.executable))
    fake.chmod(0o755)
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "synthetic.py"), "instructions", "--tests", "3,7"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "guarded       7 tests:        5,007,000 instructions" in lines, lines
    assert "instructions per idle test: plain 900, guarded 1,000, added +100 (+11.1% of plain)" in lines


def test_synthetic_instructions_needs_valgrind(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "synthetic.py"), "instructions"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PATH": str(tmp_path)},
    )
    assert run.returncode == 2
    assert "valgrind not found" in run.stdout


def test_breakdown_times_each_part_of_a_guarded_run(pytester: pytest.Pytester) -> None:
    """bench/breakdown.py: a test that drops a ring is explained and re-run (the parts say so), its body timed twice."""
    test = "import time\nfrom rings import Ring\n\ndef test_ring():\n    time.sleep(0.02)\n    Ring()\n"
    pytester.makepyfile(rings=RINGS, test_tiny=test)
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "breakdown.py"), str(pytester.path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=pytester.path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    calls = {
        line.split("  ")[1].strip(): line.rsplit("(", 1)[1]
        for line in run.stdout.splitlines()
        if line.startswith("  ") and line.endswith(" calls)")
    }
    assert calls == {
        "explain (first runs)": "1 calls)",
        "survivors": "1 calls)",
        "re-runs": "1 calls)",
        "audits": "1 calls)",
    }, run.stdout
    bodies = [line for line in run.stdout.splitlines() if line.startswith("  test bodies: ")]
    assert len(bodies) == 1, run.stdout
    first, rerun = (float(part.split()[-2]) for part in bodies[0].split(" (")[0].split(", "))
    assert first >= 0.02 and rerun >= 0.02, bodies  # each run slept 0.02 s: a lower bound, not a timing


def test_verdicts_compares_two_reports_test_by_test(tmp_path: Path) -> None:
    """bench/verdicts.py: a shape only one run failed on is a differing verdict (exit 1); the same reports agree."""

    def report(name: str, shapes: list[str]) -> str:
        findings = [{"kind": "cycle", "status": "failed", "shape": shape} for shape in shapes]
        tests = [
            {"nodeid": "t.py::a", "outcome": "error", "findings": findings},
            {"nodeid": "t.py::b", "outcome": "failed", "findings": []},  # its own failure: left out
        ]
        path = tmp_path / name
        path.write_text(json.dumps({"tests": tests}))
        return str(path)

    script = str(ROOT / "bench" / "verdicts.py")
    first, second = report("1.json", ["A .x -> (back)"]), report("2.json", ["A <attribute> -> (back)"])
    same = subprocess.run([sys.executable, script, first, first], capture_output=True, text=True, check=False)
    assert (same.returncode, same.stdout.splitlines()) == (0, ["2 tests compared, 0 with another verdict"])
    differ = subprocess.run([sys.executable, script, first, second], capture_output=True, text=True, check=False)
    assert differ.returncode == 1
    assert differ.stdout.splitlines() == [
        "2 tests compared, 1 with another verdict",
        "t.py::a: error / error",
        "  only in the first: cycle A .x -> (back)",
        "  only in the second: cycle A <attribute> -> (back)",
    ]


def test_same_findings_compares_verdicts_and_lists_numbers(tmp_path: Path) -> None:
    """bench/same-findings.py: another shape is another verdict (exit 1); a count, a label, a re-run count are not."""

    def report(
        name: str, edge: str = ".x", label: str = "<A object at 0x7f00aa>", count: int = 1, runs: int = 1
    ) -> str:
        path = [{"label": label, "type": "lib.A", "edge": edge}]
        finding = {
            "kind": "cycle",
            "status": "warned",
            "shape": f"lib.A {edge} -> (back)",
            "path": path,
            "count": count,
        }
        tests = [
            {"nodeid": "t.py::a", "outcome": "passed", "reruns": runs, "findings": [finding]},
            {"nodeid": "t.py::b", "outcome": "passed" if name == "1.json" else "failed", "findings": []},
        ]
        out = tmp_path / name
        out.write_text(json.dumps({"tests": tests, "audits": [{"at": name}]}))
        return str(out)

    def compare(*reports: str) -> subprocess.CompletedProcess[str]:
        script = str(ROOT / "bench" / "same-findings.py")
        return subprocess.run(
            [sys.executable, script, "--compare", *reports], capture_output=True, text=True, check=False
        )

    first = report("1.json")
    same = compare(first, report("2.json", label="<A object at 0x7f00bb>"))
    assert same.returncode == 0, same.stdout
    assert same.stdout.splitlines() == [
        "1 tests compared: 0 with other verdicts, 0 with other numbers only, 0 with other re-run counts",
        "left out, its own outcome differs: t.py::b (passed / failed)",
    ]
    numbers = compare(first, report("3.json", count=2, runs=3))
    assert numbers.returncode == 0, numbers.stdout
    assert numbers.stdout.splitlines()[:4] == [
        "1 tests compared: 0 with other verdicts, 1 with other numbers only, 1 with other re-run counts",
        "other numbers only: t.py::a",
        "  cycle lib.A .x -> (back): count 1 / 2",
        "other re-run counts: t.py::a (1 / 3)",
    ]
    other = compare(first, report("4.json", edge="<attribute>"))
    assert other.returncode == 1
    assert other.stdout.splitlines()[:4] == [
        "1 tests compared: 1 with other verdicts, 0 with other numbers only, 0 with other re-run counts",
        "other verdicts: t.py::a",
        "  cycle lib.A .x -> (back): 1 / 0 findings",
        "  cycle lib.A <attribute> -> (back): 0 / 1 findings",
    ]
