"""The engine as a library: the window and the explainer, with no pytest session around them."""

from __future__ import annotations

import functools
import gc
import uuid
from concurrent.futures import Future
from pathlib import Path
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


def _garbage_of(make: Any) -> list[object]:
    """What ``make`` left as cyclic garbage, saved by a window around it: the caller must clear it."""
    state = GcState()
    window = GarbageWindow(state)
    window.open()
    try:
        make()
    finally:
        result = window.close()
        state.restore()
    return result.garbage


def _cycles_of(make: Any) -> list[Cycle]:
    garbage = _garbage_of(make)
    try:
        return explain_garbage(garbage, CodeOwners())
    finally:
        garbage.clear()


def _pair() -> None:
    a, b = Node("a"), Node("b")
    a.other, b.other = b, a


def test_the_window_finds_a_cycle_made_inside_it() -> None:
    """A two-node cycle made in the window is one finding with a labelled path."""
    cycles = _cycles_of(_pair)
    assert [c.kind for c in cycles] == [CYCLE]
    assert format_path(cycles[0].path) == "Node('a') --.other--> Node('b') --.other--> Node('a')"
    assert cycles[0].objects == 2


class Router:
    """werkzeug's URL map in miniature: one map, its rules, each rule a cycle with a bound method of its own."""

    def __init__(self, *names: str) -> None:
        self.by_name = {name: Route(self, name) for name in names}


class Route:
    def __init__(self, router: Router, name: str) -> None:
        self.router, self.name = router, name
        self.build = self.make_url  # a rule's cycle with its own bound method

    def make_url(self) -> str:
        return self.name


def test_a_component_is_told_the_same_whatever_order_the_collector_saved_it_in() -> None:
    """The path is chosen by what the members are (the shortest cycle through a route), not by gc.garbage's order.

    The collector's order depends on what earlier collections moved where, so
    it differs between a test's run and its re-run: a path from the router
    one run and from a route the next read as two shapes, and the re-run's
    cycle did not "recur".
    """
    garbage = _garbage_of(lambda: Router("a", "b", "c"))
    try:
        told = {
            tuple(c.shape for c in explain_garbage(list(order), CodeOwners()))
            for order in (garbage, garbage[::-1], garbage[2:] + garbage[:2])
        }
        assert len(told) == 1
        (shapes,) = told
        assert len(shapes) == 1
        assert shapes[0] == "method .__self__ -> tests.test_engine.Route .build -> (back)"
    finally:
        garbage.clear()


class Client:
    """Starlette's test client in miniature: a bound method of its own, and at times a finished future."""

    def __init__(self, *, with_future: bool) -> None:
        self.send = self.request  # the project's own cycle, in every run
        if with_future:  # a library's cycle joins it in some runs (trio's shuffled scheduling)
            self.future: Future[Client] = Future()
            self.future.set_result(self)

    def request(self) -> None:
        pass


def test_a_librarys_cycle_that_joins_the_projects_does_not_change_how_it_is_told() -> None:
    """The project's kinds start the path: a stdlib future in the component does not make it another shape.

    Told by the kind it has fewest of alone, the component was told by the
    future's cycle in the runs that had one (its type's name sorts first),
    and its fingerprint came and went with the library's scheduling.
    """
    owners = CodeOwners(root=str(Path(__file__).parents[1]))
    told = []
    for with_future in (False, True):
        garbage = _garbage_of(functools.partial(Client, with_future=with_future))
        try:
            told.append([c.shape for c in explain_garbage(garbage, owners)])
        finally:
            garbage.clear()
    assert told[0] == told[1] == ["method .__self__ -> tests.test_engine.Client .send -> (back)"]


def _wrap_dict() -> None:
    """structlog's ``wrap_dict`` in miniature: a class per call, named with a uuid, dropped at once."""
    type(f"WrappedDict-{uuid.uuid4()}", (dict,), {})


def test_a_class_named_anew_on_every_call_makes_one_shape() -> None:
    """A generated name (a uuid, a long hex number) is one name in a shape: the cycle recurs in a re-run.

    With the uuid in its shape, each run's class cycle was another shape,
    so a per-call cycle was told one-time (structlog's suite: 18 tests).
    """
    shapes = []
    for _ in range(2):
        garbage = _garbage_of(_wrap_dict)
        try:
            shapes.append({c.shape for c in explain_garbage(garbage, CodeOwners())})
        finally:
            garbage.clear()
    assert shapes[0] == shapes[1]
    assert any("WrappedDict-<id>" in shape for shape in shapes[0])


def _router_without_builders() -> None:
    router = Router("a")
    for route in router.by_name.values():
        route.build = None  # type: ignore[assignment]


def test_a_re_run_finds_a_wanted_shape_inside_a_component_another_cycle_tells() -> None:
    """The router's cycle, told alone in one run, is found in the next even where a route's own loop tells it.

    A component is told by one of its cycles, and which depends on what else
    it holds that run (Starlette's test client, joined by an exception's
    traceback in one run and not the next): the re-run looks for the wanted
    shape through its other members too, or the first run's shape would not
    "recur".
    """
    first = _garbage_of(_router_without_builders)
    try:
        (told,) = explain_garbage(first, CodeOwners())
    finally:
        first.clear()
    assert told.shape == "dict [] -> tests.test_engine.Route .router -> tests.test_engine.Router .by_name -> (back)"
    again = _garbage_of(lambda: Router("a", "b"))
    try:
        exemplars = explain_garbage(list(again), CodeOwners(), shapes_only=True)
        assert told.shape_key not in {c.shape_key for c in exemplars}  # (told by a route's own loop)
        found = explain_garbage(again, CodeOwners(), shapes_only=True, until_found=frozenset({told.shape_key}))
        assert told.shape_key in {c.shape_key for c in found}
    finally:
        again.clear()


def _recursive_closures() -> None:
    """Three recursive closures, 4, 3 and 2 of each: every one a function, its closure tuple and a cell."""
    for count, name in ((4, "walk"), (3, "match"), (2, "view")):
        for _ in range(count):
            exec(f"def make():\n    def {name}():\n        return {name}\n    return {name}\nmake()", {})


def test_cycles_alike_but_for_their_functions_are_counted_each_under_its_own_shape() -> None:
    """Past three cycles of one kind, size and member types, the rest are counted onto the first -- by function too.

    By types alone, the three described first (in the collector's order)
    took the counts of the others: werkzeug's ``update`` closure was
    counted under ``match`` in one run and not in its re-run.
    """
    garbage = _garbage_of(_recursive_closures)
    try:
        told = set()
        for order in (garbage, garbage[::-1]):
            cycles = [c for c in explain_garbage(list(order)) if "<locals>" in c.shape]  # (not make's own)
            counts = {c.shape.split("function:")[1].split(" ")[0]: c.count for c in cycles}
            told.add(tuple(sorted(counts.items())))
        assert told == {(("make.<locals>.match", 3), ("make.<locals>.view", 2), ("make.<locals>.walk", 4))}
    finally:
        garbage.clear()


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
import functools
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


def test_a_collection_that_frees_exactly_what_was_dropped_is_not_repeated(monkeypatch: Any) -> None:
    """``collect_unsaved(n)``: one collection when it frees the n objects let go of; settled as before otherwise."""
    from pytest_gcguard.engine import callbacks

    rounds: list[int] = []

    def counting(generation: int = 2) -> int:
        found = gc.collect(generation)
        rounds.append(found)
        return found

    def two_lists() -> None:
        a: list[object] = []
        a.append([a])  # two objects in a cycle, dropped (lists: no instance dict on 3.9/3.10)

    gc.collect()
    monkeypatch.setattr(callbacks, "_COLLECT", counting)
    two_lists()
    callbacks.collect_unsaved(2)
    assert rounds == [2]
    rounds.clear()
    two_lists()
    callbacks.collect_unsaved(5)  # not what it found: the next collection makes sure nothing bred
    assert rounds == [2, 0]
