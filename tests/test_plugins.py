"""Other test-harness code is harness too: Hypothesis and installed pytest plugins (issue 7, in part).

Hypothesis makes a ConjectureData <-> provider cycle for every example a
@given test runs; those are the harness's cycles, like pytest's own, and
must not fail a clean test.  The code under test's cycles still do.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import NODE_LIB
from tests.conftest import assert_cycle


LIB = NODE_LIB

GIVEN = """
from hypothesis import given, settings, strategies as st
import lib


@settings(max_examples=50, database=None)
@given(st.integers())
def test_clean(x):
    assert isinstance(x, int)


@settings(max_examples=50, database=None)
@given(st.integers())
def test_makes_rings(x):
    lib.ring()
"""


def test_hypothesis_own_cycles_do_not_fail_a_clean_given_test(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("hypothesis")
    monkeypatch.delenv("PYTEST_ADDOPTS")  # this test needs Hypothesis's plugin (tests/conftest.py)
    pytester.makepyfile(lib=LIB, test_given=GIVEN)
    result = guarded("-rA")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_makes_rings*",
            "gc-guard: test created 50 reference cycles (100 objects) that only the cycle collector can free",
        ]
    )
    assert "ERROR test_given.py::test_makes_rings" in result.stdout.str()
    assert "ConjectureData" not in result.stdout.str()
    assert_cycle(result.stdout.str(), ["Node('a')", "Node('b')"], [".other", ".other"])
