"""The gc_guard fixture (issue 6): the library API inside a test, with and without --gc-guard."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.inner import GRAPH_LIB
from tests.inner import assert_cycle


FIXTURE_TESTS = """
import gc

import pytest

from pytest_gcguard import CycleError
import lib


def state():
    return (gc.isenabled(), gc.get_debug(), gc.get_threshold(), list(gc.callbacks), list(gc.garbage),
            gc.get_freeze_count())


class Registry:
    items = []


def test_ring_fails(gc_guard):
    with gc_guard.assert_no_cycles():
        lib.ring()


def test_error_cycle_fails(gc_guard):
    with gc_guard.assert_no_cycles():
        lib.keep_error()


def test_clean_block(gc_guard):
    before = state()
    with gc_guard.assert_no_cycles():
        node = lib.Graph('solo')
        node.set_next(lib.Graph('next'))
        del node
    assert state() == before


def test_allowed(gc_guard):
    with gc_guard.assert_no_cycles(allow_types=[lib.Graph]):
        lib.ring()
    with gc_guard.assert_no_cycles(allow_types="lib.Graph"):
        lib.ring()


def test_catch_the_error(gc_guard):
    before = state()
    with pytest.raises(CycleError) as excinfo, gc_guard.assert_no_cycles():
        lib.ring()
    assert state() == before
    assert [(c.kind, c.objects) for c in excinfo.value.cycles] == [("cycle", 3)]
    assert "to exempt: gc_guard.assert_no_cycles(allow_types=[...])" in str(excinfo.value)


def test_find_cycles(gc_guard):
    found = gc_guard.find_cycles(lib.keep_error)
    assert [c.objects for c in found.failing] == [3]
    assert "local 'err'" in str(found)


def test_explain(gc_guard):
    mine = lib.Graph('mine')
    Registry.items.append(lib.Graph('registered'))
    assert gc_guard.explain(lib.KEEP) == "kept alive by: module lib, global KEEP\\n  Graph(kept)"
    assert gc_guard.explain(mine).startswith("kept alive by: local 'mine' of running frame test_explain (")
    text = gc_guard.explain(Registry.items[0])
    assert text.startswith("kept alive by: class test_fixture_suite.Registry, attribute items"), text
    Registry.items.clear()
"""


@pytest.mark.parametrize("guard", [True, False], ids=["gc-guard", "plain"])
def test_the_fixture_with_and_without_the_plugin(
    pytester: pytest.Pytester,
    guarded: Callable[..., pytest.RunResult],
    inprocess: Callable[..., pytest.RunResult],
    guard: bool,
) -> None:
    """assert_no_cycles fails the test with the labelled report; clean blocks, find_cycles and explain pass.

    Under --gc-guard the plugin finds nothing more: the blocks' garbage is theirs.
    """
    pytester.makepyfile(lib=GRAPH_LIB, test_fixture_suite=FIXTURE_TESTS)
    # Without the plugin, in process: the blocks judge only their own garbage.
    result = guarded("-rA") if guard else inprocess("-rA")
    output = result.stdout.str()
    assert "INTERNALERROR" not in output
    result.assert_outcomes(passed=5, failed=2)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "FAILED test_fixture_suite.py::test_ring_fails - pytest_gcguard.api.CycleError*",
            "FAILED test_fixture_suite.py::test_error_cycle_fails - pytest_gcguard.api.Cyc*",
        ],
        consecutive=False,
    )
    failures = output.split("= FAILURES =")[1]
    assert "pytest_gcguard.api.CycleError: gc-guard: block created 1 reference cycle (3 objects)" in failures
    assert_cycle(failures, ["Graph(one)", "Graph(two)", "Graph(three)"], [".next", ".next", ".next"])
    labels = ["ValueError('boom')", "traceback", "frame keep_error (lib.py:*)"]
    assert_cycle(failures, labels, [".__traceback__", ".tb_frame", "local 'err'"])
    assert "ERROR at teardown" not in output
    if guard:
        assert "gc-guard: mode=fail" in output
        assert "created reference cycles" not in output.split("gc-guard summary")[-1]


def test_the_fixture_is_there_when_the_plugin_is_off(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    """The fixture comes with the plugin's registration, not with --gc-guard; -p no:gcguard removes it."""
    pytester.makepyfile(
        test_it="""
        def test_it(gc_guard):
            found = gc_guard.find_cycles(lambda: None)
            assert found.cycles == ()
        """
    )
    inprocess().assert_outcomes(passed=1)
    result = inprocess("-p", "no:gcguard")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'gc_guard' not found*"])
