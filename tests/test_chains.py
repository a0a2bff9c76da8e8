"""Referrer chains and live counts, as a library (no pytest session around them)."""

from __future__ import annotations

import codecs
import gc
import io
import itertools
import threading
import time
from typing import Any
from typing import ClassVar

import pytest
from _pytest.capture import CaptureIO

from pytest_gcguard.engine.chains import BUDGET_SPENT
from pytest_gcguard.engine.chains import opaque_holders
from pytest_gcguard.engine.chains import referrer_chain
from pytest_gcguard.engine.introspect import is_python_class
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.survivors import count_live
from pytest_gcguard.engine.survivors import grows_every_time


class Entry:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Entry({self.name!r})"


REGISTRY: list[Entry] = []


class Cache:
    store: ClassVar[dict[str, Any]] = {}


def _path(chain: Any) -> list[tuple[str, str]]:
    return [(hop.label, hop.edge) for hop in chain.hops]


def test_a_module_global_is_the_root() -> None:
    """module M, global NAME, then the list index down to the object."""
    REGISTRY.extend(Entry(str(i)) for i in range(3))
    try:
        target = REGISTRY[2]
        chain = referrer_chain(target, labeller=Labeller([__name__]), siblings=frozenset(map(id, REGISTRY)))
        assert chain.root == f"module {__name__}, global REGISTRY"
        assert _path(chain) == [("list (len=3)", "[2]"), ("Entry('2')", "")]
        assert chain.complete
        assert chain.shared == 3
    finally:
        REGISTRY.clear()


def test_a_chain_does_not_depend_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chain is part of a leak's fingerprint: a slow machine must find the same one (no deadline)."""
    REGISTRY.append(Entry("kept"))
    try:
        expected = referrer_chain(REGISTRY[0], labeller=Labeller([__name__]))
        assert expected.complete and expected.root == f"module {__name__}, global REGISTRY"
        ticks = itertools.count(0.0, 1000.0)  # a clock that jumps 1000 s at every look
        monkeypatch.setattr(time, "monotonic", lambda: next(ticks))
        monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
        assert referrer_chain(REGISTRY[0], labeller=Labeller([__name__])) == expected
    finally:
        REGISTRY.clear()


def test_a_search_over_its_budget_says_so_the_same_way_every_time() -> None:
    """The budget counts referrers and their referents read: the same heap, the same cut."""
    target = Entry("wide")
    holders = [[target] for _ in range(5_000)]  # 5,000 referrers on the first level alone
    try:
        first = referrer_chain(target, budget=1_000)
        assert first.root == BUDGET_SPENT and not first.complete
        assert referrer_chain(target, budget=1_000).root == BUDGET_SPENT
        assert referrer_chain(target).complete  # (the default budget reaches the test's frame)
    finally:
        holders.clear()
        del target


def test_a_class_attribute_is_the_root_and_the_namespace_is_skipped() -> None:
    """class C, attribute A: the chain starts at the attribute's value, not at the class's __dict__."""
    Cache.store["deep"] = {"list": [Entry("x")]}
    try:
        chain = referrer_chain(Cache.store["deep"]["list"][0])
        assert chain.root == f"class {__name__}.Cache, attribute store"
        assert _path(chain) == [
            ("dict (len=1)", "['deep']"),
            ("dict (len=1)", "['list']"),
            ("list (len=1)", "[0]"),
            ("Entry('x')", ""),
        ]
    finally:
        Cache.store.clear()


KEPT_CLASSES: dict[type, int] = {}


def test_a_class_no_module_holds_is_no_root() -> None:
    """A test's local class kept by a cache (Pympler's, keyed by class): the cache is the root, not the class."""

    class Local:
        store: ClassVar[list[Entry]] = [Entry("y")]

    KEPT_CLASSES[Local] = 1
    try:
        chain = referrer_chain(Local.store[0])
        assert chain.root == f"module {__name__}, global KEPT_CLASSES"
        assert [label for label, _ in _path(chain)][-2:] == ["list (len=1)", "Entry('y')"]
    finally:
        KEPT_CLASSES.clear()


def test_a_running_thread_s_local_is_the_root() -> None:
    """Running frames are never referrers; their locals are found through sys._current_frames()."""
    ready, stop = threading.Event(), threading.Event()

    def hold(obj: Entry) -> None:
        ready.set()
        stop.wait(10)

    thread = threading.Thread(target=hold, args=(Entry("held"),), name="keeper")
    thread.start()
    ready.wait(10)
    try:
        target = next(o for o in _thread_locals(thread) if type(o) is Entry)
        chain = referrer_chain(target)
        assert chain.root.startswith("local 'obj' of running frame ")
        assert chain.root.endswith(" in thread keeper")
        del target
    finally:
        stop.set()
        thread.join()


def _thread_locals(thread: threading.Thread) -> list[object]:
    import sys

    found: list[object] = []
    frame: Any = sys._current_frames()[thread.ident]  # type: ignore[index]
    while frame is not None:
        found.extend(frame.f_locals.values())
        frame = frame.f_back
    return found


def test_an_object_nothing_visible_refers_to() -> None:
    """With no Python referrer, the chain says so."""
    chain = referrer_chain(Entry("lonely"))
    assert chain.root == "C code (no Python referrer)"


def test_the_search_is_cut_at_its_depth() -> None:
    """Depth-limited: an honest 'chain cut at depth N'."""
    REGISTRY.append(Entry("deep"))
    try:
        nested: Any = REGISTRY
        chain = referrer_chain(REGISTRY[0], max_depth=0)
        assert chain.root == "chain cut at depth 0"
        assert not chain.complete
        del nested
    finally:
        REGISTRY.clear()


def test_live_counts_and_growth() -> None:
    """count_live counts instances; growth needs every delta >= 1."""
    before = count_live([Entry])[0]
    kept = [Entry(str(i)) for i in range(5)]
    assert count_live([Entry])[0] == before + 5
    del kept
    assert grows_every_time([10, 90, 170, 250])
    assert not grows_every_time([10, 90, 90, 170])
    assert not grows_every_time([8, 8, 8])
    assert not grows_every_time([5])
    assert grows_every_time([3, 4]) and not grows_every_time([3, 3])


def test_python_classes_are_told_from_c_types() -> None:
    """Suspects are instances of classes made by a class statement, not C types."""
    import re

    assert is_python_class(Entry)
    assert not is_python_class(dict)
    assert not is_python_class(type(re.compile("x"))) or __import__("sys").version_info < (3, 10)


class Slot:
    __slots__ = ("x",)  # no __weakref__: counted over the heap instead


def test_the_tracker_sees_growth_and_eviction() -> None:
    """Weakly tracked survivors: a registry grows, a bounded cache that evicts does not."""
    from collections import deque

    from pytest_gcguard.engine.survivors import LiveTracker

    registry: list[Entry] = []
    recent: deque[Entry] = deque(maxlen=2)
    tracker = LiveTracker([Entry, Slot])
    series = []
    kept_slots = []
    for run in range(3):
        made = [Entry(f"{run}-{i}") for i in range(2)]
        registry.append(made[0])
        recent.extend(made)
        kept_slots.append(Slot())
        tracker.track([*made, kept_slots[-1]])
        del made
        series.append(tracker.counts([Entry, Slot]))
    entries = [s[0] for s in series]
    # Each run keeps one more Entry in the registry; the deque keeps the last two (evicting older ones).
    assert entries == [2, 3, 4]
    assert grows_every_time(entries)
    slots = [s[1] for s in series]
    assert grows_every_time(slots)


STREAMS: list[io.TextIOWrapper] = []
HELD: dict[str, object] = {}


def _new_decoder(make: Any) -> tuple[object, object]:
    """``make()``'s stream and the codec decoder it made (held by its newline decoder only)."""
    kind = type(codecs.getincrementaldecoder("utf-8")())
    before = [obj for obj in gc.get_objects() if type(obj) is kind]
    stream = make()
    (decoder,) = [obj for obj in gc.get_objects() if type(obj) is kind and not any(obj is old for old in before)]
    return stream, decoder


def test_the_search_goes_on_past_a_holder_the_collector_cannot_look_into() -> None:
    """A stream's decoder: held by its newline decoder, a C struct without GC support up to 3.12 (seen on 3.13+)."""
    stream, decoder = _new_decoder(lambda: io.TextIOWrapper(io.BytesIO(b"x"), encoding="utf-8"))
    STREAMS.append(stream)  # type: ignore[arg-type]
    try:
        chain = referrer_chain(decoder)
        assert chain.root == f"module {__name__}, global STREAMS"
        assert [hop.type_token for hop in chain.hops] == [
            "list",
            "_io.TextIOWrapper",
            "_io.IncrementalNewlineDecoder",
            type(decoder).__module__ + ".IncrementalDecoder",
        ]
    finally:
        STREAMS.clear()
        del stream, decoder


def test_the_search_goes_on_once_past_pytest_s_objects_a_library_keeps() -> None:
    """pytest's capture stream kept by a library's global: the library keeps its decoder, whatever the version."""
    stream, decoder = _new_decoder(CaptureIO)
    HELD["stream"] = stream
    try:
        chain = referrer_chain(decoder)
        assert chain.root == f"module {__name__}, global HELD"
        assert not chain.held_by_pytest
        assert [hop.type_token for hop in chain.hops][:2] == ["dict", "_pytest.capture.CaptureIO"]
    finally:
        HELD.clear()
        del stream, decoder


def test_what_only_pytest_holds_past_its_own_objects_is_pytest_s(monkeypatch: pytest.MonkeyPatch) -> None:
    stream, decoder = _new_decoder(CaptureIO)
    monkeypatch.setattr("_pytest.capture.GCGUARD_HELD", stream, raising=False)  # a global of pytest's own module
    try:
        chain = referrer_chain(decoder)
        assert chain.root == "pytest's own structures"
        assert chain.held_by_pytest
    finally:
        del stream, decoder


def test_the_look_into_c_structs_is_bounded_by_its_budget() -> None:
    stream, decoder = _new_decoder(lambda: io.TextIOWrapper(io.BytesIO(b"x"), encoding="utf-8"))
    (newlines,) = [ref for ref in gc.get_referents(stream) if type(ref).__name__ == "IncrementalNewlineDecoder"]
    wanted = {id(decoder): decoder}
    try:
        assert opaque_holders(wanted, set(), budget=0) == {}  # no budget: reads nothing
        found = opaque_holders(wanted, set())
        if gc.is_tracked(newlines):  # 3.13+: the collector sees into it, gc.get_referrers finds it
            assert found == {}
        else:
            assert list(found) == [id(decoder)] and found[id(decoder)] is newlines
    finally:
        del stream, decoder, newlines, wanted
