"""The engine as a library: the window and the explainer, with no pytest session around them."""

from __future__ import annotations

import gc
from typing import Any

from pytest_gcguard.engine.analysis import explain_garbage
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.window import GarbageWindow
from pytest_gcguard.engine.window import GcState
from pytest_gcguard.reporting.text import format_path


class Node:
    def __init__(self, name: str) -> None:
        self.name = name
        self.other: Any = None

    def __repr__(self) -> str:
        return f"Node({self.name!r})"


def _cycles_of(make: Any) -> list[Cycle]:
    state = GcState()
    window = GarbageWindow(state)
    window.open()
    try:
        make()
    finally:
        result = window.close()
        state.restore()
    try:
        return explain_garbage(result.garbage, CodeOwners())
    finally:
        result.garbage.clear()


def _pair() -> None:
    a, b = Node("a"), Node("b")
    a.other, b.other = b, a


def test_the_window_finds_a_cycle_made_inside_it() -> None:
    """A two-node cycle made in the window is one finding with a labelled path."""
    cycles = _cycles_of(_pair)
    assert [c.kind for c in cycles] == [CYCLE]
    assert format_path(cycles[0].path) == "Node('a') --.other--> Node('b') --.other--> Node('a')"
    assert cycles[0].objects == 2


def test_the_window_leaves_debug_flags_callbacks_and_garbage_alone() -> None:
    """After the window, gc.get_debug(), gc.callbacks and gc.garbage are as before."""
    debug, callbacks, garbage = gc.get_debug(), list(gc.callbacks), list(gc.garbage)
    frozen = gc.get_freeze_count()
    _cycles_of(_pair)
    assert gc.get_debug() == debug
    assert gc.callbacks == callbacks
    assert gc.garbage == garbage
    assert gc.get_freeze_count() <= frozen


def test_the_user_sees_saveall_garbage_only_when_they_asked_for_it() -> None:
    """With the user's own DEBUG_SAVEALL, their garbage stays in gc.garbage; without it, nothing does."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        cycles = _cycles_of(_pair)
        assert any(type(o) is Node for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert [c.kind for c in cycles] == [CYCLE]


def test_a_test_that_unfreezes_is_flagged() -> None:
    """If the heap is unfrozen inside the window, the result says so."""
    state = GcState()
    window = GarbageWindow(state)
    window.open()
    gc.unfreeze()
    result = window.close()
    state.restore()
    assert result.heap_was_unfrozen
    result.garbage.clear()


def test_clean_code_finds_nothing() -> None:
    """No garbage, no findings."""
    assert _cycles_of(lambda: [Node("x") for _ in range(10)]) == []


def test_findings_survive_a_round_trip_through_builtins() -> None:
    """to_dict/from_dict keep everything, so findings can travel to the xdist controller."""
    cycle = _cycles_of(_pair)[0]
    again = Cycle.from_dict(cycle.to_dict())
    assert again == cycle
    assert again.shape_key == cycle.shape_key


class Slotted:
    __slots__ = ("name", "other")
    other: Slotted

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Node({self.name!r})"


def test_a_chain_whose_closing_reference_is_invisible_is_still_reported() -> None:
    """Garbage with no visible cycle (C code holding the way back) prints the chain gc can see."""
    a, b = Slotted("a"), Slotted("b")
    a.other = b
    cycles = explain_garbage([a, b], CodeOwners())
    assert len(cycles) == 1
    assert not cycles[0].traced
    assert format_path(cycles[0].path, traced=False).startswith("Node('a') --.other--> Node('b')   (the reference")
    assert cycles[0].shape.endswith("(untraced)")


def test_the_plugin_keeps_no_garbage_alive(pytester: Any) -> None:
    """After the session, no object of a reported cycle is still alive: findings are plain data."""
    pytester.makeconftest(
        """
import gc

def pytest_unconfigure(config):
    gc.collect()
    import rings
    alive = sum(1 for o in gc.get_objects() if type(o) is rings.Ring)
    print("RINGS ALIVE:", alive)
"""
    )
    pytester.makepyfile(
        rings="class Ring:\n    def __init__(self):\n        self.me = self\n",
        test_rings="""
import pytest
from rings import Ring

def test_fails_the_gate():
    for _ in range(10):
        Ring()

@pytest.mark.allow_cycles
def test_allowed():
    Ring()

def test_last():
    pass
""",
    )
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["RINGS ALIVE: 0"])
