"""The end-of-run summary groups findings by shape (issue 2, acceptance 8)."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.inner import GRAPH
from tests.inner import GRAPH_CLASS
from tests.inner import summary_of


ROOT = Path(__file__).resolve().parent.parent


def test_forty_and_two_give_two_shapes(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> None:
    """40 tests with one shape and 2 with another print two shapes, counted 40 and 2, ids capped."""
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        test_many=GRAPH
        + """
import pytest

@pytest.mark.parametrize("n", range(40))
def test_ring(n):
    a, b = Graph(f"a{n}"), Graph(f"b{n}")
    a.set_next(b)
    b.set_next(a)

@pytest.mark.parametrize("n", range(2))
def test_self(n):
    g = Graph(f"s{n}")
    g.set_next(g)
""",
    )
    result = guarded()
    result.assert_outcomes(passed=42, errors=42)
    summary = summary_of(result).split("short test summary", 1)[0]
    result.stdout.fnmatch_lines(
        [
            "*gc-guard summary*",
            "42 tests created reference cycles: 2 shapes, 42 findings (42 failed)",
            "  [40 tests] Graph('a0') --.next--> Graph('b0') --.next--> Graph('a0')",
            "      test_many.py::test_ring[[]0[]], test_many.py::test_ring[[]1[]], "
            "test_many.py::test_ring[[]2[]], ... and 37 more",
            "  [2 tests] Graph('s0') --.next--> Graph('s0')",
        ]
    )
    assert summary.count("[40 tests]") == 1
    assert summary.count("[2 tests]") == 1


def test_many_cycles_in_one_test_are_grouped(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A loop making 100 identical rings prints one path with its count."""
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        test_loop=GRAPH
        + """
def test_loop():
    for i in range(100):
        g = Graph(i)
        g.set_next(g)
""",
    )
    result = guarded()
    result.stdout.fnmatch_lines(
        [
            "gc-guard: test created 100 reference cycles (100 objects) that only the cycle collector can free",
            "  100 cycles like this (100 objects):",
            "    Graph(*) --.next--> Graph(*)",
        ]
    )


def test_nothing_found_prints_no_summary(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> None:
    """A clean run has no gc-guard summary section."""
    pytester.makepyfile(test_clean="def test_clean():\n    x = [1]\n    assert x\n")
    result = guarded()
    result.assert_outcomes(passed=1)
    assert "gc-guard summary" not in result.stdout.str()


def test_a_garbage_heavy_test_is_bounded_and_counted_exactly(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """100,000 two-object cycles: some are analysed, the rest counted; the totals add up and no leak is invented."""
    pytester.makepyfile(
        pairs="""
class Pair:
    def __init__(self):
        self.other = Partner(self)

class Partner:
    def __init__(self, pair):
        self.pair = pair
""",
        test_heavy="""
from pairs import Pair

def test_heavy():
    for _ in range(100_000):
        Pair()
""",
    )
    result = guarded()
    result.assert_outcomes(passed=1, errors=1)
    text = result.stdout.str()
    headline = re.search(r"test created (\d+) reference cycles \((\d+) objects\)", text)
    unsaved = re.search(r"\+(\d+) more objects in cycles, freed without being analysed", text)
    assert headline and unsaved, text
    # The collector counts what it frees in its own unit: on 3.9/3.10 each
    # instance's __dict__ is an object of its own (the headline folds them).
    per_cycle = 4 if sys.version_info < (3, 11) else 2
    cycles = int(headline.group(1))
    assert cycles * per_cycle + int(unsaved.group(1)) == 100_000 * per_cycle
    assert cycles < 100_000
    result.stdout.no_fnmatch_line("*test leaks*")


SCHEMA_LIB = """
class Schema:
    def __init__(self):
        self.fields = {"f": Field(self)}

class Field:
    def __init__(self, parent):
        self.parent = parent

class Graph:
    def __init__(self):
        self.me = self

def lists():
    a = []
    b = [a]
    a.append(b)
"""

SCHEMA_TESTS = """
import pytest
import lib

@pytest.mark.parametrize("n", range(4))
def test_graph(n):
    lib.Graph()

def test_schema_a():
    class MySchema(lib.Schema):
        pass
    MySchema()

def test_schema_b():
    class MySchema(lib.Schema):
        pass
    MySchema()

class TestC:
    def test_schema_c(self):
        class MySchema(lib.Schema):
            pass
        MySchema()

def test_lists():
    lib.lists()
"""


def test_a_first_run_that_fails_many_tests_ends_with_how_to_adopt(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """8 failing tests: test-local MySchema classes are one shape, and the allow lines printed are exact (issue 18).

    Put into the ini file as printed, they let the 7 tests they claim pass;
    the cycle of plain lists no line can name is left to the baseline.
    """
    pytester.makepyfile(lib=SCHEMA_LIB, test_adopt=SCHEMA_TESTS)
    result = guarded()
    result.assert_outcomes(passed=8, errors=8)
    result.stdout.fnmatch_lines(
        [
            "8 tests created reference cycles: 3 shapes, 8 findings (8 failed)",
            "  [[]4 tests] Graph --.me--> Graph",
            "*",
            "  [[]3 tests] Field --.parent--> test_schema_a.<locals>.MySchema --.fields--> dict (len=1) --*",
            "      test_adopt.py::test_schema_a, test_adopt.py::test_schema_b, test_adopt.py::TestC::test_schema_c",
        ]
    )
    text = summary_of(result)
    # (Up to pytest's short summary: with CI=true it prints each failure's whole text.)
    assert text.split("short test summary info", 1)[0].count("MySchema --.fields-->") == 1
    adopt = text.split("8 tests fail the gate; to adopt gc-guard before they are fixed:\n", 1)[1]
    assert adopt.splitlines()[:9] == [
        "  1. if the shapes that fail the most tests are by design, allow them project-wide",
        "     (these lines in the ini file let 7 of the 8 tests pass):",
        "       gc_guard_allow =",
        "           # lib",
        "           cycles: lib.Field",
        "           cycles: lib.Graph",
        "           cycles: lib.Schema",
        "  2. record the other findings as known, so that only new ones fail:",
        "       pytest --gc-guard --gc-guard-baseline=gcguard-baseline.json --gc-guard-update-baseline",
    ]
    documented = (ROOT / "docs" / "usage.md").read_text().split("<!-- checked: tests/test_summary.py", 1)[1]
    assert documented.split("```text\n", 1)[1].split("```", 1)[0] in text
    allow_lines = [line.strip() for line in adopt.splitlines()[2:7]]
    pytester.makeini("[pytest]\n" + "\n    ".join(allow_lines) + "\n")
    adopted = guarded()
    adopted.assert_outcomes(passed=8, errors=1)
    adopted.stdout.fnmatch_lines(["ERROR test_adopt.py::test_lists*"])
    assert "to adopt gc-guard" not in adopted.stdout.str()  # one failing test: nothing to adopt


HARNESS_MADE = """
import pytest
from hypothesis import given
from hypothesis import strategies as st


def test_exconly():
    with pytest.raises(ValueError) as excinfo:
        raise ValueError("x")
    excinfo.exconly()  # a recursive closure per call (pytest's _get_single_subexc)


@given(st.integers())
def test_given(n):
    pass


def test_own():
    def countdown(n):
        return countdown(n - 1) if n else 0

    countdown(2)
"""


def test_cycles_of_the_harness_are_not_called_the_test_s_own(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """pytest's and Hypothesis's own cycles pass under a line of their own, not as made by the test's own code."""
    pytester.makepyfile(test_harness=HARNESS_MADE)
    result = guarded("-v")
    result.assert_outcomes(passed=3)
    summary = summary_of(result)
    local, harness = summary.split("cycles made by the test harness (pytest/hypothesis/unittest.mock; not failing)", 1)
    assert "test-local cycles (made by the test's own code; not failing)" in local
    assert "countdown" in local and "test_harness.py::test_own" in local
    assert "_get_single_subexc" not in local and "ConjectureData" not in local
    assert "test_harness.py::test_given" in harness
    # ExceptionInfo.exconly's closure, and its cycle, came with pytest 8.x (8.0 has none: nothing to call harness).
    if "_get_single_subexc" in inspect.getsource(pytest.ExceptionInfo.exconly):
        assert "_get_single_subexc" in harness


RUNNER_LIB = """
class Runner:
    def __init__(self):
        self.init_task = Task(self)
        self.wake = lambda: self.init_task  # a function of runlib's in the cycle, as trio's coroutines' frames are


class Task:
    def __init__(self, runner):
        self._runner = runner


def run(other):
    Runner()
    other()
"""

OTHERS = """
class A:
    def __init__(self):
        self.me = self


class B:
    def __init__(self):
        self.me = self


class C:
    def __init__(self):
        self.me = self
"""

EVERY_TEST_RUNS = """
import pytest

import others
import runlib


@pytest.mark.parametrize("n", range(3))
@pytest.mark.parametrize("cls", [others.A, others.B, others.C])
def test_run(cls, n):
    runlib.run(cls)
"""


def test_the_allow_lines_cover_a_shape_every_test_has_along_with_the_others(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """trio's suite: each test has Runner <-> Task (code in it) and one of several shapes; the lines pass them all."""
    pytester.makepyfile(runlib=RUNNER_LIB, others=OTHERS, test_run=EVERY_TEST_RUNS)
    result = guarded()
    result.assert_outcomes(passed=9, errors=9)
    lines = result.stdout.str().split("to adopt gc-guard before they are fixed:", 1)[1].splitlines()
    assert lines[2:11] == [
        "     (these lines in the ini file let 9 of the 9 tests pass):",
        "       gc_guard_allow =",
        "           # others",
        "           cycles: others.A",
        "           cycles: others.B",
        "           cycles: others.C",
        "           # runlib",
        "           cycles: runlib",
        "=========================== short test summary info ============================",
    ]
    allow = ["others.A", "others.B", "others.C", "runlib"]
    guarded("-o", "gc_guard_allow=" + "\n".join(allow)).assert_outcomes(passed=9)
