"""--gc-guard-trace: where each finding's objects were allocated (issue 8, acceptance 1 and 2)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


ROOT = Path(__file__).resolve().parents[1]

LIB = """
class Graph:
    def __init__(self, name):
        self.name = name
        self.next = None

    def __repr__(self):
        return f"Graph({self.name!r})"


def make_ring():
    one = Graph("one")  # site: one
    two = Graph("two")  # site: two
    three = Graph("three")  # site: three
    one.next, two.next, three.next = two, three, one
    return one


REGISTRY = []


class Handler:
    pass


def register():
    REGISTRY.append(Handler())  # site: first
    REGISTRY.append(Handler())  # site: first-again
    REGISTRY.extend([Handler() for _ in range(2)])  # site: comprehension
"""

TESTS = """
import lib


def test_ring():
    lib.make_ring()


def test_leak():
    lib.register()
"""


def line_of(tag: str) -> int:
    """The line of LIB marked ``# site: tag`` (so the tests follow edits of LIB)."""
    for number, line in enumerate(LIB.strip().splitlines(), start=1):  # makepyfile strips
        if line.endswith(f"# site: {tag}"):
            return number
    raise AssertionError(tag)


@pytest.fixture
def traced(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> Callable[..., pytest.RunResult]:
    pytester.makepyfile(lib=LIB, test_it=TESTS)
    return guarded


def test_a_cycle_names_each_members_allocation_line(traced: Callable[..., pytest.RunResult]) -> None:
    result = traced("--gc-guard-trace")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*Graph('one') --.next--> Graph('two') --.next--> Graph('three') --.next--> Graph('one')",
            "    allocated at:",
            f"      Graph('one')    lib.py:{line_of('one')} in make_ring",
            f"      Graph('two')    lib.py:{line_of('two')} in make_ring",
            f"      Graph('three')  lib.py:{line_of('three')} in make_ring",
        ]
    )
    # The summary carries the sites too.
    sites = ", ".join(f"lib.py:{line_of(tag)} in make_ring" for tag in ("one", "two", "three"))
    result.stdout.fnmatch_lines(["*gc-guard summary*", "*", f"      allocated at {sites}"])


def test_a_path_after_the_flag_is_a_test_path(traced: Callable[..., pytest.RunResult]) -> None:
    """``--gc-guard-trace tests/x.py::t``: the flag takes no value, so the path selects the test (issue 18)."""
    result = traced("--gc-guard-trace", "test_it.py::test_ring")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["gc-guard: mode=fail leaks=on, repeat=3 trace=5 frames*", f"      Graph('one')    lib.py:{line_of('one')} *"]
    )


def test_a_leak_names_the_site_and_how_many_share_it(traced: Callable[..., pytest.RunResult]) -> None:
    result = traced("--gc-guard-trace")
    pattern = r"allocated at lib\.py:(\d+) in register \((\d) of the 4 objects of this kind"
    found = re.search(pattern, result.stdout.str())
    assert found, result.stdout.str()
    line, share = int(found.group(1)), int(found.group(2))
    # Whichever object was the sample, the count is of the objects made on its line.
    expected = {line_of("first"): 1, line_of("first-again"): 1, line_of("comprehension"): 2}
    assert line in expected and share == expected[line], (line, share)


def test_sites_reach_the_json_report(pytester: pytest.Pytester, traced: Callable[..., pytest.RunResult]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    result = traced("--gc-guard-trace-frames=3", "--gc-guard-report=report.json")
    result.assert_outcomes(passed=2, errors=2)
    report: dict[str, Any] = json.loads((pytester.path / "report.json").read_text())
    jsonschema.validate(report, json.loads((ROOT / "docs" / "report-schema.json").read_text()))
    assert report["settings"]["trace"] == 3
    tests = {t["nodeid"]: t for t in report["tests"]}
    (cycle,) = [f for f in tests["test_it.py::test_ring"]["findings"] if f["kind"] == "cycle"]
    assert cycle["allocation"] == [f"lib.py:{line_of(tag)} in make_ring" for tag in ("one", "two", "three")]
    assert {hop["site"] for hop in cycle["path"]} == set(cycle["allocation"])
    (leak,) = tests["test_it.py::test_leak"]["findings"]
    assert leak["allocation"]["of"] == 4
    assert leak["allocation"]["site"].startswith("lib.py:")


def test_no_sites_without_the_option(traced: Callable[..., pytest.RunResult]) -> None:
    result = traced()
    result.assert_outcomes(passed=2, errors=2)
    assert "allocated at" not in result.stdout.str()


STATE_CONFTEST = """
import json, os, tracemalloc

def pytest_unconfigure(config):
    with open("tracing.json", "w") as f:
        tracing = tracemalloc.is_tracing()
        json.dump([tracing, tracemalloc.get_traceback_limit() if tracing else None], f)
"""


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, [False, None]),  # we started it: stopped at the end of the session
        # The user's: left running, with the user's frame limit (2: not tracemalloc's default 1, nor
        # our 3 or 5; every frame kept costs the whole inner interpreter, pytest's start-up included).
        ({"PYTHONTRACEMALLOC": "2"}, [True, 2]),
    ],
)
def test_tracing_is_stopped_only_when_we_started_it(
    pytester: pytest.Pytester,
    traced: Callable[..., pytest.RunResult],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    expected: list[Any],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pytester.makeconftest(STATE_CONFTEST)
    result = traced("--gc-guard-trace-frames=3")
    result.assert_outcomes(passed=2, errors=2)
    assert json.loads((pytester.path / "tracing.json").read_text()) == expected
    # Sites are found either way.
    result.stdout.fnmatch_lines([f"      Graph('one')    lib.py:{line_of('one')} in make_ring"])


@pytest.mark.inner_xdist
def test_sites_cross_from_xdist_workers(pytester: pytest.Pytester) -> None:
    """Workers trace; the controller (which runs no test) prints their sites."""
    pytest.importorskip("xdist")
    pytester.makepyfile(lib=LIB, test_it=TESTS)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "--gc-guard-trace", "-n", "2")
    result.assert_outcomes(passed=2, errors=2)
    sites = ", ".join(f"lib.py:{line_of(tag)} in make_ring" for tag in ("one", "two", "three"))
    result.stdout.fnmatch_lines(["*gc-guard summary*", "*", f"      allocated at {sites}"])
