"""Which grown kinds keep the others alive: one cause, one leak report.

A test that leaks one closed event loop per run leaks, with it, everything
the loop refers to: its runner, streams, exceptions, tasks' state -- each
kind grows by one per run, and each would be its own leak report with the
same root (AnyIO's suite: 15-20 "kinds" per test for one loop).  Here a
kind B is *kept by* a kind A when an instance of A that the latest re-run
left refers to one of B's, directly or not, and both chains start at the
same root: B is then reported under A, not on its own.  So is a kind whose
chain found no Python referrer when A's instance holds one of B's in an
object the collector cannot look into (a C struct without GC support:
``io.TextIOWrapper``'s newline decoder holds the codec's decoder).

The walk from A goes down ``gc.get_referents`` breadth-first, over objects
gc-guard did not make, so it is bounded (``BUDGET`` objects per kind), and
it never goes through a module, a module's namespace, a class or a running
frame: from there everything is reachable (a function's ``__globals__``, a
traceback's frame's ``f_back`` up to pytest's), and what a module global
holds is kept by the module, not by A.
"""

from __future__ import annotations

import gc
import itertools
import sys
import types
import weakref
from collections import deque
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import replace
from typing import cast

from pytest_gcguard.engine.chains import NO_REFERRER
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.engine.findings import fold_instance_dicts
from pytest_gcguard.engine.introspect import opaque_words


# Objects one walk from a kind's sample may visit.  The walk is cut there:
# a kind it did not reach in time is reported on its own.
BUDGET = 20_000


Reached = tuple[
    frozenset[int], frozenset[int]
]  # kinds whose instances a sample reaches; kinds whose registry keys it reaches


def reached_kinds(
    samples: Sequence[object],
    instances: Sequence[frozenset[int]],
    kinds: Sequence[type],
    *,
    budget: int = BUDGET,
    ignore: frozenset[int] = frozenset(),
    keys: Mapping[int, int] | None = None,
    held: Mapping[int, int] | None = None,
) -> list[Reached]:
    """For each sample, the indices of the other kinds whose instances it refers to, directly or not.

    ``instances[i]``: ids of the latest re-run's objects of ``kinds[i]``
    (an object found there counts only when its type is ``kinds[i]``: an
    id is reused once its object is freed).  ``ignore``: ids of the
    caller's containers, never walked through.  ``keys``: ids of objects
    whose life keeps a kind's instances alive (``registry_keys``; the
    caller holds them during the walk), and that kind's index: reaching
    one (or starting at one) is the second set.  ``held``: ids of
    instances the caller holds during the walk, and their kind's index:
    the only ones looked for in the words of objects the collector cannot
    look into (``introspect.opaque_words``), where no type can be checked.
    """
    wanted: dict[int, int] = {}
    for index, ids in enumerate(instances):
        for ident in ids:
            wanted.setdefault(ident, index)
    keys = keys or {}
    namespaces = {id(vars(module)) for module in list(sys.modules.values()) if type(module) is types.ModuleType}
    stop = namespaces | set(ignore) | {id(wanted), id(namespaces), id(keys)} | _running_frames()
    return [_walk(sample, wanted, kinds, stop, budget, keys, held or {}) for sample in samples]


def registry_keys(
    roots: Sequence[tuple[str, str] | None], instances: Sequence[frozenset[int]]
) -> tuple[dict[int, int], list[object]]:
    """The keys of weak-keyed registries that keep a kind's instances alive: id(key) -> kind index, and the keys.

    A kind whose chain starts at a module's ``WeakKeyDictionary``
    (``roots[i]``: the module and global, ``Chain.module_global``) lives as long as the entry's
    key: AnyIO keeps a ``TaskState`` per task in ``_task_states`` and a
    ``CapacityLimiter`` per event loop in ``_run_vars``.  When a leaked
    object keeps that key alive, it keeps the kind alive too, though the
    two chains start at different roots.  An entry counts when its value is
    an instance of the kind, or a plain container directly holding one.
    Bounded: ``BUDGET`` entries per registry, read by C code only (an exact
    ``WeakKeyDictionary``, its ``data`` dict, the weak references' targets).
    The caller holds the returned keys while it walks, then drops them.
    """
    found: dict[int, int] = {}
    held: list[object] = []
    for index, root in enumerate(roots):
        registry = _module_global(root)
        if type(registry) is not weakref.WeakKeyDictionary:
            continue
        data = vars(registry).get("data")
        if type(data) is not dict:
            continue
        ids = instances[index]
        try:
            entries = list(itertools.islice(dict.items(data), BUDGET))
        except RuntimeError:  # an entry removed meanwhile (its key died): the registry is skipped
            continue
        for ref, value in entries:
            if not isinstance(ref, weakref.ref) or not _holds(value, ids):
                continue
            key = ref()
            if key is not None:
                found.setdefault(id(key), index)
                held.append(key)
        del registry, data, entries
    return found, held


def _module_global(root: tuple[str, str] | None) -> object:
    if root is None:
        return None
    module = sys.modules.get(root[0])
    if type(module) is not types.ModuleType:
        return None
    return dict.get(vars(module), root[1])


def _holds(value: object, ids: frozenset[int]) -> bool:
    if id(value) in ids:
        return True
    if type(value) is dict:
        return any(id(item) in ids for item in dict.values(value))
    if type(value) is list or type(value) is tuple:
        return any(id(item) in ids for item in cast("list[object]", value))
    return False


def _running_frames() -> set[int]:
    """Ids of every frame running now, in every thread.

    A traceback's frame leads up its ``f_back`` to frames still running --
    pytest's, and ours, whose locals hold every sample: a running frame is
    no part of what a leaked object keeps.
    """
    found: set[int] = set()
    for top in sys._current_frames().values():
        frame: types.FrameType | None = top
        while frame is not None:
            found.add(id(frame))
            frame = frame.f_back
    del top, frame
    return found


def _walk(
    start: object,
    wanted: dict[int, int],
    kinds: Sequence[type],
    stop: set[int],
    budget: int,
    keys: Mapping[int, int],
    held: Mapping[int, int],
) -> Reached:
    found: set[int] = set()
    through_keys: set[int] = set()
    if id(start) in keys:
        through_keys.add(keys[id(start)])
    seen = {id(start)}
    queue = deque([start])
    try:
        while queue and len(seen) < budget:
            for ref in gc.get_referents(queue.popleft()):
                ident = id(ref)
                if ident in seen or ident in stop:
                    continue
                seen.add(ident)
                index = wanted.get(ident)
                if index is not None and type(ref) is kinds[index]:
                    found.add(index)
                key_of = keys.get(ident)
                if key_of is not None:
                    through_keys.add(key_of)
                if held:
                    found.update(held[word] for word in opaque_words(ref) if word in held)
                if not isinstance(ref, (type, types.ModuleType)):
                    queue.append(ref)
        return frozenset(found), frozenset(through_keys)
    finally:
        queue.clear()  # holds objects of the heap: never kept past the walk


def fold(
    leaks: Sequence[Leak], reaches: Mapping[int, frozenset[int]], keys: Mapping[int, frozenset[int]] | None = None
) -> list[Leak]:
    """The leaks, each kind another keeps alive marked ``kept_by`` it.

    ``reaches[i]``: indices of the leaks whose instances leak ``i``'s sample
    refers to (``reached_kinds``).  A keeps B when A reaches B and both
    chains have the same root, or B's found no Python referrer (A holds B
    where the collector cannot look), or when A reaches the key of the weak-keyed
    registry entry that holds B (``keys[a]``, ``registry_keys``), or both
    chains go down from their root through one first object
    (``_down_together``: two kinds one holder keeps, each "keeping" the
    other).  A kind kept only by kinds it keeps in turn
    (a loop and the runner it refers to, which refers back) heads its
    group: of those, the one with the shortest chain (closest to the root),
    then by name -- never by address or dict order.  Every other kind goes
    under the first head, in that order, that keeps it.  A kind no head
    keeps (a walk cut by its budget) stays on its own.
    """
    count = len(leaks)

    through_keys = keys or {}

    def keeps(a: int, b: int) -> bool:
        chain_a, chain_b = leaks[a].chain, leaks[b].chain
        if a == b or chain_a is None or chain_b is None:
            return False
        if b in through_keys.get(a, frozenset()):
            return True
        if chain_b.root == chain_a.root and _down_together(chain_a, chain_b):
            return True
        return b in reaches.get(a, frozenset()) and chain_b.root in (chain_a.root, NO_REFERRER)

    def order(i: int) -> tuple[int, str, str]:
        chain = leaks[i].chain
        return (len(chain.hops) if chain is not None else 0, leaks[i].class_name, leaks[i].shape)

    ranked = sorted(range(count), key=order)
    heads: list[int] = []
    for i in ranked:
        keepers = [a for a in range(count) if keeps(a, i)]
        if all(keeps(i, a) for a in keepers) and not any(keeps(h, i) for h in heads):
            heads.append(i)
    kept_by: dict[int, int] = {}
    for i in ranked:
        if i in heads:
            continue
        head = next((h for h in heads if keeps(h, i)), None)
        if head is None:
            heads.append(i)
        else:
            kept_by[i] = head
    return [
        replace(leak, kept_by=leaks[kept_by[i]].class_name) if i in kept_by else leak for i, leak in enumerate(leaks)
    ]


def _down_together(a: Chain, b: Chain) -> bool:
    """Whether two chains from one root go down through the same first object and reference, then part.

    Two kinds held by one object the leak keeps: an ``io.TextIOWrapper`` a
    library caches per stream (structlog's ``WRITE_LOCKS``, click's stream
    cache) holds its codec's decoder and encoder, neither of which reaches
    the other; the wrapper itself is no suspect (a C type).  They are one
    leak.  Kinds held by one registry under other keys or indices part at
    their first hop (``['a']``, ``['b']``), and stay leaks of their own.
    """
    if not (a.complete and b.complete and a.hops and b.hops):
        return False
    # (Instance dicts folded: one search may label an attribute ``.__dict__ -> dict ['data']``, the other ``.data``.)
    first, other = fold_instance_dicts(a.hops[:2], closed=False)[0], fold_instance_dicts(b.hops[:2], closed=False)[0]
    return (first.label, first.type_token, first.edge) == (other.label, other.type_token, other.edge)


def folded_leaks(leaks: Sequence[Leak]) -> list[tuple[Leak, list[Leak]]]:
    """Each leak that heads a group, with the kinds it keeps (``Leak.kept_by``), in order.

    A kind whose keeper is not among ``leaks`` (the keeper is in the
    baseline, or allowed) is a report of its own.
    """
    names = {leak.class_name for leak in leaks}
    kept: dict[str, list[Leak]] = {}
    for leak in leaks:
        if leak.kept_by in names:
            kept.setdefault(leak.kept_by, []).append(leak)
    return [
        (leak, sorted(kept.pop(leak.class_name, []), key=lambda k: k.class_name))
        for leak in leaks
        if leak.kept_by not in names
    ]
