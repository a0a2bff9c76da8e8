"""A cycle of plain containers is owned by the module that allocated it (issue 14, acceptance 7).

Lists and dicts have no class of their own to name, so without tracing no
allow entry could cover such a cycle and the report could not say whose it
is.  The re-run that a first sighting costs anyway runs under tracemalloc
and names the allocating module, without ``--gc-guard-trace``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


ROOT = Path(__file__).resolve().parents[1]

# marshmallow's OrderedSet: a doubly linked list of [key, prev, next] lists around a sentinel.
ORDEREDSET = """
class OrderedSet:
    def __init__(self, items=()):
        self.end = end = []
        end += [None, end, end]
        self.map = {}
        for key in items:
            self.add(key)

    def add(self, key):
        if key not in self.map:
            end = self.end
            curr = end[1]
            curr[2] = end[1] = self.map[key] = [key, curr, end]


def letters(text):
    return len(OrderedSet(text).map)
"""

# A ring of dicts, each made on another line.
DICTS = """
def ring(n):
    first = {"i": 0}
    node = first
    for i in range(1, n):
        node["next"] = node = {"i": i}
    node["next"] = first
    return n
"""

TESTS = """
from ringpkg import graphs, orderedset


def test_linked():
    assert orderedset.letters("abc") == 3


def test_dicts():
    assert graphs.ring(4) == 4
"""

LINKED = "    list (len=3) --[[]*]--> list (len=3) --[[]*]--> list (len=3)*"


@pytest.fixture
def containers(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> Callable[..., pytest.RunResult]:
    pytester.mkpydir("ringpkg")
    pytester.makepyfile(**{"ringpkg/orderedset": ORDEREDSET, "ringpkg/graphs": DICTS, "test_rings": TESTS})
    return guarded


def test_a_container_cycle_names_the_module_that_allocated_it(
    pytester: pytest.Pytester, containers: Callable[..., pytest.RunResult]
) -> None:
    result = containers("--gc-guard-report=report.json")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines([LINKED, "    allocated in ringpkg.orderedset"])
    result.stdout.fnmatch_lines(["    dict (len=2) --[[]'next'[]]--> *", "    allocated in ringpkg.graphs"])
    assert "allocated at" not in result.stdout.str()  # no tracing asked: no sites, only the owner
    # The summary says what the re-runs cost, and why: tracing is most of it (docs/performance.md).
    result.stdout.fnmatch_lines(
        [
            "re-ran 2 tests (2 runs, * s) to confirm leaks and tell one-time cycles;"
            " 2 of them traced, to name who allocated cycles of plain containers"
        ]
    )
    jsonschema = pytest.importorskip("jsonschema")
    report: dict[str, Any] = json.loads((pytester.path / "report.json").read_text())
    jsonschema.validate(report, json.loads((ROOT / "docs" / "report-schema.json").read_text()))
    owners = {
        test["nodeid"]: finding["allocated_in"]
        for test in report["tests"]
        for finding in test["findings"]
        if finding["kind"] == "cycle"
    }
    assert owners == {
        "test_rings.py::test_linked": ["ringpkg.orderedset"],
        "test_rings.py::test_dicts": ["ringpkg.graphs"],
    }


@pytest.mark.parametrize(
    ("entry", "failing"),
    [
        ("ringpkg", []),
        ("ringpkg.orderedset", ["test_dicts"]),
        ("otherpkg", ["test_dicts", "test_linked"]),
        ("ringpkg.orderedsets", ["test_dicts", "test_linked"]),  # a prefix of names, not of strings
    ],
)
def test_an_allow_entry_covers_the_module_that_allocated_it(
    containers: Callable[..., pytest.RunResult], entry: str, failing: list[str]
) -> None:
    result = containers("-o", f"gc_guard_allow={entry}")
    result.assert_outcomes(passed=2, errors=len(failing))
    failed = sorted(line.split("::")[1].split(" ")[0] for line in result.stdout.lines if line.startswith("ERROR "))
    assert failed == failing
    # Each failure names its owner (counted before the short summary, which CI=true makes repeat the text).
    failures = result.stdout.str().split("short test summary info", 1)[0]
    assert failures.count("    allocated in ringpkg.") == len(failing)


# The user's own tracemalloc, started before the session (-X tracemalloc=3 would do the same).
USER_TRACING = """
import tracemalloc

tracemalloc.start(3)
"""

STILL_TRACING = """

def test_z_tracing_is_the_user_s():
    import tracemalloc

    assert tracemalloc.is_tracing()
    assert tracemalloc.get_traceback_limit() == 3
"""

NOT_TRACING = """

def test_z_nothing_traces_after_the_re_run():
    import tracemalloc

    assert not tracemalloc.is_tracing()
"""


def test_the_user_s_tracemalloc_is_used_and_left_running(
    pytester: pytest.Pytester, containers: Callable[..., pytest.RunResult]
) -> None:
    pytester.makeconftest(USER_TRACING)
    pytester.makepyfile(test_rings=TESTS + STILL_TRACING)
    result = containers("-o", "gc_guard_allow=ringpkg")
    result.assert_outcomes(passed=3)
    failed = containers()
    failed.assert_outcomes(passed=3, errors=2)
    failed.stdout.fnmatch_lines([LINKED, "    allocated in ringpkg.orderedset"])


def test_tracing_started_for_the_re_run_is_stopped(
    pytester: pytest.Pytester, containers: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(test_rings=TESTS + NOT_TRACING)
    result = containers()
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines([LINKED, "    allocated in ringpkg.orderedset"])  # it did trace


def test_a_container_cycle_the_test_makes_is_owned_by_the_test_module_and_still_fails(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Allocated by the test, but maybe linked by the code it calls: who closed it, tracing cannot tell."""
    pytester.makepyfile(test_own="def test_own():\n    a = []\n    a.append([a])\n")
    result = guarded()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["    list (len=1) --[[]0]--> list (len=1) --[[]0]--> list (len=1)", "    allocated in test_own"]
    )


RINGLIB = """
def ring(n):
    first = [0]
    node = first
    for i in range(1, n):
        node.append([i])
        node = node[-1]
    node.append(first)
    return n
"""


@pytest.mark.parametrize(("fail_on", "fails"), [("project", True), ("dependency", False), (None, True)])
def test_a_container_cycle_takes_the_origin_of_the_module_that_allocated_it(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], fail_on: str | None, fails: bool
) -> None:
    """Its origin is its allocating module's, so --gc-guard-fail-on judges it like any other cycle."""
    pytester.makepyfile(
        ringlib=RINGLIB, test_ring="import ringlib\n\ndef test_ring():\n    assert ringlib.ring(3) == 3\n"
    )
    args = ["--gc-guard-report=report.json", "-v"] + ([f"--gc-guard-fail-on={fail_on}"] if fail_on else [])
    result = guarded(*args)
    result.assert_outcomes(passed=1, errors=int(fails))
    result.stdout.fnmatch_lines(["*made by the project (ringlib)"])
    report: dict[str, Any] = json.loads((pytester.path / "report.json").read_text())
    (finding,) = [finding for test in report["tests"] for finding in test["findings"] if finding["kind"] == "cycle"]
    assert (finding["origin"], finding["origin_name"], finding["allocated_in"]) == ("project", "ringlib", ["ringlib"])
    assert finding["status"] == ("failed" if fails else "info")
