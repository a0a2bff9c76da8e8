"""The library API: no_cycles, find_cycles, explain (issue 6).

The pure API tests run in this process: each block starts with a collection
and owns only what became garbage inside it.  Everything that combines the
API with the plugin (--gc-guard) runs an inner session in a subprocess.
"""

from __future__ import annotations

import asyncio
import gc
import pickle
import sys
import types
import weakref
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any
from typing import ClassVar

import pytest

import pytest_gcguard
from pytest_gcguard import CycleError
from pytest_gcguard import FoundCycles
from pytest_gcguard import explain
from pytest_gcguard import find_cycles
from pytest_gcguard import no_cycles
from pytest_gcguard.engine.analysis import explain_garbage
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.window import GarbageWindow
from pytest_gcguard.engine.window import GcState
from pytest_gcguard.reporting.text import format_path
from tests.inner import GRAPH_LIB
from tests.inner import assert_cycle


class Graph:
    """The seed's example (PyMOTW, gc)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.next: Any = None

    def set_next(self, next: Any) -> None:
        self.next = next

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.name})"


class Other:
    def __init__(self) -> None:
        self.me = self


class Hostile:
    def __init__(self) -> None:
        self.me = self

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


RING = (["Graph(one)", "Graph(two)", "Graph(three)"], [".next", ".next", ".next"])
ERROR_CYCLE = (
    ["ValueError('boom')", "traceback", "frame keep_error (test_api.py:*)"],
    [".__traceback__", ".tb_frame", "local 'err'"],
)


def ring(refs: list[weakref.ref[Graph]] | None = None) -> None:
    one = Graph("one")
    two = Graph("two")
    three = Graph("three")
    one.set_next(two)
    two.set_next(three)
    three.set_next(one)
    if refs is not None:
        refs.extend(weakref.ref(g) for g in (one, two, three))


def keep_error() -> None:
    """An exception-frame cycle: err -> __traceback__ -> this frame -> f_locals['err']."""
    try:
        raise ValueError("boom")
    except ValueError as e:
        err = e  # noqa: F841 - kept in a local on purpose: that is the cycle


def _graphs_in_memory() -> list[object]:
    """Graph objects still in memory, garbage or not (a weak reference dies before the object is freed)."""
    return [obj for obj in gc.get_objects() if type(obj) is Graph]


def gc_state() -> tuple[Any, ...]:
    return (
        gc.isenabled(),
        gc.get_debug(),
        gc.get_threshold(),
        list(gc.callbacks),
        list(gc.garbage),
        gc.get_freeze_count(),
    )


def test_the_api_is_exported_and_needs_no_pytest() -> None:
    """The package exports the API; explain is the function, not the explain submodule."""
    assert {"no_cycles", "find_cycles", "explain", "CycleError", "FoundCycles"} <= set(pytest_gcguard.__all__)
    assert pytest_gcguard.explain is explain
    assert not isinstance(pytest_gcguard.explain, types.ModuleType)
    assert issubclass(CycleError, AssertionError)


# ---- no_cycles


def test_no_cycles_reports_the_graph_ring_with_labelled_edges() -> None:
    """The seed's three-node Graph ring fails the block; the message is the plugin's report."""
    with pytest.raises(CycleError) as excinfo, no_cycles():
        ring()
    error = excinfo.value
    message = str(error)
    assert message.startswith(
        "gc-guard: block created 1 reference cycle (3 objects) that only the cycle collector can free"
    )
    assert_cycle(message, *RING)
    assert "to exempt: no_cycles(allow_types=[...])" in message
    assert [(c.kind, c.objects, c.count) for c in error.cycles] == [(CYCLE, 3, 1)]
    assert_cycle(format_path(error.cycles[0].path), *RING)
    del excinfo, error


def test_no_cycles_reports_an_exception_frame_cycle() -> None:
    """An exception kept in a local of the frame its traceback holds is a cycle through that frame."""
    with pytest.raises(CycleError) as excinfo, no_cycles():
        keep_error()
    assert_cycle(str(excinfo.value), *ERROR_CYCLE)
    del excinfo


def test_a_clean_block_passes_and_acyclic_garbage_is_no_cycle() -> None:
    """Objects freed by reference counting, and a chain without a cycle, do not fail."""
    with no_cycles():
        a = Graph("a")
        a.set_next(Graph("b"))
        del a


def test_the_error_keeps_no_garbage_alive() -> None:
    """CycleError carries plain data: the ring is freed when the block ends."""
    refs: list[weakref.ref[Graph]] = []
    with pytest.raises(CycleError) as excinfo, no_cycles():
        ring(refs)
    assert len(refs) == 3
    assert [ref() for ref in refs] == [None, None, None]
    assert not _graphs_in_memory()
    again = pickle.loads(pickle.dumps(excinfo.value))
    assert (str(again), again.cycles) == (str(excinfo.value), excinfo.value.cycles)
    del excinfo


@pytest.mark.parametrize("allowed", [Graph, f"{__name__}.Graph", [Other, Graph]], ids=["class", "name", "list"])
def test_allow_types_allows_only_cycles_of_those_types(allowed: Any) -> None:
    """allow_types takes classes and qualified names, like the marker's types=; other cycles still fail."""
    with no_cycles(allow_types=allowed):
        ring()
    with pytest.raises(CycleError) as excinfo, no_cycles(allow_types=allowed):
        ring()
        Hostile()
    assert [c.objects for c in excinfo.value.cycles] == [1]
    del excinfo


@pytest.mark.parametrize("bad", [[], [3], 3])
def test_bad_allow_types_are_rejected_at_once(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        no_cycles(allow_types=bad)


def test_no_cycles_as_a_decorator_checks_every_call() -> None:
    """As a decorator: each call is checked on its own, and the return value passes through."""

    @no_cycles()
    def build(cyclic: bool) -> str:
        if cyclic:
            ring()
        return "built"

    assert build(False) == "built"
    with pytest.raises(CycleError) as excinfo:
        build(True)
    assert_cycle(str(excinfo.value), *RING)
    assert build(False) == "built"
    assert build.__name__ == "build"
    del excinfo


def test_a_recursive_decorated_function_checks_each_level() -> None:
    """A decorated function calling itself nests blocks; the innermost cycle fails once, unchanged."""

    @no_cycles()
    def down(n: int) -> int:
        if n == 0:
            ring()
            return 0
        return down(n - 1) + 1

    with pytest.raises(CycleError) as excinfo:
        down(2)
    assert [c.objects for c in excinfo.value.cycles] == [3]
    del excinfo


async def _ring_later() -> None:
    ring()


def _ring_then_yield() -> Iterator[int]:
    ring()
    yield 1


async def _ring_then_yield_async() -> AsyncIterator[int]:
    ring()
    yield 1


@pytest.mark.parametrize(
    ("func", "kind", "instead"),
    [
        (_ring_later, "coroutine function", "with no_cycles(): asyncio.run(_ring_later())"),
        (_ring_then_yield, "generator function", "with no_cycles(): items = list(_ring_then_yield())"),
        (_ring_then_yield_async, "async generator function", "with no_cycles(): asyncio.run(main())"),
    ],
)
def test_generator_and_coroutine_functions_are_refused_at_decoration(
    func: Callable[[], Any], kind: str, instead: str
) -> None:
    """Calling one runs none of its body (before: the check passed, having seen nothing), and a window
    spanning its suspended run would take other code's garbage for its own: TypeError, at once."""
    with pytest.raises(TypeError) as excinfo:
        no_cycles()(func)
    message = str(excinfo.value)
    assert message.startswith(f"no_cycles() cannot decorate the {kind} {func.__qualname__}: "), message
    assert "nothing would be checked" in message
    assert instead in message
    with pytest.raises(TypeError, match=f"^find_cycles\\(\\) cannot call the {kind} "):
        find_cycles(func)
    del excinfo


def test_a_coroutine_run_inside_a_block_is_checked_whole() -> None:
    """What the TypeError suggests is sound: nothing interleaves with asyncio.run() inside the block."""
    with pytest.raises(CycleError) as excinfo, no_cycles():
        asyncio.run(_ring_later())
    assert_cycle(str(excinfo.value), *RING)
    with pytest.raises(CycleError) as excinfo, no_cycles():
        list(_ring_then_yield())
    assert_cycle(str(excinfo.value), *RING)
    with no_cycles():
        asyncio.run(asyncio.sleep(0))
    del excinfo


def test_nested_blocks_judge_their_own_garbage() -> None:
    """An inner block's garbage is the inner block's; the outer block sees what was made outside it."""
    # Allowed inside: the outer block does not see the ring again.
    with no_cycles(), no_cycles(allow_types=[Graph]):
        ring()
    # Failing inside: the inner error propagates through the outer block unchanged.
    with pytest.raises(CycleError) as excinfo, no_cycles(allow_types=[Other]), no_cycles():
        ring()
    assert [c.objects for c in excinfo.value.cycles] == [3]
    inner_error = excinfo.value
    # The outer block still sees what was made outside the inner one.
    with pytest.raises(CycleError) as excinfo, no_cycles():
        with no_cycles(allow_types=[Graph]):
            ring()
        keep_error()
    assert_cycle(str(excinfo.value), *ERROR_CYCLE)
    assert "Graph" not in str(excinfo.value)
    # One instance entered again while open.
    check = no_cycles()
    with pytest.raises(CycleError), check:
        with check:
            pass
        ring()
    del excinfo, inner_error


def test_a_block_that_raises_propagates_its_own_exception() -> None:
    """The block's exception is never replaced by a CycleError."""
    with pytest.raises(KeyError), no_cycles():
        ring()
        raise KeyError("mine")


def test_hostile_objects_are_labelled_safely() -> None:
    """A raising repr does not break the report."""
    with pytest.raises(CycleError) as excinfo, no_cycles():
        Hostile()
    assert "<test_api.Hostile at 0x" in str(excinfo.value) or "<Hostile at 0x" in str(excinfo.value)
    assert "--.me-->" in str(excinfo.value)
    del excinfo


def test_stdlib_cycles_do_not_fail() -> None:
    """Cycles of the standard library's test infrastructure (a Mock and its children) are reported, never failing."""
    from unittest import mock

    def make_mock() -> None:
        m = mock.Mock()
        m.child.grandchild()

    with no_cycles():
        make_mock()
    found = find_cycles(make_mock)
    assert found.cycles and not found.failing


# ---- find_cycles


def test_find_cycles_returns_plain_data_and_frees_the_garbage() -> None:
    """find_cycles gives labels, edge labels and counts; the ring is freed when it returns."""
    refs: list[weakref.ref[Graph]] = []
    found = find_cycles(ring, refs)
    assert isinstance(found, FoundCycles)
    assert [ref() for ref in refs] == [None, None, None]
    assert not _graphs_in_memory()
    (cycle,) = found.failing
    assert (cycle.kind, cycle.count, cycle.objects) == (CYCLE, 1, 3)
    assert sorted(hop.label for hop in cycle.path) == ["Graph(one)", "Graph(three)", "Graph(two)"]
    assert [hop.edge for hop in cycle.path] == [".next", ".next", ".next"]
    assert found.value is None
    assert_cycle(str(found), *RING)


def test_find_cycles_finds_an_exception_frame_cycle_and_passes_arguments() -> None:
    found = find_cycles(keep_error)
    assert_cycle(format_path(found.failing[0].path), *ERROR_CYCLE)

    def rings(n: int, *, twice: bool) -> list[None]:
        for _ in range(n * (2 if twice else 1)):
            ring()
        return [None] * n

    many = find_cycles(rings, 2, twice=True)
    (cycle,) = many.failing
    assert (cycle.count, cycle.objects) == (4, 12)
    assert many.value == [None, None]


def test_find_cycles_of_a_clean_call_and_a_raising_call() -> None:
    found = find_cycles(lambda: Graph("alone"))
    assert found.cycles == () and found.unsaved == 0
    assert repr(found.value) == "Graph(alone)"
    assert str(found) == "gc-guard: call created no reference cycles"
    with pytest.raises(ZeroDivisionError):
        find_cycles(lambda: 1 / 0)


# ---- GC state


def _ignoring_cycle_errors(action: Callable[[], object]) -> None:
    try:
        action()
    except CycleError:
        pass


def _check_ring() -> None:
    with no_cycles():
        ring()


def _clean() -> None:
    with no_cycles():
        Graph("x")


def _decorated() -> None:
    no_cycles()(ring)()


def _nested() -> None:
    with no_cycles():
        with no_cycles(allow_types=[Graph]):
            ring()
        ring()


@pytest.fixture
def user_gc_state() -> Iterator[None]:
    """A collector the user has set up: disabled, other thresholds and flags, a callback, some garbage."""
    threshold = gc.get_threshold()
    enabled = gc.isenabled()
    calls: list[str] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        calls.append(phase)

    gc.disable()
    gc.set_threshold(555, 7, 3)
    gc.set_debug(gc.DEBUG_UNCOLLECTABLE)
    gc.callbacks.append(callback)
    gc.garbage.append("the user's")
    try:
        yield
    finally:
        gc.callbacks.remove(callback)
        gc.garbage.clear()
        gc.set_debug(0)
        gc.set_threshold(*threshold)
        if enabled:
            gc.enable()


@pytest.mark.parametrize(
    "action",
    [_check_ring, _clean, _decorated, _nested, lambda: find_cycles(ring), lambda: explain(RING)],
    ids=["no_cycles-ring", "no_cycles-clean", "decorator", "nested", "find_cycles", "explain"],
)
@pytest.mark.parametrize("setup", ["default", "user"])
def test_gc_state_is_identical_after_each_call(
    action: Callable[[], object], setup: str, request: pytest.FixtureRequest
) -> None:
    """Enabled flag, debug flags, thresholds, callbacks, gc.garbage and the freeze count are as before."""
    if setup == "user":
        request.getfixturevalue("user_gc_state")
    before = gc_state()
    _ignoring_cycle_errors(action)
    assert gc_state() == before


def test_the_users_own_saveall_garbage_stays_in_gc_garbage() -> None:
    """With the user's DEBUG_SAVEALL, the block's garbage lands in gc.garbage as without us, and still fails."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        with pytest.raises(CycleError), no_cycles():
            ring()
        assert sum(type(obj) is Graph for obj in gc.garbage) == 3
        assert gc.get_debug() == gc.DEBUG_SAVEALL
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_a_frozen_heap_is_left_frozen() -> None:
    """With the user's gc.freeze(), the API neither unfreezes nor freezes; explain works on young objects
    and says when frozen objects may hide the chain."""
    old = [Graph("old")]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        hidden = explain(old[0])
        with pytest.raises(CycleError), no_cycles():
            ring()
        found = find_cycles(ring)
        young = Graph("young")
        text = explain(young)
        # Not unfrozen (the count would be 0), nor frozen again (the young
        # objects above would join it).  A few frozen objects may die by
        # reference counting meanwhile -- under xdist, the worker's execnet
        # thread drops some -- so the count may fall a little.
        assert 0 < gc.get_freeze_count() <= frozen
        assert [c.objects for c in found.failing] == [3]
        assert "local 'young' of running frame test_a_frozen_heap_is_left_frozen" in text
        # The list holding the old node is frozen: invisible to gc.get_referrers, and the text says so.
        assert hidden.startswith("kept alive by: nothing")
        assert f"(gc.freeze() has frozen {frozen} objects, and gc.get_referrers() does not see them" in hidden
    finally:
        gc.unfreeze()


def test_inside_an_outer_window_the_block_keeps_its_garbage_and_passes_on_an_unfreeze() -> None:
    """As under --gc-guard: the outer (freezing) window sees neither the block's cycles nor its
    freed garbage, but learns that the heap was unfrozen inside the block."""
    state = GcState()
    outer = GarbageWindow(state)
    outer.open()
    try:
        ring()  # the outer window's
        with pytest.raises(CycleError), no_cycles():
            keep_error()
        found = find_cycles(ring)
        with no_cycles():
            gc.unfreeze()  # frees the outer window's sentinel into the block's window
    finally:
        result = outer.close()
        state.restore()
    try:
        cycles = explain_garbage(result.garbage)
        assert result.heap_was_unfrozen
        assert [sorted(hop.label for hop in c.path) for c in cycles] == [["Graph(one)", "Graph(three)", "Graph(two)"]]
        assert [c.objects for c in found.failing] == [3]
    finally:
        result.garbage.clear()


# ---- explain

HELD_MODULE = "gcguard_api_held"


@pytest.fixture
def held_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType(HELD_MODULE)
    monkeypatch.setitem(sys.modules, HELD_MODULE, module)
    return module


def test_explain_names_the_module_and_the_global(held_module: Any) -> None:
    held_module.HELD = Graph("held")
    held_module.REGISTRY = [Graph("first"), Graph("second")]
    assert explain(held_module.HELD) == f"kept alive by: module {HELD_MODULE}, global HELD\n  Graph(held)"
    assert explain(held_module.REGISTRY[1]) == (
        f"kept alive by: module {HELD_MODULE}, global REGISTRY\n  list (len=2) --[1]--> Graph(second)"
    )


class Registry:
    items: ClassVar[list[Graph]] = []


def test_explain_names_the_class_and_the_attribute() -> None:
    Registry.items.append(Graph("registered"))
    try:
        text = explain(Registry.items[-1])
    finally:
        Registry.items.clear()
    assert (
        text == f"kept alive by: class {__name__}.Registry, attribute items\n  list (len=1) --[0]--> Graph(registered)"
    )


def _explain_via(get: Callable[[], object]) -> str:
    """explain, called from a frame that does not hold the object itself."""
    return explain(get())


def test_explain_names_a_local_of_a_running_frame() -> None:
    """The caller's local, and a local of a frame further up, are roots; explain's own frames are not."""
    mine = Graph("mine")
    assert explain(mine).startswith(
        "kept alive by: local 'mine' of running frame test_explain_names_a_local_of_a_running_frame (test_api.py:"
    )

    holder = [Graph("deep")]
    text = _explain_via(lambda: holder[0])
    assert text.startswith("kept alive by: local 'holder' of running frame test_explain_names_a_local")
    assert text.endswith("list (len=1) --[0]--> Graph(deep)")


def test_explain_an_object_nothing_refers_to() -> None:
    """Only explain's argument holds it: no referrer, and explain's own frames are not counted."""
    text = explain(Graph("temp"))
    assert text.startswith("kept alive by: nothing -- no global, class attribute, local of a running frame")
    lines = text.splitlines()
    assert lines[1] == "  Graph(temp)"
    # CPython 3.12.1 freezes a few hundred startup objects: explain says the chain may hide there.
    assert lines[2:] == ([lines[2]] if gc.get_freeze_count() else [])


def test_explain_labels_hostile_objects_safely(held_module: Any) -> None:
    held_module.BAD = {"key": Hostile()}
    text = explain(held_module.BAD["key"])
    assert text.startswith(f"kept alive by: module {HELD_MODULE}, global BAD\n  dict (len=1) --['key']--> <")
    held_module.BAD["key"].me = None


# ---- with the plugin: the API inside tests run with --gc-guard

API_TESTS = """
import gc
import weakref

from pytest_gcguard import CycleError, explain, find_cycles, no_cycles
import lib


def state():
    return (gc.isenabled(), gc.get_debug(), gc.get_threshold(), list(gc.callbacks), list(gc.garbage),
            gc.get_freeze_count())


def test_clean_block():
    before = state()
    with no_cycles():
        lib.Graph('alone')
    assert state() == before


def test_ring_in_block():
    lib.ring()  # noqa  (made before the block: the plugin's)
    with no_cycles():
        pass


def test_block_ring_fails():
    before = state()
    try:
        with no_cycles():
            lib.ring()
    finally:
        assert state() == before


def test_block_error_cycle_fails():
    with no_cycles():
        lib.keep_error()


def test_allowed_in_block():
    with no_cycles(allow_types=[lib.Graph]):
        lib.ring()


def test_found():
    before = state()
    found = find_cycles(lib.ring)
    assert state() == before
    assert [c.objects for c in found.failing] == [3]


def test_cycle_after_block():
    with no_cycles():
        pass
    lib.keep_error()


@no_cycles()
def test_decorated_clean():
    lib.Graph('alone')


def test_explain_global():
    text = explain(lib.KEEP)
    assert text == "kept alive by: module lib, global KEEP\\n  Graph(kept)", text


def test_explain_then_cycle():
    text = explain(lib.KEEP)
    assert "global KEEP" in text
    lib.ring()  # made after explain: the plugin still sees it
"""


@pytest.mark.parametrize("guard", [True, False], ids=["gc-guard", "plain"])
def test_the_api_inside_tests_with_and_without_the_plugin(
    pytester: pytest.Pytester,
    guarded: Callable[..., pytest.RunResult],
    inprocess: Callable[..., pytest.RunResult],
    guard: bool,
) -> None:
    """Clean blocks pass; a block's cycle fails its test once, by CycleError; the plugin's verdicts still hold."""
    pytester.makepyfile(lib=GRAPH_LIB, test_inner=API_TESTS)
    # Without the plugin, in process: the blocks judge only their own garbage, as this file's tests do.
    result = guarded("-rA") if guard else inprocess("-rA")
    output = result.stdout.str()
    assert "INTERNALERROR" not in output
    result.stdout.fnmatch_lines(
        [
            "FAILED test_inner.py::test_block_ring_fails - pytest_gcguard.api.CycleError*",
            "FAILED test_inner.py::test_block_error_cycle_fails - pytest_gcguard.api.Cycle*",
        ],
        consecutive=False,
    )
    for name in (
        "test_clean_block",
        "test_allowed_in_block",
        "test_found",
        "test_decorated_clean",
        "test_explain_global",
    ):
        assert f"PASSED test_inner.py::{name}\n" in output + "\n", name
    failures = output.split("= FAILURES =")[1]
    assert_cycle(failures, ["Graph(one)", "Graph(two)", "Graph(three)"], [".next", ".next", ".next"])
    assert_cycle(
        failures,
        ["ValueError('boom')", "traceback", "frame keep_error (lib.py:*)"],
        [".__traceback__", ".tb_frame", "local 'err'"],
    )
    if guard:
        # The plugin judges what was made outside the blocks, and only that.
        result.assert_outcomes(passed=8, failed=2, errors=3)
        result.stdout.fnmatch_lines(
            [
                "*ERROR at teardown of test_ring_in_block*",
                "gc-guard: test created 1 reference cycle (3 objects) that only the cycle collector can free",
            ],
            consecutive=False,
        )
        errors = sorted(line for line in output.splitlines() if line.startswith("ERROR test_inner.py::"))
        assert [line.split(" - ")[0] for line in errors] == [
            "ERROR test_inner.py::test_cycle_after_block",
            "ERROR test_inner.py::test_explain_then_cycle",
            "ERROR test_inner.py::test_ring_in_block",
        ]
    else:
        result.assert_outcomes(passed=8, failed=2)
    assert result.ret == 1


FINALIZER_TESTS = """
import os

from pytest_gcguard import no_cycles


class Holder:
    def __init__(self):
        self.file = open(os.devnull)
        self.me = self


def test_unclosed_file_in_an_allowed_cycle():
    with no_cycles(allow_types=[Holder]):
        Holder()
"""


def test_finalizer_warnings_of_a_blocks_garbage_still_fail_the_test(
    guarded: Callable[..., pytest.RunResult], pytester: pytest.Pytester
) -> None:
    """The block's window hands finalizer warnings made errors to the plugin's window around the test."""
    pytester.makepyfile(test_finalizer=FINALIZER_TESTS)
    result = guarded("-W", "error::ResourceWarning")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unclosed_file_in_an_allowed_cycle*",
            "gc-guard: finalizers of this test's garbage raised warnings that the warning filters make errors:",
            "    ResourceWarning: unclosed file*",
        ]
    )
