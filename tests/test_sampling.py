"""One collection that finds a huge amount of garbage at once is sampled (Hardening II, item 7).

The window's cap bounds the analysis of one huge component as it bounds
that of many small ones: a million hangers-on of a list holding itself, a
ring of 200,000 nodes.  Before, the first batch a collection saved was kept
whole and analysed whole: about 350 bytes and 7 µs an object.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest

from pytest_gcguard.engine import batch
from pytest_gcguard.engine.saving import SAVE_CAP
from pytest_gcguard.engine.saving import SavedGarbage


# The code under test's classes: a cycle among a test module's own instances is test-local.
SAMPLING_LIB = """
import gc


class Node:
    pass


class Lazy:
    pass


class Noting:
    def __init__(self):
        self.me = self

    def __del__(self):
        gc.garbage.append("noted by a finalizer")


class Watched:
    def __init__(self):
        self.me = self
"""

HUGE = """
from samplelib import Node


def test_list_holding_itself():
    hangers = [[] for _ in range(10**6)]
    hangers.append(hangers)


def test_ring():
    first = node = Node()
    for _ in range(200_000 - 1):
        node.next = Node()
        node = node.next
    node.next = first
"""


# Writes the inner session's peak memory (kB on Linux) to the file named by PEAK_FILE.
PEAK_CONFTEST = """
import json, os, resource

def pytest_unconfigure(config):
    with open(os.environ["PEAK_FILE"], "w") as f:
        json.dump(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, f)
"""


def _peak(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, run: Callable[[], object], name: str) -> int:
    path = pytester.path / name
    monkeypatch.setenv("PEAK_FILE", str(path))
    run()
    return int(json.loads(path.read_text()))


def _tests(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    report = json.loads((pytester.path / "report.json").read_text())
    return {entry["nodeid"].split("::")[1]: entry for entry in report["tests"]}


def _analysed(entry: dict[str, Any]) -> int:
    return sum(finding["objects"] + finding["kept_alive"] for finding in entry["findings"])


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kB on Linux")
def test_one_huge_collection_is_sampled_and_counted_exactly(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Both tests fail, saying so; at most the cap's worth is analysed, the rest is counted to the object,
    and the guarded run's peak memory stays near the plain run's (before: 414 MB against 114 MB)."""
    pytester.makeconftest(PEAK_CONFTEST)
    pytester.makepyfile(samplelib=SAMPLING_LIB, test_huge=HUGE)
    results: list[pytest.RunResult] = []
    guarded_peak = _peak(
        pytester,
        monkeypatch,
        lambda: results.append(guarded("--gc-guard-report=report.json", "-p", "no:randomly")),
        "guarded.json",
    )
    plain_peak = _peak(
        pytester,
        monkeypatch,
        lambda: pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist").assert_outcomes(passed=2),
        "plain.json",
    )
    assert guarded_peak < 1.5 * plain_peak, (guarded_peak, plain_peak)
    [result] = results
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_list_holding_itself*",
            "gc-guard: test created 1 reference cycle (1 object) that only the cycle collector can free",
            "    list (len=1000001) --[[]1000000[]]--> list (len=1000001)",
            "  +996001 more objects in cycles, freed without being analysed*",
            "  sampled: one collection found 1000001 objects of cyclic garbage at once; gc-guard analysed*",
            "*ERROR at teardown of test_ring*",
            "    Node --.next--> Node --.next--> *   (cut short: the cycle goes on past the sample*)",
        ]
    )
    tests = _tests(pytester)
    listed, ring = tests["test_list_holding_itself"], tests["test_ring"]
    assert listed["sampled"] == 10**6 + 1
    assert _analysed(listed) == SAVE_CAP
    assert _analysed(listed) + listed["unsaved"] == 10**6 + 1
    # On 3.9/3.10 each node's __dict__ is an object of its own.
    per_node = 2 if sys.version_info < (3, 11) else 1
    assert ring["sampled"] == 200_000 * per_node
    assert _analysed(ring) <= SAVE_CAP
    assert _analysed(ring) + ring["unsaved"] == 200_000 * per_node
    [cut] = ring["findings"]
    assert cut["sampled"] and not cut["traced"] and cut["status"] == "failed"


FINALIZED = """
import gc
import weakref

import pytest

from samplelib import Node
from samplelib import Noting
from samplelib import Watched

pytestmark = pytest.mark.allow_cycles(reason="drops a huge ring on purpose")


WATCHERS = []


def test_a_finalizer_appends_while_a_huge_ring_is_freed():
    gc.disable()  # one collection finds it all
    try:
        Noting()
        # A weak reference with a callback, freed by it: the collection's count
        # is one more than the objects it saved, room for the finalizer's entry.
        WATCHERS.append(weakref.ref(Watched(), WATCHERS.remove))
        first = node = Node()
        for _ in range(30_000):
            node.next = Node()
            node = node.next
        node.next = first
        del first, node
        gc.collect()
    finally:
        gc.enable()
    try:
        assert gc.garbage == ["noted by a finalizer"]
    finally:
        gc.garbage.clear()
"""


def test_what_a_finalizer_appended_stays_when_a_huge_batch_is_sampled(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A batch too long to check whole (batch.EXACT_TAIL) is placed by its head: the finalizer's entry stays."""
    pytester.makepyfile(samplelib=SAMPLING_LIB, test_finalized=FINALIZED)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist").assert_outcomes(passed=1)
    result = guarded("-rA")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*Node --.next--> Node --.next--> * (cut short: the cycle goes on past the sample*"])


def _tail(foreign: list[object], ring: int, holding: int) -> list[object]:
    """A stand-in for gc.garbage: ``foreign`` objects first, then a ring and a list holding itself, referred
    to by nothing else (as what a collection saved is)."""
    nodes = [Slotted() for _ in range(ring)]
    for node, following in zip(nodes, nodes[1:] + nodes[:1]):
        node.next = following
    if foreign:
        nodes[-1].other = foreign[-1]  # the collection's garbage may refer to anything
    hangers: list[object] = [[] for _ in range(holding)]
    hangers.append(hangers)
    return [*foreign, *nodes, *hangers]


class Slotted:
    __slots__ = ("next", "other")

    next: Slotted
    other: object


KEPT: list[object] = []


@pytest.mark.parametrize("fresh", [0, 1, 3])
@pytest.mark.parametrize("held", [0, 1, 3])
def test_the_head_of_a_long_tail_places_it_as_the_whole_tail_does(fresh: int, held: int) -> None:
    """What finalizers appended (held elsewhere, or fresh) before a long batch: the head alone finds the boundary."""
    foreign: list[object] = []
    for _ in range(held):
        KEPT.append([])
        foreign.append(KEPT[-1])
    foreign += [[] for _ in range(fresh)]
    tail = _tail(foreign, batch.EXACT_TAIL, 100)
    del foreign
    try:
        whole = batch._closed_tail(tail, 0, set())
        assert batch._closed_head(tail, 0, set()) == whole
        assert whole <= held + fresh
    finally:
        tail.clear()
        KEPT.clear()


def test_a_head_of_foreign_objects_only_is_left_to_the_whole_check() -> None:
    """More objects held elsewhere than the head has room for: it cannot tell, and says so."""
    KEPT.extend([] for _ in range(batch.HEAD + 1))
    tail = _tail(list(KEPT), batch.EXACT_TAIL, 0)
    try:
        assert batch._closed_head(tail, 0, set()) is None
        assert batch._closed_tail(tail, 0, set()) == batch.HEAD + 1
    finally:
        tail.clear()
        KEPT.clear()


# A cycle made on the first run only, in a test that also makes more cyclic
# garbage than a window keeps: the re-run's window keeps part of its garbage.
LAZY_AND_BIG = """
import gc

from samplelib import Lazy
from samplelib import Node

_READY = []

def test_big_and_lazy():
    if not _READY:
        _READY.append(True)
        lazy = Lazy()
        lazy.me = lazy
        del lazy
        gc.collect()  # found first, before the window's cap is reached
    for _ in range(6000):
        node = Node()
        node.me = node
"""


def test_a_re_run_that_kept_part_of_its_garbage_proves_no_cycle_one_time(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A shape missing from a capped re-run may be in the part not kept: it is not called one-time."""
    pytester.makepyfile(samplelib=SAMPLING_LIB, test_lazy=LAZY_AND_BIG)
    result = guarded("--gc-guard-report=report.json", "-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    findings = _tests(pytester)["test_big_and_lazy"]["findings"]
    [finding] = [f for f in findings if f["shape"].startswith("samplelib.Lazy")]
    assert finding["status"] == "failed"


def _objects(n: int) -> list[object]:
    return [[i] for i in range(n)]  # (distinct lists: ids kept distinct while they live)


def test_what_the_window_gives_back_is_saved_again_with_what_it_kept_alive() -> None:
    """The last collection saves the given-back objects and the ones only they kept alive, all analysed."""
    saves = SavedGarbage(cap=10)
    first = _objects(4)
    saves.keep(first)
    saves.give_back()
    assert saves.objects == []
    kept_alive = _objects(3)  # (a test's frame and its locals, freed only once the saved garbage was dropped)
    saves.keep(first + kept_alive)
    assert saves.objects == first + kept_alive
    assert saves.saving and not saves.sampled and not saves.unanalysed


def test_what_the_window_gives_back_past_the_cap_is_kept_and_the_rest_released_not_sampled() -> None:
    """Past the cap the batch is not a first batch to sample: what was kept stays kept, saving stops."""
    saves = SavedGarbage(cap=10)
    first = _objects(8)
    saves.keep(first)
    saves.give_back()
    more = _objects(6)
    saves.keep(more[:3] + first + more[3:])
    assert saves.objects == first
    assert not saves.saving and not saves.sampled and not saves.unanalysed


def test_nothing_is_given_back_once_saving_stopped() -> None:
    """A window past its cap keeps what it kept: the last collection saves nothing more."""
    saves = SavedGarbage(cap=10)
    first = _objects(8)
    saves.keep(first)
    saves.keep(_objects(5))  # past the cap: released, saving stops
    saves.give_back()
    assert saves.objects == first
