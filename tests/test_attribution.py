"""Finalizers and failures land on the right test (issue 8, acceptance 3 to 5).

pytest runs the cycle collector whenever allocation counts say so, so a
``ResourceWarning`` or a ``__del__`` exception of test A's garbage surfaces
during some later test (pytest-dev/pytest#5299).  gc-guard collects each
test's garbage in that test's teardown, where pytest attributes what the
finalizers raise to the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest


OPEN_FILE_IN_A_CYCLE = """
import os


def test_a():
    f = open(os.devnull)

    def keep():
        return f, keep  # keep -> closure cell -> keep: only the collector frees f

    # A test-local cycle: on its own it would not fail the test.


def test_b():
    pass


def test_c():
    pass
"""


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Node id -> outcome, from -rA's short summary (a teardown error adds 'ERROR')."""
    found: dict[str, str] = {}
    for line in result.stdout.lines:
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR", "XFAIL") and "::" in rest:
            nodeid = rest.split(" ")[0]
            found[nodeid] = f"{found[nodeid]}+{word}" if nodeid in found else word
    return found


@pytest.mark.parametrize("mode", ["fail", "warn"])
def test_a_resource_warning_made_an_error_fails_the_test_that_left_the_file(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], mode: str
) -> None:
    """-W error::ResourceWarning: A fails with the warning, B and C pass; the filter decides, in either mode."""
    pytester.makepyfile(test_files=OPEN_FILE_IN_A_CYCLE)
    result = guarded("-rA", "-W", "error::ResourceWarning", f"--gc-guard-mode={mode}")
    assert _outcomes(result) == {
        "test_files.py::test_a": "PASSED+ERROR",
        "test_files.py::test_b": "PASSED",
        "test_files.py::test_c": "PASSED",
    }
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a*",
            "gc-guard: finalizers of this test's garbage raised warnings that the warning filters make errors:",
            "    ResourceWarning: unclosed file <*",
        ]
    )


def test_without_the_error_filter_the_warning_is_the_first_tests(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """The ResourceWarning is reported (by pytest) under test_a only, and nothing fails."""
    pytester.makepyfile(test_files=OPEN_FILE_IN_A_CYCLE)
    result = guarded("-rA", "-W", "default::ResourceWarning")
    result.assert_outcomes(passed=3)
    warnings = result.stdout.str().split("warnings summary", 1)[1].split("-- Docs", 1)[0]
    assert "test_files.py::test_a" in warnings
    assert "test_files.py::test_b" not in warnings and "test_files.py::test_c" not in warnings
    assert warnings.count("ResourceWarning: unclosed file") == 1


def test_without_gc_guard_the_warning_lands_where_the_collector_runs(pytester: pytest.Pytester) -> None:
    """The docs' example: plain pytest reports test_a's unclosed file under test_b, and fails nothing."""
    pytester.makepyfile(test_files=OPEN_FILE_IN_A_CYCLE.replace("    pass\n", "    __import__('gc').collect()\n", 1))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-W", "error::ResourceWarning")
    result.assert_outcomes(passed=3, warnings=1)
    warnings = result.stdout.str().split("warnings summary", 1)[1].split("-- Docs", 1)[0]
    assert "test_files.py::test_b" in warnings and "test_files.py::test_a" not in warnings


RAISING_DEL = """
class Noisy:
    def __init__(self):
        self.me = self

    def __del__(self):
        raise ValueError("boom in __del__")


def test_makes_raising_cycle():
    Noisy()


def test_next():
    pass


def test_after():
    pass
"""


def test_an_exception_in_del_is_reported_once_on_the_test_that_made_the_cycle(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(test_del=RAISING_DEL)
    result = guarded("-rA", "--gc-guard-report=report.json")
    result.assert_outcomes(passed=3)
    warnings = result.stdout.str().split("warnings summary", 1)[1].split("-- Docs", 1)[0]
    assert "test_del.py::test_makes_raising_cycle" in warnings
    assert "test_del.py::test_next" not in warnings and "test_del.py::test_after" not in warnings
    assert warnings.count("ValueError: boom in __del__") == 1
    # The object its __del__ resurrected (pytest's hook holds the exception
    # until the phase ends) is not counted as the next test's garbage.
    tests = _report_tests(pytester)
    assert tests["test_del.py::test_next"]["findings"] == []
    assert tests["test_del.py::test_after"]["findings"] == []


FAIL_THEN_CLEAN = """
import pytest
import lib


def test_fails():
    ring = lib.make_ring()
    assert ring.name == "nope"


def test_clean_after_failure():
    pass


@pytest.mark.xfail(reason="known")
def test_xfails():
    ring = lib.make_ring()
    raise ValueError(ring)


def test_clean_after_xfail():
    pass
"""

RING_LIB = """
class Node:
    def __init__(self, name):
        self.name = name
        self.next = None


def make_ring():
    a, b = Node("a"), Node("b")
    a.next, b.next = b, a
    return a
"""


def test_a_test_after_a_failed_or_xfailed_test_is_not_blamed(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """pytest keeps the failure's traceback (sys.last_traceback) until the next test's call: not that test's."""
    pytester.makepyfile(lib=RING_LIB, test_order=FAIL_THEN_CLEAN)
    result = guarded("-rA", "--gc-guard-report=report.json")
    result.assert_outcomes(failed=1, passed=2, xfailed=1)
    tests = _report_tests(pytester)
    for nodeid in ("test_order.py::test_clean_after_failure", "test_order.py::test_clean_after_xfail"):
        assert tests[nodeid]["outcome"] == "passed"
        assert tests[nodeid]["findings"] == [], tests[nodeid]
        assert "note" not in tests[nodeid]
    # The ring the failing tests made is theirs (not judged: they already failed).
    for nodeid in ("test_order.py::test_fails", "test_order.py::test_xfails"):
        statuses = {f["status"] for f in tests[nodeid]["findings"] if f["kind"] == "cycle"}
        assert statuses <= {"not-judged"}


def _report_tests(pytester: pytest.Pytester) -> dict[str, Any]:
    report = json.loads((pytester.path / "report.json").read_text())
    return {test["nodeid"]: test for test in report["tests"]}
