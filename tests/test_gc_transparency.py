"""What other code sees of the collector while gc-guard watches: exactly what it sees without it.

Other ``gc.callbacks`` entries (registered before gc-guard's or after),
finalizers that touch ``gc.garbage`` during a collection, and a test that
removes gc-guard's entries: each inner suite passes without the plugin, and
must pass with it too (hardening II, items 12, 13 and 15).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_gcguard.engine.callbacks import is_our_callback
from pytest_gcguard.engine.window import UNWATCHED_NOTE
from pytest_gcguard.engine.window import GarbageWindow
from pytest_gcguard.engine.window import GcState


def _both(pytester: pytest.Pytester, *args: str, passed: int) -> pytest.RunResult:
    """Run the inner suite without the plugin, then with it: both must pass; the guarded run is returned."""
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", *args)
    plain.assert_outcomes(passed=passed)
    guarded = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist", *args)
    guarded.assert_outcomes(passed=passed)
    guarded.stdout.no_fnmatch_line("*INTERNALERROR*")
    return guarded


# -- item 12: other gc.callbacks entries ---------------------------------------

OBSERVING_CONFTEST = """
import gc
import json

SEEN = []


def observer(who):
    def observe(phase, info):
        SEEN.append((who, phase, gc.get_debug(), len(gc.garbage)))
    return observe


# Registered at import: before gc-guard's entries, for the whole session.
gc.callbacks.append(observer("conftest"))
"""

OBSERVED_TESTS = """
import gc
import json

import pytest

from conftest import SEEN, observer


def drop_a_cycle():
    # pytest.raises: the ExceptionInfo holds the traceback, which holds this
    # frame, which holds the ExceptionInfo -- garbage once this returns.
    with pytest.raises(ValueError) as excinfo:
        raise ValueError("expected")


def test_other_callbacks_see_the_collector_as_without_gc_guard():
    appended, inserted = observer("appended"), observer("inserted")
    gc.callbacks.append(appended)  # after gc-guard's entries
    gc.callbacks.insert(0, inserted)  # before them
    try:
        drop_a_cycle()
        SEEN.clear()
        gc.collect()
        # Where the test put them, between collections too.
        assert gc.callbacks[0] is inserted and gc.callbacks[-1] is appended
    finally:
        gc.callbacks.remove(appended)
        gc.callbacks.remove(inserted)
    assert {(who, phase) for who, phase, _, _ in SEEN} == {
        (who, phase) for who in ("conftest", "appended", "inserted") for phase in ("start", "stop")
    }
    assert [seen for seen in SEEN if seen[2] or seen[3]] == []  # no DEBUG_SAVEALL, gc.garbage empty


def test_the_callback_appended_last_is_the_last_one():
    appended = observer("popped")
    gc.callbacks.append(appended)
    drop_a_cycle()
    gc.collect()
    assert gc.callbacks.pop() is appended
"""


def test_other_gc_callbacks_never_see_our_flag_nor_our_garbage(pytester: pytest.Pytester) -> None:
    """Callbacks before and after gc-guard's see no DEBUG_SAVEALL and an empty gc.garbage, at start and stop.

    Before, one entry appended at the window's start: a conftest's callback
    saw the flag and the pytest.raises cycle in gc.garbage at "stop", and one
    the test appended saw the flag at "start" -- the test failed in warn mode.
    """
    pytester.makeconftest(OBSERVING_CONFTEST)
    pytester.makepyfile(test_observed=OBSERVED_TESTS)
    _both(pytester, "--gc-guard-mode=warn", passed=2)


# -- item 13: finalizers that touch gc.garbage ---------------------------------

# The code under test: classes whose finalizers touch gc.garbage (a cycle among a
# test module's own instances is test-local, and shown only with -v).
FINALIZER_LIB = """
import gc
import json
import weakref


class Noting:
    def __init__(self):
        self.me = self

    def __del__(self):
        gc.garbage.append("noted by a finalizer")


class Clearing:
    def __init__(self):
        self.me = self

    def __del__(self):
        gc.garbage.clear()


class Watched:
    def __init__(self):
        self.me = self


WATCHERS = []


def watched_cycle():
    # A weak reference with a callback, freed by it: the collection's
    # "collected" counts it too, one more than the objects it saved.
    WATCHERS.append(weakref.ref(Watched(), WATCHERS.remove))
"""

FINALIZER_TESTS = """
import gc

import pytest

from finalizers import Clearing
from finalizers import Noting
from finalizers import watched_cycle

pytestmark = pytest.mark.allow_cycles(reason="each test drops a cycle on purpose")


def test_a_finalizer_appends_to_gc_garbage():
    Noting()
    gc.collect()
    try:
        assert gc.garbage == ["noted by a finalizer"]
    finally:
        gc.garbage.clear()


def test_a_finalizer_appends_while_a_weak_reference_is_freed():
    Noting()
    watched_cycle()
    gc.collect()
    try:
        assert gc.garbage == ["noted by a finalizer"]
    finally:
        gc.garbage.clear()


def test_a_finalizer_clears_gc_garbage():
    gc.garbage.append("the test's own")
    Clearing()
    gc.collect()
    assert gc.garbage == []
"""


def test_what_finalizers_do_to_gc_garbage_stays_done(pytester: pytest.Pytester) -> None:
    """gc-guard takes exactly the objects the collection saved: a finalizer's entries stay, a cleared list stays empty.

    Before, it took a slice from gc.garbage's length at "start": the entry
    a finalizer appended went with the saved objects, and after a finalizer
    cleared the list the saved objects stayed in it.  (The collection's
    count cannot place them either: a freed weak reference counts too.)
    """
    pytester.makepyfile(finalizers=FINALIZER_LIB, test_finalizers=FINALIZER_TESTS)
    result = _both(pytester, "-rA", passed=3)
    # ... and gc-guard still saw every cycle.
    output = result.stdout.str()
    for shape in ("Noting --.me--> Noting", "Clearing --.me--> Clearing", "Watched --.me--> Watched"):
        assert shape in output


# -- item 15: a test that removes gc-guard's entries -----------------------------

REMOVING_TESTS = """
import gc
import json

import pytest

from rings import Ring


@pytest.fixture
def ring():
    return Ring()


def test_clears_the_callbacks(ring):
    gc.callbacks.clear()
"""


def test_an_entry_removed_by_the_test_is_put_back_for_the_last_collection(pytester: pytest.Pytester) -> None:
    """A cycle that is still garbage when the window closes is found, though the test cleared gc.callbacks.

    (The fixture's Ring becomes garbage only as the window closes.)  Before,
    the window's last collection ran without our callback: a silent pass.
    """
    ring = "class Ring:\n    def __init__(self):\n        self.me = self\n"
    pytester.makepyfile(rings=ring, test_removing=REMOVING_TESTS)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist")
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    assert "Ring --.me--> Ring" in result.stdout.str()


UNWATCHED_TESTS = """
import gc
import json


class Ring:
    def __init__(self):
        self.me = self


def test_clears_the_callbacks_then_collects():
    gc.callbacks.clear()
    Ring()
    gc.collect()  # frees the ring: gc-guard cannot see it
"""


def test_collections_without_our_entry_leave_the_test_not_judged(pytester: pytest.Pytester) -> None:
    """A cycle freed while gc-guard's entry was gone is not a silent pass: the test is reported not judged."""
    pytester.makepyfile(test_unwatched=UNWATCHED_TESTS)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist", "-rA")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*the test removed gc-guard's entry from gc.callbacks*collections ran unwatched*"])


class Ring:
    __slots__ = ("me",)  # (no __dict__ of its own on 3.9/3.10: one object per ring)

    def __init__(self) -> None:
        self.me: object = self


@pytest.fixture
def window() -> Iterator[GarbageWindow]:
    """An open window, with automatic collections off: only the test's own collections run."""
    state = GcState()
    opened = GarbageWindow(state)
    was_enabled = gc.isenabled()
    gc.disable()
    opened.open()
    try:
        yield opened
    finally:
        opened.detach()
        state.restore()
        if was_enabled:
            gc.enable()


def _ours(window: GarbageWindow) -> list[Any]:
    """The window's entries in gc.callbacks."""
    return [callback for callback in gc.callbacks if is_our_callback(callback, window._entries)]


def _remove_entry(window: GarbageWindow) -> Any:
    (entry,) = _ours(window)
    gc.callbacks.remove(entry)
    return entry


def _close(window: GarbageWindow) -> tuple[list[type], bool, str | None]:
    result = window.close()
    try:
        return [type(obj) for obj in result.garbage], result.unwatched, result.not_judged
    finally:
        result.garbage.clear()


def test_a_window_whose_entry_the_test_removed_is_not_judged(window: GarbageWindow) -> None:
    """Our entry gone: the window puts it back for its last collection, and says why not to judge."""
    _remove_entry(window)
    Ring()
    gc.collect()  # unwatched: this ring is freed unseen
    Ring()  # still garbage when the window closes
    assert _close(window) == ([Ring], True, UNWATCHED_NOTE)


def test_an_entry_put_back_before_the_window_closes_is_judged_as_usual(window: GarbageWindow) -> None:
    """Removed and put back (``saved = gc.callbacks[:]`` ...): judged as usual -- collections in between go unseen.

    (Telling would take the collector's count, gc.get_stats(), twice a
    window: about 20,000 instructions, half again what a window costs.)
    """
    entry = _remove_entry(window)
    Ring()
    gc.callbacks.append(entry)
    assert _close(window) == ([Ring], False, None)


def test_each_callback_runs_once_per_phase_in_the_test_s_order(window: GarbageWindow) -> None:
    """Moving our entry, and adding a second one, for a collection skips no other callback and runs none twice."""
    calls: list[tuple[str, str]] = []

    def first(phase: str, info: dict[str, Any]) -> None:
        calls.append(("first", phase))

    def last(phase: str, info: dict[str, Any]) -> None:
        calls.append(("last", phase))

    gc.callbacks.insert(0, first)
    gc.callbacks.append(last)
    try:
        Ring()
        gc.collect()
        gc.collect()
        assert calls == [("first", "start"), ("last", "start"), ("first", "stop"), ("last", "stop")] * 2
        assert gc.callbacks[0] is first and gc.callbacks[-1] is last
        assert len(_ours(window)) == 1  # the second entry is there for a collection only
    finally:
        gc.callbacks.remove(first)
        gc.callbacks.remove(last)
    kinds, unwatched, _ = _close(window)
    assert (kinds, unwatched) == ([Ring], False)


# -- the test's own gc.collect(): its garbage is gone when it returns -----------

OWN_COLLECT_TESTS = """
import gc
import json
import sys

import pytest


class Target:
    pass


class Node:
    pass


def drop_cycles(target):
    for _ in range(3):
        cycle = [target]
        cycle.append(cycle)
        del cycle


@pytest.mark.allow_cycles
def test_referrers_after_own_collect():
    # AnyIO's test_run_sync_worker_cyclic_references does this.
    target = Target()
    alone = sys.getrefcount(target)
    drop_cycles(target)
    gc.collect()
    # (3.13's get_referrers also lists its own argument tuple: lists only.)
    assert [obj for obj in gc.get_referrers(target) if type(obj) is list] == []
    assert sys.getrefcount(target) == alone
    assert not holders_of(target)


def holders_of(target):
    return [obj for obj in gc.get_objects() if type(obj) is list and obj and obj[0] is target]


class CollectsWhenFreed:
    def __del__(self):
        gc.collect()  # inside a collection: returns 0


@pytest.mark.allow_cycles
def test_a_finalizer_collects():
    # The collector's own, as an automatic collection is: what it saves stays saved till the window closes.
    collect = getattr(gc.collect, "__wrapped__", gc.collect)

    a = Node()
    a.me = a
    del a
    collect()
    b = CollectsWhenFreed()
    b.me = b
    del b
    collect()


@pytest.mark.allow_cycles
def test_own_callback_sees_one_collection():
    calls = []

    def count(phase, info):
        calls.append(phase)

    gc.callbacks.append(count)
    try:
        a = Node()
        a.me = a
        del a
        gc.collect()
    finally:
        gc.callbacks.remove(count)
    assert calls == ["start", "stop"]
"""


def test_own_collect_frees_what_it_found_and_the_findings_stay(pytester: pytest.Pytester) -> None:
    """A test's own gc.collect() leaves nothing of its garbage alive (saved for the window), and it is still found."""
    pytester.makepyfile(test_own=OWN_COLLECT_TESTS)
    _both(pytester, "--gc-guard-report=report.json", passed=3)
    report = json.loads((pytester.path / "report.json").read_text())
    found = {
        test["nodeid"].split("::")[-1]: sorted((f["shape"], f["count"], f["status"]) for f in test["findings"])
        for test in report["tests"]
    }
    assert found == {
        "test_referrers_after_own_collect": [("list [] -> (back)", 3, "allowed")],
        # (Instances of the test module's own classes: test-local, so "info", not "allowed".)
        "test_own_callback_sees_one_collection": [("test_own.Node .me -> (back)", 1, "info")],
        "test_a_finalizer_collects": [
            ("test_own.CollectsWhenFreed .me -> (back)", 1, "info"),
            ("test_own.Node .me -> (back)", 1, "info"),
        ],
    }


FROZEN_REFERRER_TESTS = """
import gc
import random

R = random.Random()


def namespaces_referring(obj):
    # (3.13's get_referrers also lists its own argument tuple: the module's namespace only.)
    return [r for r in gc.get_referrers(obj) if type(r) is dict and r.get("__name__") == __name__]


def test_referrers_of_a_global():
    gc.collect()
    assert namespaces_referring(R)


def test_referrers_of_a_global_unfrozen():
    gc.unfreeze()  # the documented workaround
    gc.collect()
    assert namespaces_referring(R)
"""


def test_referrers_miss_the_frozen_heap_and_the_workaround_passes_not_judged(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """gc.get_referrers() misses frozen referrers under the guard (a documented limit); the workaround
    (gc.unfreeze()) passes, not judged."""
    pytester.makepyfile(test_frozen=FROZEN_REFERRER_TESTS)
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    plain.assert_outcomes(passed=2)
    result = guarded("-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_referrers_of_a_global_unfrozen: the test unfroze the heap*"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


REFERRERS_IN_A_GENERATOR = """
import gc


class Thing:
    pass


def referrers():
    thing = Thing()
    yield len(gc.get_referrers(thing))


def test_referrers_in_a_generator():
    with open("counts.txt", "a") as out:
        out.write(f"{next(referrers())}\\n")
"""


def test_what_gc_get_referrers_returns_inside_a_generator_is_unchanged(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """gc-guard puts no Python stand-in in place of gc.get_referrers: calling one from a generator or coroutine
    saves its stack pointer, and the running generator becomes a referrer of its own locals (trio's
    test_ki_protection_doesnt_leave_cyclic_garbage failed so on 3.11)."""
    pytester.makepyfile(test_gen=REFERRERS_IN_A_GENERATOR)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist").assert_outcomes(passed=1)
    guarded().assert_outcomes(passed=1)
    plain, under_guard = (pytester.path / "counts.txt").read_text().split()
    assert under_guard == plain


HEAP_LOOKING_TESTS = """
import gc

import ringlib

KEPT = object()  # a module global: older than the test's window, so frozen during it


def test_referrers_after_a_collection():
    gc.collect()
    assert gc.get_referrers(KEPT)  # (Hypothesis's register_random checks the same)


def test_collects_and_nothing_more():
    ringlib.ring()
    gc.collect()
"""


def test_a_collection_meant_to_look_at_the_whole_heap_sees_it(pytester: pytest.Pytester) -> None:
    """gc.collect() then gc.get_referrers(): the module global's referrer is seen, the test left not judged.

    A test that only collects keeps its window frozen, and its findings judged.
    """
    pytester.makepyfile(ringlib="def ring():\n    node = {}\n    node['me'] = node\n", test_heap=HEAP_LOOKING_TESTS)
    _both(pytester, "--gc-guard-mode=warn", "--gc-guard-report=report.json", passed=2)
    tests = {t["nodeid"]: t for t in json.loads((pytester.path / "report.json").read_text())["tests"]}
    looking = tests["test_heap.py::test_referrers_after_a_collection"]
    assert looking.get("note") == "the test unfroze the heap (gc.unfreeze()): older garbage was collected with its own"
    collecting = tests["test_heap.py::test_collects_and_nothing_more"]
    assert "note" not in collecting
    assert [f["status"] for f in collecting["findings"]] == ["warned"]
