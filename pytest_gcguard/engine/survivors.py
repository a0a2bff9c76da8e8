"""Survivors and growth: which objects a test leaves alive, and whether their number keeps growing.

A survivor is not a leak: caches keep the last N results, first imports keep
modules, pytest keeps its reports.  What tells a leak is growth: run the test
again and the live count of its kind grows every time (CPython's own
``regrtest -R`` rule: every delta >= 1 after the first run).  So survivors
only nominate *suspect kinds*; re-runs decide.
"""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Container
from collections.abc import Iterable
from collections.abc import Sequence
from itertools import compress

from pytest_gcguard.engine.introspect import class_dict
from pytest_gcguard.engine.introspect import is_a
from pytest_gcguard.engine.introspect import is_python_class
from pytest_gcguard.engine.introspect import module_dict
from pytest_gcguard.engine.introspect import referents
from pytest_gcguard.engine.introspect import type_module
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.engine.introspect import type_qualname
from pytest_gcguard.engine.introspect import type_weakrefoffset
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.ownership import Origin


# How far, and how wide, to look for pytest's objects behind a survivor.
_PYTEST_DEPTH = 2
_PYTEST_BREADTH = 32
# How many instances of one class are looked behind for pytest's objects.
_PYTEST_LOOKS = 100

# Standard-library classes whose instances pytest itself keeps per test (log
# records for the report sections and caplog, recorded warnings for the
# warnings summary): never a reason to re-run a test.
_KEPT_BY_PYTEST = frozenset({"logging.LogRecord", "warnings.WarningMessage"})
# Standard-library machinery whose objects live in caches or sys.modules once
# made (typing's generic aliases, ABC caches, compiled patterns, linecache,
# the warnings registry, import specs and loaders): first-time work, as
# CPython's regrtest -R treats it, never a reason to re-run a test.
_CACHING_MODULES = frozenset(
    {
        "typing",
        "abc",
        "_abc",
        "re",
        "sre_compile",
        "linecache",
        "warnings",
        "importlib",
        "_frozen_importlib",
        "_frozen_importlib_external",
        "zipimport",
    }
)


class ClassVerdicts:
    """Per class, whether its instances can be leak suspects: decided once per class.

    Classes that live as long as the interpreter -- made by C code, or
    defined at a module's top level -- are kept in plain sets, so that a
    window's survivors' classes are sorted by C-level set operations.  Other
    classes (made in a function: a test's own) are kept weakly: a test's
    class must never be kept alive by us.
    """

    def __init__(self) -> None:
        self.never: set[type] = set()
        self.always: set[type] = set()
        self.local: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()

    def suspect_types(self, types: set[type], owners: CodeOwners) -> set[type]:
        """The classes among ``types`` whose instances can be suspects."""
        suspects = types & self.always
        for tp in types - self.never - self.always:
            if not is_python_class(tp):
                self.never.add(tp)
                continue
            suspect = self.local.get(tp)
            if suspect is None:
                suspect = _may_be_suspect(tp, owners)
                if _is_module_level(tp):
                    (self.always if suspect else self.never).add(tp)
                else:
                    self.local[tp] = suspect
            if suspect:
                suspects.add(tp)
        return suspects


def _is_module_level(tp: type) -> bool:
    """Whether ``tp`` is its module's, by its qualified name: it lives as long as the module.

    Read from the module's and the classes' own dicts, never ``getattr``: a
    module's ``__getattr__`` is code, and so is a metaclass's ``__getattribute__``.
    """
    module, qualname = type_module(tp), type_qualname(tp)
    if module is None or qualname is None:
        return False
    owner: object = sys.modules.get(module)
    for part in qualname.split("."):
        namespace = class_dict(owner) if is_a(owner, type) else module_dict(owner)
        if namespace is None:
            return False
        owner = namespace.get(part)
    return owner is tp


def suspect_classes(
    survivors: Sequence[object], owners: CodeOwners, verdicts: ClassVerdicts | None = None
) -> dict[type, int]:
    """Kinds (classes) of survivors worth a re-run, with how many survived.

    Only instances of Python classes count: builtin containers and
    interpreter objects survive around everything (pytest's reports are made
    of them) and say nothing without a retention path.  Instances of pytest's
    and pluggy's classes are pytest's bookkeeping.  ``verdicts`` caches, per
    class, whether its instances can be suspects (pass one across calls).
    """
    # The classes first, at C speed (set(map(type, ...))): in most windows
    # no survivor is an instance of a class that can be a suspect, and the
    # per-object loop below is skipped.
    suspect_types = (verdicts if verdicts is not None else ClassVerdicts()).suspect_types(
        set(map(type, survivors)), owners
    )
    # Plain dicts, not collections.Counter: a Counter is an instance of a
    # Python class, and our own bookkeeping must never look like a survivor.
    kinds: dict[type, int] = {}
    if not suspect_types:
        return kinds
    # The instances of those classes, still at C speed.  Only the first
    # instances of a class are looked behind for pytest's objects: pytest
    # keeps a few objects per test, so a class with more survivors than
    # that is not its bookkeeping, and a test that leaves a million of them
    # must not cost a million walks.
    looked: dict[type, int] = {}
    for obj in compress(survivors, map(suspect_types.__contains__, map(type, survivors))):
        tp = type(obj)
        seen = looked[tp] = looked.get(tp, 0) + 1
        if seen > _PYTEST_LOOKS or not refers_to_pytest(obj, owners):
            kinds[tp] = kinds.get(tp, 0) + 1
    return kinds


def _may_be_suspect(tp: type, owners: CodeOwners) -> bool:
    """Whether instances of a Python class can be leak suspects (the same for every instance)."""
    # Growth is followed by weak reference: a class whose instances cannot be
    # weakly referenced would need a whole-heap count per re-run
    # (docs/how-it-works.md, Limits).
    return weakly_referable(tp) and not issubclass(tp, type) and _worth_a_rerun(tp, owners)


def refers_to_pytest(obj: object, owners: CodeOwners, depth: int = _PYTEST_DEPTH) -> bool:
    """Whether ``obj`` refers, within ``depth`` hops, to pytest's code or objects.

    Such objects are pytest's bookkeeping: a fixture finalizer is a
    ``functools.partial`` of a ``FixtureDef`` method; a hook wrapper's
    context manager wraps a generator running pytest code.
    """
    level = [obj]
    for _ in range(depth):
        following = []
        for current in level:
            for ref in referents(current)[:_PYTEST_BREADTH]:
                if owners.is_harness(ref):
                    return True
                following.append(ref)
        level = following
    return False


def weakly_referable(tp: type) -> bool:
    """Instances can be weakly referenced (no ``__slots__`` without ``__weakref__``)."""
    return bool(type_weakrefoffset(tp))


def _worth_a_rerun(tp: type, owners: CodeOwners) -> bool:
    name = type_name(tp)
    if name in _KEPT_BY_PYTEST or name.partition(".")[0] in _CACHING_MODULES:
        return False
    return owners.type_origin(tp) is not Origin.HARNESS


def held_by(roots: Sequence[object], young: Sequence[object], young_ids: Container[int] | None = None) -> set[int]:
    """Ids of the ``young`` objects reachable from ``roots`` (through young objects only).

    An old root's own instance ``__dict__`` (old on 3.9/3.10) is passed
    through, so its attributes count.  ``young_ids``: the ids of ``young``,
    when the caller has them.
    """
    if young_ids is None:
        young_ids = {id(obj) for obj in young}
    root_ids = {id(root) for root in roots}
    reached: set[int] = set()
    frontier = list(roots)
    while frontier:
        following = []
        for current in frontier:
            for ref in referents(current):
                rid = id(ref)
                if rid in young_ids:
                    if rid not in reached:
                        reached.add(rid)
                        following.append(ref)
                elif id(current) in root_ids and type(ref) is dict:
                    following.append(ref)
        frontier = following
    return reached


# A window that leaves more objects alive than this is not scanned for
# suspects: every walk over what a test made is bounded, and a test that
# keeps millions of objects would cost several times their memory in re-runs.
MAX_SURVIVORS = 1_000_000


def cut_short(survivors: int) -> str:
    """The note of a window whose survivors were not walked."""
    return (
        f"leaks not judged: the walk over {survivors:,} objects was cut short "
        f"(more than {MAX_SURVIVORS:,} objects outlived the test)"
    )


# Weak references kept per suspect kind; past this, that kind is counted over the heap.
MAX_TRACKED = 200_000


class LiveTracker:
    """Live counts of suspect kinds, following the objects a test's runs left alive.

    Each run's survivors of a suspect kind get a weak reference; the live
    count after a run is how many of them are still alive.  So a bounded
    cache that evicts what earlier runs stored shows no growth, and counting
    costs what the runs left behind, not the heap.  Kinds whose instances
    cannot be weakly referenced (``__slots__`` without ``__weakref__``), or
    too many, are counted over the whole heap instead (``count_live``).
    """

    def __init__(self, kinds: Iterable[type]) -> None:
        keys = [id(k) for k in kinds]  # by id: the kinds themselves (a test's own classes) are not kept
        self._refs: dict[int, list[weakref.ref[object]]] = {key: [] for key in keys}
        # Per kind, which run (0: the first, 1: the first re-run, ...) each reference is of.
        self._runs: dict[int, list[int]] = {key: [] for key in keys}
        # Each object followed once, by id (never by hash: a class's __hash__ is code):
        # a re-run that does not freeze the heap sees the earlier runs' survivors again.
        self._followed: dict[int, weakref.ref[object]] = {}
        self._tracked = 0  # how many runs' survivors were tracked
        self._by_heap: set[int] = set()

    def track(self, survivors: Iterable[object]) -> list[object]:
        """Follow one run's survivors (each call is the next run's); returns the run's own, of followed kinds.

        Its own: a re-run does not freeze the heap, so its survivors include
        the earlier runs' (kinds counted over the heap cannot tell them apart).
        """
        run = self._tracked
        self._tracked += 1
        fresh: list[object] = []
        for obj in survivors:
            key = id(type(obj))
            refs = self._refs.get(key)
            if refs is None:
                continue
            if key not in self._by_heap and not self._follow(obj, key, refs, run):
                continue
            fresh.append(obj)
        return fresh

    def _follow(self, obj: object, key: int, refs: list[weakref.ref[object]], run: int) -> bool:
        """Follow ``obj`` by weak reference (or count its kind over the heap); False: an earlier run's."""
        followed = self._followed.get(id(obj))
        if followed is not None and followed() is obj:
            return False  # an earlier run's
        if len(refs) >= MAX_TRACKED:
            self._by_heap.add(key)
            return True
        try:
            ref = weakref.ref(obj)
        except TypeError:
            self._by_heap.add(key)
            return True
        refs.append(ref)
        self._followed[id(obj)] = ref
        self._runs[key].append(run)
        return True

    @property
    def latest(self) -> int:
        """The latest run tracked (0: the first)."""
        return self._tracked - 1

    def alive_of(self, kind: type, run: int | None = None) -> list[object]:
        """The live objects of ``kind`` that run ``run`` left (default: the latest); none when counted over the heap."""
        key = id(kind)
        made = self.latest if run is None else run
        found = (ref() for by, ref in zip(self._runs.get(key, ()), self._refs.get(key, ())) if by == made)
        return [obj for obj in found if obj is not None]

    def runs_alive(self, kind: type) -> set[int] | None:
        """The runs that still have a live instance of ``kind``; None when it is counted over the heap."""
        key = id(kind)
        if key in self._by_heap or key not in self._refs:
            return None
        return {run for run, ref in zip(self._runs[key], self._refs[key]) if ref() is not None}

    def counts(self, kinds: Sequence[type], *, frozen: bool = False) -> list[int]:
        # Garbage is not alive: what pytest released after the run's window
        # closed (its fixture request, funcargs) must not count.  With the
        # heap frozen this collection only walks what the run made.
        gc.collect()
        by_heap = [k for k in kinds if id(k) in self._by_heap]
        heap = dict(zip(map(id, by_heap), count_live(by_heap, frozen=frozen))) if by_heap else {}
        return [
            heap[id(k)] if id(k) in heap else sum(1 for ref in self._refs.get(id(k), ()) if ref() is not None)
            for k in kinds
        ]


def count_live(kinds: Sequence[type], *, frozen: bool = False) -> list[int]:
    """How many instances of each kind are alive in the whole heap.

    ``frozen``: the caller keeps the heap frozen (the plugin does); it is
    unfrozen around one ``gc.get_objects()`` and frozen again.  O(heap), so
    the plugin counts only when re-running a suspect test.
    """
    wanted = {id(tp): i for i, tp in enumerate(kinds)}
    counts = [0] * len(kinds)
    if frozen:
        gc.unfreeze()
    try:
        objects = gc.get_objects()
        for obj in objects:
            i = wanted.get(id(type(obj)))
            if i is not None:
                counts[i] += 1
        obj = None
        objects.clear()
    finally:
        if frozen:
            gc.freeze()
    return counts


def grows_every_time(counts: Sequence[int]) -> bool:
    """Whether the live count grew by at least one after every re-run (false before the first re-run).

    ``counts`` is the live count after the first run, then after each re-run.
    """
    if len(counts) < 2:
        return False
    return all(after - before >= 1 for before, after in zip(counts, counts[1:]))
