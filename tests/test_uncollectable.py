"""Objects the collector cannot free (legacy ``tp_del`` finalizers) are a finding kind of their own."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest


# _testcapi.with_tp_del gives a class the legacy finalizer slot that
# PEP 442 superseded: such objects in cyclic garbage land in gc.garbage.
pytest.importorskip("_testcapi")

SUITE = """
import gc
import _testcapi

import pytest


@_testcapi.with_tp_del
class Legacy:
    def __init__(self, name):
        self.name = name
        self.me = self

    def __repr__(self):
        return f"Legacy({self.name!r})"


def test_a_stuck():
    Legacy("a")


@pytest.mark.allow_cycles("known to stay", types=[Legacy])
def test_b_allowed():
    Legacy("b")


def test_c_sees_gc_garbage_as_without_the_plugin():
    gc.collect()
    assert sorted(repr(obj) for obj in gc.garbage if type(obj) is Legacy) == ["Legacy('a')", "Legacy('b')"]
"""


def test_uncollectable_objects_fail_their_test_and_stay_in_gc_garbage(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(test_stuck=SUITE)
    result = guarded("-rA", "--gc-guard-report=report.json")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_stuck*",
            "gc-guard: test left 1 object that the cycle collector cannot free (a legacy tp_del finalizer in a cycle)*",
            "    Legacy('a') --.me--> Legacy('a')",
            "2 tests left objects the collector cannot free (in gc.garbage for good): 1 shape",
            "  [[]2 tests: 1 allowed, 1 failed] Legacy(*) --.me--> Legacy(*)",
        ]
    )
    report = json.loads((pytester.path / "report.json").read_text())
    kinds = {t["nodeid"].split("::")[1]: [(f["kind"], f["status"]) for f in t["findings"]] for t in report["tests"]}
    assert kinds == {
        "test_a_stuck": [("uncollectable", "failed")],
        "test_b_allowed": [("uncollectable", "allowed")],
        "test_c_sees_gc_garbage_as_without_the_plugin": [],
    }
    # The same suite without the plugin: the last test sees the same gc.garbage.
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    plain.assert_outcomes(passed=3)


def test_uncollectable_objects_warn_in_warn_mode(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(test_stuck=SUITE)
    result = guarded("--gc-guard-mode=warn")
    result.assert_outcomes(passed=3, warnings=1)
    result.stdout.fnmatch_lines(["*GcGuardWarning: gc-guard: test left 1 object that the cycle collector cannot free*"])
