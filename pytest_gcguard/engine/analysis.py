"""Turn a window's cyclic garbage (live objects) into cycle findings (plain data).

The steps follow docs/how-it-works.md:

1. Build the reference graph among the garbage objects only.
2. Cut the references held by test code (``ownership``) and find the
   strongly connected components that remain: those are the cycles of the
   code under test (or of the standard library).  Components of the full
   graph that do not survive the cut are the test's own ("test-local").
3. For each cycle, print one shortest cycle through its most telling member,
   every edge labelled; summarise what it keeps alive.
4. Group cycles of one shape.

Nothing returned refers to an analysed object.
"""

from __future__ import annotations

import dataclasses
import types
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import cast

from pytest_gcguard.engine.findings import ALLOC_MEMBER
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import DEPENDENCY
from pytest_gcguard.engine.findings import FACTORY_MADE
from pytest_gcguard.engine.findings import HARNESS_ORIGIN
from pytest_gcguard.engine.findings import INTERNAL
from pytest_gcguard.engine.findings import PROJECT
from pytest_gcguard.engine.findings import STDLIB
from pytest_gcguard.engine.findings import STDLIB_ORIGIN
from pytest_gcguard.engine.findings import TEST_LOCAL
from pytest_gcguard.engine.findings import TEST_ORIGIN
from pytest_gcguard.engine.findings import UNLOADED
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import allocating_modules
from pytest_gcguard.engine.findings import fold_instance_dicts
from pytest_gcguard.engine.graph import ObjectGraph
from pytest_gcguard.engine.graph import is_cycle
from pytest_gcguard.engine.graph import reachable
from pytest_gcguard.engine.graph import shortest_cycle
from pytest_gcguard.engine.graph import strongly_connected_components
from pytest_gcguard.engine.introspect import is_a
from pytest_gcguard.engine.introspect import is_python_class
from pytest_gcguard.engine.introspect import short_type_name
from pytest_gcguard.engine.introspect import type_flags
from pytest_gcguard.engine.introspect import type_module
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.engine.introspect import type_qualname
from pytest_gcguard.engine.introspect import type_short_name
from pytest_gcguard.engine.introspect import user_code
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.labels import is_instance_dict
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.ownership import Origin
from pytest_gcguard.engine.ownership import copied_namespace
from pytest_gcguard.engine.ownership import dependency_name
from pytest_gcguard.engine.ownership import held_by_its_module
from pytest_gcguard.engine.ownership import loaded_module_of
from pytest_gcguard.engine.ownership import member_owner
from pytest_gcguard.engine.ownership import replaced_class
from pytest_gcguard.engine.shapes import ShapeLabeller
from pytest_gcguard.engine.sites import Sites


_KIND_ORDER = {CYCLE: 0, STDLIB: 1, INTERNAL: 2, TEST_LOCAL: 3, UNLOADED: 4}
# Types by id: ``tp in (dict, list)`` would call the ``__eq__`` of ``tp``'s
# metaclass, and a dict or Counter keyed by types its ``__hash__``.
_PLAIN_CONTAINERS = frozenset(map(id, (dict, list, tuple, set, frozenset)))
_CODE_TYPES = frozenset(
    map(id, (types.FrameType, types.FunctionType, types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType))
)
_TYPE_SUBCLASS = 1 << 31  # Py_TPFLAGS_TYPE_SUBCLASS: the object is a class
# Hops printed from the start of a long cycle, and from its end, around "… N more objects …".
MAX_PATH_HOPS = 16
# Components of one signature that get a labelled path of their own.
MAX_DESCRIBED_PER_SIGNATURE = 3
_PATH_TAIL = 3

# Sees every component explain_garbage reports, with its objects: the kind, the
# members, the labelled path as (object, edge label, next object) triples and
# the Cycle made from it -- () and None for a component only counted onto an
# earlier one of its signature.  For tests (the property-based oracle): the
# plugin passes none, and nothing of it is kept.
Observer = Callable[[str, Sequence[object], Sequence[tuple[object, str, object]], "Cycle | None"], None]


def explain_garbage(
    garbage: Sequence[object],
    owners: CodeOwners | None = None,
    labeller: Labeller | None = None,
    sites: Sites | None = None,
    ignore: Callable[[object], bool] | None = None,
    observe: Observer | None = None,
    *,
    sampled: bool = False,
    shapes_only: bool = False,
    until_found: frozenset[str] | None = None,
) -> list[Cycle]:
    """The reference cycles among ``garbage``, grouped by shape, failing kinds first.

    With ``sites`` (tracemalloc running), every printed member carries its allocation site,
    and a cycle of members with no owner of their own (plain containers) is
    owned by the modules that allocated them (``findings.ALLOC_MEMBER``).
    With ``ignore``, a cycle that has an ignored member is left out, with the
    objects it keeps alive (the ``pytest_gcguard_ignore`` hook).
    ``sampled``: ``garbage`` is a sample of what one collection found (the
    window's cap, ``saving.sample``): what is in no cycle here was cut from
    its cycle by the sample, and is reported as a chain cut short.
    ``shapes_only``: only the cycles' kinds and shapes (and counts) are
    wanted (a re-run's, ``engine/shapes.py``): no object labels, sites,
    owners nor hanger-on types.  ``until_found`` (with ``shapes_only``):
    stop once cycles of all these shape keys are found (what a re-run asks).
    """
    if not garbage:
        return []
    owners = owners or CodeOwners()
    labeller = labeller or Labeller()
    site = sites.site if sites is not None else _no_site
    allocator = sites.module if sites is not None else _no_module
    graph = ObjectGraph(garbage)
    if shapes_only:
        labeller, site = ShapeLabeller(labeller), _no_site
    if ignore is not None:
        kept = _without_ignored(graph, ignore)
        if kept is not None:
            del graph
            return explain_garbage(
                kept,
                owners,
                labeller,
                sites,
                observe=observe,
                sampled=sampled,
                shapes_only=shapes_only,
                until_found=until_found,
            )
    objects = graph.objects
    full = graph.children
    cut = _held_by_test(objects, owners)
    found = _find_components(objects, full, cut, owners)
    blocked = set().union(*(component for _, component, _ in found)) if found else set()
    parents = graph.parents()
    wanted = set(until_found) if shapes_only and until_found is not None else None
    cycles = _describe_components(
        found, objects, full, blocked, parents, labeller, (site, allocator), observe, owners, shapes_only, wanted
    )
    if wanted is not None and not wanted:
        return _group(cycles)  # every wanted shape is found: the rest cannot change the answer
    if wanted:
        cycles += _wanted_in_components(found, objects, labeller, wanted)
        if not wanted:
            return _group(cycles)
    # Everything the collector saved is unreachable, so it is in a cycle or
    # kept by one.  What is neither here is held through references that
    # gc.get_referents does not report (C code whose tp_traverse is
    # incomplete): report the chain we can see.  (A cycle that a finalizer
    # breaks -- a generator's close(), a __del__ dropping an attribute -- is
    # freed by refcounting during the collection and never saved at all.)
    # In a sample, it is what the sample cut off from its cycle.
    groups = _weak_components([v for v in range(len(objects)) if v not in blocked], full, parents)
    if sampled:
        groups = _cut_off(groups, objects, owners, cut)
    for group in groups:
        kind = _classify_broken(group, objects, owners, cut)
        broken = _describe_broken(kind, group, full, objects, labeller, (site, allocator), sampled, shapes_only)
        cycles.append(
            _with_origin(broken, _origin(kind, group, objects, owners, (), allocating_modules(broken.member_types)))
        )
        if wanted is not None:
            wanted.discard(cycles[-1].shape_key)
            if not wanted:
                break
        if observe is not None:
            observe(kind, [objects[v] for v in group], (), cycles[-1])
    return _group(cycles)


def _cut_off(
    groups: list[list[int]], objects: Sequence[object], owners: CodeOwners, cut: list[bool]
) -> list[list[int]]:
    """In a sample, the groups in no cycle are what the sample cut off from cycles larger than it: one per kind.

    A ring larger than the sample leaves a stretch or two of it; how many
    cycles they belong to the sample cannot tell, so they are one finding.
    """
    by_kind: dict[str, list[int]] = {}
    for group in groups:
        by_kind.setdefault(_classify_broken(group, objects, owners, cut), []).extend(group)
    return [sorted(group) for group in by_kind.values()]


_Found = list[tuple[str, list[int], list[list[int]]]]  # (kind, component, the graph it is a cycle in)


def _find_components(objects: Sequence[object], full: list[list[int]], cut: list[bool], owners: CodeOwners) -> _Found:
    """The cyclic components, classified, failing kinds first.

    Test code's references are cut first (``cut``): a component that remains
    is the code under test's (or the standard library's); one that exists
    only with them is test-local.
    """
    reduced = [[] if cut[v] else kids for v, kids in enumerate(full)] if any(cut) else full
    found: _Found = []
    in_cycle: set[int] = set()
    instances: _Found = []  # cycles among the test's own instances: test-local, but built nothing for it
    for component in strongly_connected_components(reduced):
        if len(component) > 1 or component[0] in reduced[component[0]]:  # graph.is_cycle, inlined: hot
            kind = _classify(component, objects, owners)
            (instances if kind == TEST_LOCAL else found).append((kind, component, reduced))
            in_cycle.update(component)
    if reduced is not full:  # nothing cut: the full graph has the same components
        for component in strongly_connected_components(full):
            if is_cycle(component, full) and in_cycle.isdisjoint(component):
                found.append((TEST_LOCAL, component, full))
        found = _built_for_the_test(found, objects, full)
        found = _named_for_the_test(found, objects)
    found += instances
    found = _of_unloaded_modules(found, objects, full, owners)
    found.sort(key=lambda entry: (_KIND_ORDER[entry[0]], min(entry[1])))
    return found


def _built_for_the_test(found: _Found, objects: Sequence[object], full: list[list[int]]) -> _Found:
    """Classes and functions a library built for a test's own class, dropped with it, are test-local.

    A class decorator (attrs) builds a helper class per class and ``exec``s
    an ``__init__`` for it; the test's class refers to them, and when the
    test drops its class everything built for it goes with it: nobody could
    fix that but the test.  A cycle of such objects -- classes, functions and
    builtin containers, no instance of a Python class -- reachable from a
    test-local cycle in the same garbage is test-local too.  A library object
    the test's class does not refer to (a builder the library dropped) is
    not reached, and stays the library's.
    """
    local = [v for kind, component, _ in found if kind == TEST_LOCAL for v in component]
    return _recast(found, objects, full, local, (CYCLE,), TEST_LOCAL)


def _named_for_the_test(found: _Found, objects: Sequence[object]) -> _Found:
    """A class a library made at run time for a test's own class, named after it, dropped unattached: test-local.

    A test that calls a library's class builder directly (attrs'
    ``_transform_attrs(C, ...)``, a ``_ClassBuilder`` it never finishes, a
    decorator that raised) drops the helper class the builder made for its
    class ``C`` -- ``CAttributes`` -- without the class ever referring to it,
    so ``_built_for_the_test`` does not reach it.  Its name says whom it was
    made for.  Only a class alone in its cycle (with its ``__mro__`` and
    builtin objects) counts, made at run time (``type()``: no ``<locals>``
    in its qualified name, and its module does not hold it), named a
    test-local class's name plus a capitalised suffix, that class being in
    the same garbage.  A class a library defines per call (``class X:``
    inside a function) is no such class, and keeps the library's verdict.
    """
    names = {
        name
        for kind, component, _ in found
        if kind == TEST_LOCAL
        for v in component
        if is_a(objects[v], type) and (name := type_short_name(cast(type, objects[v]))) is not None
    }
    if not names:
        return found
    result: _Found = []
    for kind, component, children in found:
        if kind == CYCLE and all(_built(objects[v]) for v in component):
            classes = [cast(type, objects[v]) for v in component if is_a(objects[v], type)]
            if len(classes) == 1 and _made_at_run_time_for(classes[0], names):
                kind = TEST_LOCAL
        result.append((kind, component, children))
    return result


def _made_at_run_time_for(tp: type, names: set[str]) -> bool:
    name, qualname = type_short_name(tp), type_qualname(tp)
    if name is None or qualname is None or "<locals>" in qualname or held_by_its_module(tp):
        return False
    return any(name.startswith(base) and name[len(base) : len(base) + 1].isupper() for base in names)


def _of_unloaded_modules(found: _Found, objects: Sequence[object], full: list[list[int]], owners: CodeOwners) -> _Found:
    """Cycles of classes and functions whose module the test unloaded (removed from ``sys.modules``).

    A fixture that deletes a package's modules to re-import them drops the
    old modules' namespaces, and with them their classes (``class <->
    __mro__``) and functions (``function <-> __globals__``).  A namespace in
    the garbage whose module name now maps to another module (or none) is
    such a namespace; the cycles of classes, functions and builtin objects
    it refers to, directly or not, are the unloading's, not bugs.  So are a
    class its module holds another class in place of (the fresh import's
    class decorator replaced it: attrs' ``slots=True``) and what it refers to.
    """
    stale = [
        v
        for v, obj in enumerate(objects)
        if (type(obj) is dict and _is_stale_namespace(obj))
        or (type_flags(type(obj)) & _TYPE_SUBCLASS and is_a(obj, type) and _replaced(obj, owners))
    ]
    return _recast(found, objects, full, stale, (CYCLE, STDLIB, INTERNAL), UNLOADED)


def _replaced(tp: type, owners: CodeOwners) -> bool:
    return is_python_class(tp) and not owners.untrue_module(tp) and replaced_class(tp)


def _recast(
    found: _Found, objects: Sequence[object], full: list[list[int]], seeds: list[int], kinds: tuple[str, ...], to: str
) -> _Found:
    """Components of ``kinds`` reachable from ``seeds``, made only of what ``_built`` allows, become ``to``."""
    if not seeds:
        return found
    reached, stack = set(seeds), list(seeds)
    while stack:
        for child in full[stack.pop()]:
            if child not in reached:
                reached.add(child)
                stack.append(child)
    result: _Found = []
    for kind, component, children in found:
        if kind in kinds and component[0] in reached and all(_built(objects[v]) for v in component):
            kind = to
        result.append((kind, component, children))
    return result


def _is_stale_namespace(namespace: dict[Any, Any]) -> bool:
    """A module's ``__dict__`` (it has a ``__spec__`` and a ``__loader__``) that no loaded module owns any more.

    Not a copy of a loaded module's (``copied_namespace``): code ``exec``'d
    in one is the copier's, and its cycles are the copier's to fail.
    """
    try:
        is_module = "__spec__" in namespace and "__loader__" in namespace
    except Exception:  # a key's __eq__ is code
        return False
    return is_module and loaded_module_of(namespace) is None and not copied_namespace(namespace)


def _built(obj: object) -> bool:
    """A class, a function or a builtin object: what a class decorator builds, never an instance of a Python class."""
    return is_a(obj, type) or not is_python_class(type(obj))


# Breadth-first steps (members visited) a re-run may spend looking for a
# wanted shape through other members of its components (``_wanted_in_components``).
WANTED_SEARCH_BUDGET = 200_000


def _wanted_in_components(
    found: _Found,
    objects: Sequence[object],
    labeller: Labeller,
    wanted: set[str],
) -> list[Cycle]:
    """The wanted shapes a re-run made inside components told by another of their cycles.

    A component is told by one cycle (``_path``), through the few kinds it
    has fewest of; which those are depends on what else it holds, and that
    can change between a run and its re-run (an exception and its
    traceback joined to Starlette's test client in one run and not the
    next).  A wanted shape missing from the exemplars may still be the
    shortest cycle through another member: each member is tried, until every
    wanted shape is found or ``WANTED_SEARCH_BUDGET`` steps are spent.  Found
    ones are returned as cycles of their own (the re-run compares shapes
    only); ``wanted`` loses them.
    """
    extra: list[Cycle] = []
    budget = WANTED_SEARCH_BUDGET
    for kind, component, children in found:
        if kind not in (CYCLE, STDLIB) or len(component) < 2:
            continue
        for start in sorted(component):
            budget -= len(component)
            if budget < 0:
                return extra
            path = shortest_cycle(start, component, children)
            cycle = Cycle(kind, _path_hops(path, objects, labeller, _no_site), 1, len(component), 0)
            if cycle.shape_key in wanted:
                wanted.discard(cycle.shape_key)
                extra.append(cycle)
                if not wanted:
                    return extra
    return extra


def _describe_components(
    found: _Found,
    objects: Sequence[object],
    full: list[list[int]],
    blocked: set[int],
    parents: list[list[int]],
    labeller: Labeller,
    sites: _Sites,
    observe: Observer | None,
    owners: CodeOwners,
    shapes_only: bool = False,
    wanted: set[str] | None = None,
) -> list[Cycle]:
    """One Cycle per component; past a few of one signature, the rest are counted onto the first.

    ``wanted``: shape keys still looked for; found ones are removed, and
    once none is left the rest is not described.
    """
    cycles: list[Cycle] = []
    # Tests that drop thousands of identical cycles: label a few of each
    # signature (kind, size, what the members are), count the rest onto the
    # first.  What they are is the shape's own token -- a function's
    # qualified name, not just "function": werkzeug's three recursive
    # closures (update, match, a view) are each a function, its closure
    # tuple and a cell, and by types alone the first three described, in
    # the collector's order, took the others' counts.
    described: dict[tuple[str, int, tuple[str, ...]], list[int]] = {}
    extra: dict[int, list[int]] = {}  # index in cycles -> [count, objects, kept_alive] to add
    for kind, component, children in found:
        hangers = reachable(component, full, blocked=blocked)
        tokens = [_shape_token(objects[v]) for v in component]
        signature = (kind, len(component), tuple(sorted(tokens)))
        seen = described.setdefault(signature, [])
        if len(seen) >= MAX_DESCRIBED_PER_SIGNATURE:
            if observe is not None:
                observe(kind, [objects[v] for v in component], (), None)
            first = cycles[seen[0]]
            more = extra.setdefault(seen[0], [0, 0, 0])
            more[0] += 1
            more[1] += first.objects  # same signature: same size after folding
            more[2] += len(hangers)
            continue
        seen.append(len(cycles))
        cycles.append(
            _describe(
                kind,
                component,
                children,
                hangers,
                objects,
                parents,
                labeller,
                sites,
                observe,
                owners,
                shapes_only,
                tokens=tokens,
            )
        )
        if wanted is not None:
            wanted.discard(cycles[-1].shape_key)
            if not wanted:
                return cycles
    for index, (count, objects_more, kept_more) in extra.items():
        cycle = cycles[index]
        cycles[index] = dataclasses.replace(
            cycle,
            count=cycle.count + count,
            objects=cycle.objects + objects_more,
            kept_alive=cycle.kept_alive + kept_more,
        )
    return cycles


def _without_ignored(graph: ObjectGraph, ignore: Callable[[object], bool]) -> list[object] | None:
    """The garbage without the components that have an ignored member, nor the objects
    they reach that are in no cycle; ``None`` when nothing is ignored.

    Dropping only the ignored objects would leave the rest of their cycles as
    broken chains, reported as cycles the collector could not trace.
    """
    objects = graph.objects
    ignored = [v for v, obj in enumerate(objects) if _is_ignored(ignore, obj)]
    if not ignored:
        return None
    full = graph.children
    component_of: dict[int, list[int]] = {}
    cyclic: set[int] = set()
    for component in strongly_connected_components(full):
        for v in component:
            component_of[v] = component
        if is_cycle(component, full):
            cyclic.update(component)
    dropped: set[int] = set()
    for v in ignored:
        dropped.update(component_of[v])
    # Hangers-on of the dropped cycles go too, but not other cycles they reach.
    blocked = cyclic | dropped
    reachable(list(dropped), full, blocked=blocked)
    dropped |= blocked - cyclic
    return [obj for v, obj in enumerate(objects) if v not in dropped]


def _is_ignored(ignore: Callable[[object], bool], obj: object) -> bool:
    ignored = False  # a raising hook ignores nothing; it never fails the run
    with user_code():
        ignored = bool(ignore(obj))
    return ignored


def _classify(component: list[int], objects: Sequence[object], owners: CodeOwners) -> str:
    if _internal_type(component, objects, owners) is not None:
        return INTERNAL
    origins = {owners.origin(objects[v]) for v in component}
    if origins & {Origin.USER, Origin.TEST}:
        # Only instances of the test's own classes and builtin objects: the
        # test's (its `node.me = node`); a library member keeps the library's verdict.
        if Origin.USER not in origins and all(owners.made_by_test(objects[v]) for v in component):
            return TEST_LOCAL
        return CYCLE
    if Origin.STDLIB in origins:
        return STDLIB
    return CYCLE


# Modules of general-purpose C types (containers, wrappers, iterators) that
# code of any origin fills with references of its own: a cycle through them
# is whoever's filled them, not the interpreter's.
_GENERAL_PURPOSE = frozenset(
    [
        "builtins",
        "collections",
        "_collections",
        "functools",
        "_functools",
        "itertools",
        "operator",
        "_operator",
        "types",
        "weakref",
        "_weakref",
        "abc",
        "_abc",
        "contextvars",
        "_contextvars",
        "copyreg",
        "array",
    ]
)
# What an INTERNAL cycle is, and how to avoid it, by the module of its extension type.
_INTERNAL_NOTES = {
    # From 3.11 sqlite3 keeps each connection's statement cache in a
    # functools.lru_cache wrapper around the connection, which refers back to
    # it (Modules/_sqlite/connection.c, new_statement_cache); 3.9 and 3.10
    # keep a C cache that makes no cycle.  Closing the connection clears it.
    "sqlite3": "the connection's statement cache; close the connection",
    # 3.9's Path.resolve defines a recursive local function _resolve on each
    # call (3.10 rewrote it on os.path.realpath).
    "pathlib": "a recursive local function, made on each call of Path.resolve; it holds only itself",
}


def _internal_type(component: list[int], objects: Sequence[object], owners: CodeOwners) -> str | None:
    """The module of the standard-library extension type that makes this an interpreter-internal cycle, if it is one.

    Internal: no frame, generator, class or instance of a Python class in
    it, and one member either an instance of a C type of a standard-library
    module that is not a general-purpose container or wrapper
    (``sqlite3.Connection``), or a function of the standard library (its
    recursive local function, with the cell that holds it: 3.9's
    ``pathlib`` ``Path.resolve``, which pytest's ``tmp_path`` calls); any
    other function makes it no such cycle.  Such a cycle is the standard
    library's own implementation, holding nothing of its caller: whether it
    exists depends on the Python version, not on the code that ran, so it
    never fails.
    """
    found = None
    for v in component:
        obj = objects[v]
        tp = type(obj)
        if tp is types.FunctionType:
            if owners.code_origin(obj.__code__) is not Origin.STDLIB:  # type: ignore[attr-defined]
                return None
            found = found or loaded_module_of(obj.__globals__)  # type: ignore[attr-defined]
            continue
        if is_python_class(tp) or id(tp) in _CODE_TYPES or type_flags(tp) & _TYPE_SUBCLASS:
            return None
        module = type_module(tp)
        if (
            found is None
            and module is not None
            and module.partition(".")[0] not in _GENERAL_PURPOSE
            and owners.module_origin(module) is Origin.STDLIB
        ):
            found = module
    return found


_ORIGIN_RANK = {PROJECT: 0, DEPENDENCY: 1, STDLIB_ORIGIN: 2, TEST_ORIGIN: 3, HARNESS_ORIGIN: 4}
_TEST_DATA_RANK = 2.5  # after the code under test, before test code


_Origin = tuple[str, str, str]  # Cycle.origin, origin_name, origin_note


def _with_origin(cycle: Cycle, origin: _Origin) -> Cycle:
    return dataclasses.replace(cycle, origin=origin[0], origin_name=origin[1], origin_note=origin[2])


def _origin(
    kind: str,
    members: list[int],
    objects: Sequence[object],
    owners: CodeOwners,
    path: Sequence[int] = (),
    allocated: Sequence[str] = (),
) -> _Origin:
    """``Cycle`` origin fields: whose code made the members (project before dependency before stdlib).

    Of the members that name their code, the most specific origin wins, and
    of its modules the first on the printed ``path``, then the first in
    sorted order (never by address or hash seed).  A test-local cycle is the test's, or the harness's when only
    harness code is in it.  When no member names its code, the ``allocated`` modules (plain containers a
    traced re-run found the allocator of) do, else it is empty.
    """
    if kind == INTERNAL:
        module = _internal_type(members, objects, owners) or ""
        note = _INTERNAL_NOTES.get(
            module.partition(".")[0], "the standard library's own implementation; it holds nothing of its caller"
        )
        return STDLIB_ORIGIN, module, note
    position = {v: i for i, v in enumerate(path)}
    ranked = []
    factories, callers = [], []  # classes a stdlib factory made (and their instances); code in the cycle
    # Instances: their type decides (a 100,000-long ring), once: (named, factory-made, the test's data).
    by_type: dict[int, tuple[tuple[str, str] | None, bool, bool]] = {}
    for v in members:
        obj = objects[v]
        tp = type(obj)
        if id(tp) in _CODE_TYPES or tp is types.CodeType or type_flags(tp) & _TYPE_SUBCLASS:
            named, data = owners.named_origin(obj), False
            factory = is_a(obj, type) and owners.untrue_module(obj)
        elif id(tp) in by_type:
            named, factory, data = by_type[id(tp)]
        else:
            named = owners.named_origin(obj)
            # The test's data (an instance of a test module's class): the code
            # under test in the cycle linked it (a field's ``.parent`` back to
            # the test's schema), and names the origin if any does.
            data = named is not None and named[0] == PROJECT and owners.type_origin(tp) is Origin.TEST
            factory = owners.untrue_module(tp)
            by_type[id(tp)] = named, factory, data
        if named is not None and factory:
            # Its module is the factory's (abc, types), not its maker's: never named as the origin.
            factories.append((position.get(v, len(path)), named[1]))
            continue
        if named is not None and id(tp) in _CODE_TYPES:
            callers.append((position.get(v, len(path)), named[1]))
        if named is not None:
            rank = _TEST_DATA_RANK if data else _ORIGIN_RANK[named[0]]
            ranked.append((rank, position.get(v, len(path)), named[1], named[0]))
    ranked.sort()
    if kind == TEST_LOCAL:
        # Cut by test or harness code (held_by_test): the test's if any of it is.
        closing = [entry for entry in ranked if entry[3] == TEST_ORIGIN] or [
            entry for entry in ranked if entry[3] == HARNESS_ORIGIN
        ]
        if closing:
            return closing[0][3], closing[0][2], ""
        return _factory_made_origin(TEST_ORIGIN, factories, callers) if factories else (TEST_ORIGIN, "", "")
    if not ranked and factories:
        return _factory_made_origin("", factories, callers)
    if not ranked:
        # Plain containers only: the modules that allocated them say whose they are, if tracing told.
        named_modules = [owners.named_module_origin(module) for module in allocated]
        ranked = sorted((_ORIGIN_RANK[named[0]], 0, named[1], named[0]) for named in named_modules if named is not None)
    if not ranked:
        return "", "", ""
    _, _, module, origin = ranked[0]
    return origin, dependency_name(module) if origin == DEPENDENCY else module, ""


def _factory_made_origin(origin: str, factories: list[tuple[int, str]], callers: list[tuple[int, str]]) -> _Origin:
    """A cycle whose only members that name a module are classes a standard-library factory made (and their instances).

    Their ``__module__`` is the factory's (``abc`` for ``type()`` on an
    ``abc.ABC`` subclass, ``types`` for ``types.new_class``;
    ``CodeOwners.untrue_module``), which made nothing of its own: the
    origin names the module of code in the cycle (the function that
    defined the class's methods), if any, else nobody.
    """
    factory = min(factories)[1]
    caller = min(callers)[1] if callers else ""
    told = f", called from {caller}" if caller else "; who called it, the garbage does not tell"
    return origin, caller, f"{FACTORY_MADE} ({factory}){told}"


def _classify_broken(group: list[int], objects: Sequence[object], owners: CodeOwners, cut: list[bool]) -> str:
    if any(cut[v] for v in group):
        return TEST_LOCAL
    return _classify(group, objects, owners)


def _weak_components(vertices: list[int], children: list[list[int]], parents: list[list[int]]) -> list[list[int]]:
    """Groups of ``vertices`` connected by references in either direction."""
    remaining = set(vertices)
    groups = []
    for seed in vertices:
        if seed not in remaining:
            continue
        remaining.discard(seed)
        group, stack = [seed], [seed]
        while stack:
            vertex = stack.pop()
            for other in (*children[vertex], *parents[vertex]):
                if other in remaining:
                    remaining.discard(other)
                    group.append(other)
                    stack.append(other)
        groups.append(sorted(group))
    return groups


def _describe_broken(
    kind: str,
    group: list[int],
    children: list[list[int]],
    objects: Sequence[object],
    labeller: Labeller,
    sites: _Sites,
    sampled: bool = False,
    shapes_only: bool = False,
) -> Cycle:
    """The chain of references that gc.get_referents shows, from the most telling member.

    ``sampled``: the chain ends where the sample does; instance dicts fold
    into their instances, as on a cycle's path.
    """
    members = set(group)
    vertex = _starts(group, objects)[0]
    chain, seen = [vertex], {vertex}
    while len(chain) < MAX_PATH_HOPS:
        following = [k for k in children[vertex] if k in members and k not in seen]
        if not following:
            break
        vertex = min(following, key=lambda v: (_telling(objects[v]), _shape_token(objects[v]), v))
        chain.append(vertex)
        seen.add(vertex)
    site, allocator = sites
    hops = []
    for position, v in enumerate(chain):
        obj = objects[v]
        edge = labeller.edge_label(obj, objects[chain[position + 1]]) if position + 1 < len(chain) else ""
        hops.append(Hop(labeller.label(obj), _shape_token(obj), edge, site(obj)))
    return Cycle(
        kind=kind,
        path=fold_instance_dicts(tuple(hops)) if sampled else tuple(hops),
        count=1,
        objects=len(group),
        kept_alive=0,
        member_types=() if shapes_only else _member_types(group, objects, allocator),
        traced=False,
        sampled=sampled,
    )


def _held_by_test(objects: Sequence[object], owners: CodeOwners) -> list[bool]:
    """``owners.held_by_test`` of each object; decided once per type where the type decides."""
    by_type: dict[int, bool] = {}  # by id(type): the objects keep their types alive meanwhile
    cut = []
    for obj in objects:
        tp = type(obj)
        if id(tp) in _CODE_TYPES or type_flags(tp) & _TYPE_SUBCLASS:  # code and classes: per object
            cut.append(owners.held_by_test(obj))
            continue
        held = by_type.get(id(tp))
        if held is None:
            held = by_type[id(tp)] = owners.held_by_test(obj)
        cut.append(held)
    return cut


def _no_site(obj: object) -> str:
    return ""


def _no_module(obj: object) -> str | None:
    return None


# An object's allocation site in words, and the module that allocated it (tracemalloc: ``sites.Sites``).
_Sites = tuple[Callable[[object], str], Callable[[object], "str | None"]]


def _member_types(
    vertices: Iterable[int], objects: Sequence[object], allocator: Callable[[object], str | None] = _no_module
) -> tuple[tuple[str, ...], ...]:
    """Who owns the members that have an owner (``Cycle.member_types``); for a cycle with none, who allocated them."""
    owners = {member_owner(objects[v]) for v in vertices}
    named = sorted(owner for owner in owners if owner is not None)
    if not named:
        allocated = {allocator(objects[v]) for v in vertices}
        named = sorted((ALLOC_MEMBER, module) for module in allocated if module is not None)
    return tuple(named)


def _telling(obj: object) -> int:
    """Lower is more telling: a user-class instance before a dict, a dict before a tuple.

    Code before a class: every class is a cycle with its ``__mro__``, so a
    path from the class reads the same for every class in a component; a
    path from a method in it shows what ties the rest to the class.  An
    extension's object (``sqlite3.Connection``) before a general-purpose
    one (an ``lru_cache`` wrapper, an iterator).
    """
    tp = type(obj)
    if is_python_class(tp) and not is_a(obj, type):
        return 0
    if id(tp) in _CODE_TYPES or tp is types.MethodType:
        return 2
    if is_a(obj, type):
        return 3
    if tp is types.TracebackType or tp is types.CellType:
        return 5
    if tp is dict:
        return 6
    if id(tp) in _PLAIN_CONTAINERS:
        return 7
    if is_a(obj, BaseException):
        return 1
    module = type_module(tp) or "builtins"
    return 5 if module.partition(".")[0] in _GENERAL_PURPOSE else 4  # interpreter internals: 5


def _starts(
    members: Sequence[int],
    objects: Sequence[object],
    tokens: Sequence[str] | None = None,
    owners: CodeOwners | None = None,
) -> list[int]:
    """Where a component's path may start, best first: the most telling, whose code, the kind it has fewest of.

    Not the first in the garbage's order, which is the collector's (where
    earlier collections moved each object), so it can differ between two
    runs of one test: werkzeug's URL ``Map`` and its ``Rule``s are one
    component; a path from the map one run and from a rule the next read
    as two shapes, and the re-run's cycle did not "recur" (a false one-time
    verdict, and a fingerprint that changes).  The kind with fewest members
    is the one the others hang off (the map, not one of its rules).  One
    member per kind, of the most telling rank only; between members of one
    kind, the garbage's order still decides.

    With ``owners``, the project's kinds come first, then the tests', a
    dependency's, the standard library's: a library's cycle that joins the
    project's in some runs and not in others does not change how the
    component is told.  Starlette's ``TestClient`` cycle was told by an
    AnyIO future's exception cycle in the runs where trio's shuffled
    scheduling made one (``ClosedResourceError``), and its fingerprint
    came and went with it.  It is also the cycle the project can fix.
    """
    ranks = [_telling(objects[v]) for v in members]
    if tokens is None:  # (``_shape_token`` of each member, in order: the caller's signature has them)
        tokens = [_shape_token(objects[v]) for v in members]
    counts = Counter(tokens)
    best = min(ranks)
    first: dict[str, int] = {}
    for i, v in enumerate(members):
        if ranks[i] == best and v < first.get(tokens[i], v + 1):
            first[tokens[i]] = v
    if owners is None or len(first) < 2:
        return [first[token] for token in sorted(first, key=lambda token: (counts[token], token))]
    whose = {token: _owner_rank(objects[v], owners) for token, v in first.items()}
    return [first[token] for token in sorted(first, key=lambda token: (whose[token], counts[token], token))]


# Whose kind a component's path starts at first (``_starts``): the project's, then the tests'.
_OWNER_RANKS = {PROJECT: 0, TEST_ORIGIN: 1, DEPENDENCY: 2, STDLIB_ORIGIN: 3, HARNESS_ORIGIN: 4}


def _owner_rank(obj: object, owners: CodeOwners) -> int:
    named = owners.named_origin(obj)
    return len(_OWNER_RANKS) if named is None else _OWNER_RANKS.get(named[0], len(_OWNER_RANKS))


# Kinds whose shortest cycles are compared for a component's path (``_path``):
# each costs a breadth-first search of the component.
_KINDS_TRIED = 4


def _path(
    component: list[int],
    objects: Sequence[object],
    children: list[list[int]],
    tokens: Sequence[str] | None = None,
    owners: CodeOwners | None = None,
) -> list[int]:
    """The shortest of the shortest cycles through a member of each of the first few kinds ``_starts`` gives.

    The shortest says the most with the least, and groups best: werkzeug's
    request and its environ are a cycle of two (``Request .environ -> dict
    -> Request``), which a path from the request's headers object in the
    same component tells in three; a path through as many kinds as it can
    reach would spell out each test's own URL rules.  Ties go to the
    earlier kind.
    """
    paths = [shortest_cycle(v, component, children) for v in _starts(component, objects, tokens, owners)[:_KINDS_TRIED]]
    return min(paths, key=len)


def _shape_token(obj: object) -> str:
    """What an object is, the same on every Python version (3.9/3.10 have no co_qualname)."""
    tp = type(obj)
    if tp is types.FrameType:
        return f"frame:{obj.f_code.co_name}"  # type: ignore[attr-defined]
    if tp is types.FunctionType:
        return f"function:{obj.__qualname__}"  # type: ignore[attr-defined]
    if is_a(obj, type):
        return f"class:{type_name(obj)}"
    return type_name(tp)


def _describe(
    kind: str,
    component: list[int],
    children: list[list[int]],
    hangers: list[int],
    objects: Sequence[object],
    parents: list[list[int]],
    labeller: Labeller,
    sites: _Sites,
    observe: Observer | None = None,
    owners: CodeOwners | None = None,
    shapes_only: bool = False,
    path: list[int] | None = None,
    tokens: Sequence[str] | None = None,
) -> Cycle:
    site, allocator = sites
    if path is None:
        path = _path(component, objects, children, tokens, owners)
    hops = _path_hops(path, objects, labeller, site)
    members = set(component)
    folded = 0
    for v in component:
        candidate = objects[v]
        if type(candidate) is dict and any(
            p in members and is_instance_dict(objects[p], candidate) for p in parents[v]
        ):
            folded += 1
    # (Counted by name, never in a Counter of types: their metaclass's __hash__ is code.)
    hanger_types = Counter(() if shapes_only else (short_type_name(type(objects[v])) for v in hangers))
    cycle = Cycle(
        kind=kind,
        path=hops,
        count=1,
        objects=len(component) - folded,
        kept_alive=len(hangers),
        kept_alive_types=tuple(hanger_types.most_common(3)),
        member_types=() if shapes_only else _member_types(component, objects, allocator),
    )
    origin = _origin(kind, component, objects, owners or CodeOwners(), path, allocating_modules(cycle.member_types))
    cycle = _with_origin(cycle, origin)
    if observe is not None:
        triples = []
        for position, vertex in enumerate(path):
            obj, head = objects[vertex], objects[path[(position + 1) % len(path)]]
            triples.append((obj, labeller.edge_label(obj, head), head))
        observe(kind, [objects[v] for v in component], triples, cycle)
    return cycle


def _path_hops(
    path: list[int], objects: Sequence[object], labeller: Labeller, site: Callable[[object], str]
) -> tuple[Hop, ...]:
    """The printed hops of a cycle's path: at most ``MAX_PATH_HOPS`` and a tail, instance dicts folded."""
    hops = []
    for position, vertex in enumerate(path):
        if MAX_PATH_HOPS <= position < len(path) - _PATH_TAIL:
            if position == MAX_PATH_HOPS:
                skipped = len(path) - MAX_PATH_HOPS - _PATH_TAIL
                hops.append(Hop(f"… {skipped} more objects …", "…", "…"))
            continue
        obj = objects[vertex]
        head = objects[path[(position + 1) % len(path)]]
        hops.append(Hop(labeller.label(obj), _shape_token(obj), labeller.edge_label(obj, head), site(obj)))
    return fold_instance_dicts(tuple(hops))


def merge_cycles(first: list[Cycle], then: list[Cycle]) -> list[Cycle]:
    """Two analyses of one window's garbage as one: grouped by shape, failing kinds first (uncollectable first of all).

    A window explains what the test's own ``gc.collect()`` saved at once
    (``owncollect``), the rest when it closes.
    """
    if not first or not then:
        return first or then
    return sorted(_group([*first, *then]), key=lambda cycle: _KIND_ORDER.get(cycle.kind, -1))


def _group(cycles: list[Cycle]) -> list[Cycle]:
    grouped: dict[str, Cycle] = {}
    for cycle in cycles:
        key = f"{cycle.kind}|{cycle.shape}"
        seen = grouped.get(key)
        if seen is None:
            grouped[key] = cycle
            continue
        grouped[key] = Cycle(
            kind=seen.kind,
            path=seen.path,
            count=seen.count + cycle.count,
            objects=seen.objects + cycle.objects,
            kept_alive=seen.kept_alive + cycle.kept_alive,
            kept_alive_types=_merge_counts(seen.kept_alive_types, cycle.kept_alive_types),
            member_types=tuple(sorted(set(seen.member_types) | set(cycle.member_types))),
            shape=seen.shape,
            traced=seen.traced,
            sampled=seen.sampled,
            origin=seen.origin,
            origin_name=seen.origin_name,
            origin_note=seen.origin_note,
        )
    return list(grouped.values())


def _merge_counts(a: tuple[tuple[str, int], ...], b: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    total: Counter[str] = Counter(dict(a))
    total.update(dict(b))
    return tuple(total.most_common(3))
