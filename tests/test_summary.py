"""The end-of-run summary groups findings by shape (issue 2, acceptance 8)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import pytest

from tests.inner import GRAPH


def test_forty_and_two_give_two_shapes(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> None:
    """40 tests with one shape and 2 with another print two shapes, counted 40 and 2, ids capped."""
    pytester.makepyfile(
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
"""
    )
    result = guarded()
    result.assert_outcomes(passed=42, errors=42)
    summary = result.stdout.str().split("gc-guard summary", 1)[1].split("short test summary", 1)[0]
    result.stdout.fnmatch_lines(
        [
            "*gc-guard summary*",
            "42 tests created reference cycles: 2 shapes (42 failed)",
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
        test_loop=GRAPH
        + """
def test_loop():
    for i in range(100):
        g = Graph(i)
        g.set_next(g)
"""
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
        test_heavy="""
class Pair:
    def __init__(self):
        self.other = Partner(self)

class Partner:
    def __init__(self, pair):
        self.pair = pair

def test_heavy():
    for _ in range(100_000):
        Pair()
"""
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
