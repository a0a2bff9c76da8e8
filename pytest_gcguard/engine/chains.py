"""Referrer chains: what keeps a live object alive, from a root down to the object.

Roots are named plainly: a module global, an attribute of a class its module
holds, a local of a
running frame (in which thread), or "C code (no Python referrer)" when the
search ends at an object nothing visible refers to.  Before it says so, one
pass over the heap's referents looks for an object the collector cannot
look into that holds it (``opaque_holders``): ``io.TextIOWrapper``'s
newline decoder holds the codec's decoder in its C struct, and the chain
goes on from there.

One ``gc.get_referrers()`` call walks the whole heap, so the search is
level-batched: the whole frontier goes into one call (depth x one heap pass,
not one pass per visited object as objgraph does).  The heap must be
unfrozen while searching -- ``get_referrers`` does not see frozen referrers --
and is frozen again afterwards.  The search never walks through its own
frames and containers (objgraph's classic pitfall).
"""

from __future__ import annotations

import gc
import itertools
import operator
import sys
import threading
import types
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import cast

from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.introspect import LRU_CACHE_WRAPPER
from pytest_gcguard.engine.introspect import frame_locals
from pytest_gcguard.engine.introspect import is_opaque
from pytest_gcguard.engine.introspect import lru_cache_bound
from pytest_gcguard.engine.introspect import module_dict
from pytest_gcguard.engine.introspect import opaque_words
from pytest_gcguard.engine.introspect import plain_str
from pytest_gcguard.engine.introspect import referents
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.engine.introspect import user_code
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.ownership import Origin
from pytest_gcguard.engine.ownership import held_by_its_module


# The root of a chain whose last object no Python object refers to: the
# interpreter's C code holds it (a registry such as codecs.register's search
# path, sys.addaudithook's hooks, atexit's callbacks, an extension's state).
NO_REFERRER = "C code (no Python referrer)"

# Bounds of one search: levels of referrers, and work -- never seconds.  A
# chain is part of a leak's shape and fingerprint: with a 2 s deadline, a
# search a fast or idle machine finished was cut short on a slower or busier
# one ("chain search timed out"), and the same leak got another fingerprint,
# which its baseline entry no longer matched (SQLAlchemy's suite: the same
# kinds' chains read "timed out" in one run and named a root in another).
# Each level costs one pass over the heap (``gc.get_referrers``, bounded by
# the depth) and a read of the referents of what it found, which the budget
# counts; the same heap gives the same count on every machine.
MAX_DEPTH = 12
WORK_BUDGET = 3_000_000
BUDGET_SPENT = "chain search over its budget"
# The look for holders the collector cannot see into reads the referents of
# the heap's objects this many objects at a time, and at most this many
# referents in all (then the search ends as if it found none).
OPAQUE_CHUNK = 10_000
OPAQUE_BUDGET = 5_000_000


def _module_dicts() -> dict[int, str]:
    found = {}
    for name, module in list(sys.modules.items()):
        if type(module) is types.ModuleType and type(name) is str:
            found[id(module.__dict__)] = name
    return found


def thread_names() -> dict[int | None, str]:
    """The name of every running thread, by ident (a name that is no plain string left out)."""
    names: dict[int | None, str] = {}
    for thread in threading.enumerate():
        with user_code():  # a Thread subclass may make name a property
            name = plain_str(thread.name)
            if name is not None:
                names[thread.ident] = name
    return names


def _running_locals(owners: CodeOwners, ignore_frames: set[int]) -> dict[int, tuple[str, str, int]]:
    """id(value) -> (local name, where, thread ident) for the locals of every running frame but ours and pytest's.

    Every running frame is added to ``ignore_frames``: a running frame is a
    root through its named locals, never a referrer (gc.get_referrers also
    reports a frame whose evaluation stack holds the object for a moment --
    an argument being passed -- which keeps nothing alive once the call
    returns).  Module-level frames are skipped: their locals are the
    module's globals, named as such from the module's dict.
    """
    names = thread_names()
    found: dict[int, tuple[str, str, int]] = {}
    running: list[int] = []
    for ident, top in sys._current_frames().items():
        frame: types.FrameType | None = top
        while frame is not None:
            running.append(id(frame))
            if (
                id(frame) not in ignore_frames
                and frame.f_code.co_name != "<module>"
                and owners.code_origin(frame.f_code) is not Origin.HARNESS
            ):
                code = frame.f_code
                where = (
                    f"running frame {getattr(code, 'co_qualname', code.co_name)} "
                    f"({code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}) in thread {names.get(ident, ident)}"
                )
                for key, value in frame_locals(frame):
                    # Not an identifier: a temporary of pytest's assertion
                    # rewriting ('@py_assert2'), which holds what an assert
                    # statement is evaluating -- explain(x) inside an assert.
                    name = plain_str(key)
                    if name is not None and name.isidentifier():
                        found.setdefault(id(value), (name, where, ident))
            frame = frame.f_back
    del top, frame
    ignore_frames.update(running)
    return found


def referrer_chain(
    target: object,
    owners: CodeOwners | None = None,
    labeller: Labeller | None = None,
    *,
    max_depth: int = MAX_DEPTH,
    budget: int = WORK_BUDGET,
    frozen: bool = False,
    siblings: frozenset[int] = frozenset(),
    ignore: frozenset[int] = frozenset(),
    roots_from: types.FrameType | None = None,
) -> Chain:
    """The shortest chain of references from a root to ``target``.

    ``frozen``: the caller keeps the heap frozen (the plugin does); it is
    unfrozen for the search and frozen again.  ``siblings``: ids of other
    objects of the same kind, to tell how many share the target's container.
    ``ignore``: ids of the caller's own containers, never walked through.
    ``roots_from``: see ``referrer_chains``.
    """
    (chain,) = referrer_chains(
        [target],
        owners,
        labeller,
        max_depth=max_depth,
        budget=budget,
        frozen=frozen,
        siblings=[siblings],
        ignore=ignore,
        roots_from=roots_from,
    )
    return chain


def referrer_chains(
    targets: Sequence[object],
    owners: CodeOwners | None = None,
    labeller: Labeller | None = None,
    *,
    max_depth: int = MAX_DEPTH,
    budget: int = WORK_BUDGET,
    frozen: bool = False,
    siblings: Sequence[frozenset[int]] | None = None,
    ignore: frozenset[int] = frozenset(),
    roots_from: types.FrameType | None = None,
    look_in_structs: bool = True,
    past_bounded_caches: bool = False,
) -> list[Chain]:
    """``referrer_chain`` for many targets at once: one heap pass per level for all of them.

    Each target's search is the same as alone (its own shortest chain); only
    the ``gc.get_referrers`` call, which walks the whole heap, is shared.

    ``roots_from``: the caller's frame when the caller is user code (the
    library API's ``explain``): it and the frames it was called from are
    running frames whose locals are roots, while the frames between it and
    this call are ours.  Without it the whole stack is ours (the plugin's
    hooks, called by pytest).  ``look_in_structs=False``: a search that meets
    no visible referrer ends at C code without the heap pass that looks for
    a C struct holding it (``opaque_holders``), for a caller that has a
    cheaper way to tell (``rerun.Rerun._leaks``: another leaked kind that holds it).
    ``past_bounded_caches``: no search walks through a ``functools.lru_cache``
    with a maxsize (``bounded_cache_ids``): what else holds the targets.
    """
    owners = owners or CodeOwners()
    labeller = labeller or Labeller()
    ours: set[int] = set(ignore)  # our own frames and containers: never a referrer
    ours.add(id(targets))
    frame: types.FrameType | None = sys._getframe()
    while frame is not None and frame is not roots_from:
        ours.add(id(frame))
        frame = frame.f_back
    frame = roots_from = None
    if frozen:
        gc.unfreeze()
    try:
        context = _Context(owners, labeller, ours)
        searches = [
            _Search(target, siblings[i] if siblings is not None else frozenset()) for i, target in enumerate(targets)
        ]
        ours.update(id(search) for search in searches)
        ours.update({id(searches), id(context)})
        if not look_in_structs:
            for search in searches:
                search.looked_in_structs = True
        if past_bounded_caches:
            ours.update(bounded_cache_ids())
        _run(searches, context, max_depth, budget)
        return [search.result or search.cut(context, max_depth) for search in searches]
    finally:
        if frozen:
            gc.freeze()


class _Context:
    """What every search of one call shares: the roots, and the ids of our own objects."""

    def __init__(self, owners: CodeOwners, labeller: Labeller, ours: set[int]) -> None:
        self.owners = owners
        self.labeller = labeller
        self.ours = ours
        self.modules = _module_dicts()
        self.running = _running_locals(owners, ours)
        ours.update({id(self.modules), id(self.running), id(self.__dict__)})


class _Search:
    """One target's breadth-first walk up its referrers, one level per shared heap pass."""

    def __init__(self, target: object, siblings: frozenset[int]) -> None:
        # Mapping from each object reached to the object it refers to on the way to the target.
        self.child_of: dict[int, object] = {}
        self.seen = {id(target)}
        self.frontier = [target]
        self.last = target
        self.depth = 0
        self.held_by_pytest = False
        self.siblings = siblings
        self.result: Chain | None = None
        self.dead_end = False  # nothing the collector sees refers to the frontier
        self.looked_in_structs = False
        # pytest's objects that refer to the frontier, walked past only at a dead end (``pass_pytest``),
        # and the chain the search ends with if that finds no root of the code under test.
        self.pytest_objects: list[tuple[object, object]] = []
        self.pytest_fallback: Chain | None = None

    def ids(self) -> list[int]:
        """Our containers that refer to objects under search: never referrers."""
        return [
            id(self.__dict__),
            id(self.child_of),
            id(self.frontier),
            id(self.pytest_objects),
            *map(id, self.pytest_objects),
        ]

    def chain(
        self,
        context: _Context,
        root: str,
        start: object,
        *,
        thread: int = 0,
        module_global: tuple[str, str] | None = None,
        **flags: bool,
    ) -> Chain:
        hops, holder = _hops(start, self.child_of, context.labeller)
        shared = 0
        if holder is not None and self.siblings:
            shared = sum(1 for ref in referents(holder) if id(ref) in self.siblings)
        return Chain(
            root,
            hops,
            shared=shared,
            thread=thread,
            module_global=module_global,
            bounded=_through_a_bounded_cache(start, self.child_of),
            **flags,
        )

    def cut(self, context: _Context, max_depth: int) -> Chain:
        if self.pytest_fallback is not None:
            return self.pytest_fallback  # (what the search had before walking past pytest's objects)
        reason = f"chain cut at depth {self.depth}" if self.depth >= max_depth else BUDGET_SPENT
        return self.chain(context, reason, self.last, complete=False)

    def end_at_c_code(self, context: _Context) -> None:
        registry = c_registry(self.frontier[0])
        root = f"{NO_REFERRER}: {registry}" if registry else NO_REFERRER
        self.result = self.chain(context, root, self.frontier[0])

    def pass_pytest(self, context: _Context) -> None:
        """Go on, once, from the objects of pytest's that refer to the frontier.

        A library that keeps one of pytest's objects keeps what that object
        holds: pytest's capture stream (``capsys``) that click 8.1.8's
        stream cache keeps holds its codec decoder, which then leaks per
        test -- the library's leak, not pytest's retention.  Only what holds
        pytest's objects is looked at, not pytest's objects beyond them: if
        pytest's objects (or its modules) are all that hold them too, or the
        search is cut, the chain is pytest's own, as it was before.
        """
        self.pytest_fallback = self.chain(context, "pytest's own structures", self.frontier[0], held_by_pytest=True)
        self.frontier = []
        for referrer, child in self.pytest_objects:
            self.child_of[id(referrer)] = child
            self.frontier.append(referrer)
        self.pytest_objects.clear()
        self.last = self.frontier[0]
        self.depth += 1

    def leave_dead_end(self, context: _Context, holders: Mapping[int, object]) -> None:
        """Go on from the holders found in C structs (``opaque_holders``), or end at C code: once per search."""
        self.dead_end = False
        self.looked_in_structs = True
        found = [(holders[id(obj)], obj) for obj in self.frontier if id(obj) in holders]
        found = [(holder, child) for holder, child in found if id(holder) not in self.seen]
        if not found:
            self.end_at_c_code(context)
            return
        self.frontier = []
        for holder, child in found:
            self.seen.add(id(holder))
            self.child_of[id(holder)] = child
            self.frontier.append(holder)
        self.last = self.frontier[0]
        self.depth += 1

    def check_running(self, context: _Context) -> None:
        for obj in self.frontier:
            local = context.running.get(id(obj))
            if local is not None:
                name, where, thread = local
                self.result = self.chain(context, f"local {name!r} of {where}", obj, thread=thread)
                return

    def advance(self, context: _Context, referrers: list[tuple[object, list[object]]]) -> None:
        """Take this level's referrers (each with the frontier objects it refers to)."""
        frontier_ids = {id(o) for o in self.frontier}
        next_frontier: list[object] = []
        owners, modules, labeller = context.owners, context.modules, context.labeller
        for referrer, children in referrers:
            rid = id(referrer)
            if rid in self.seen:
                continue
            child = next((c for c in children if id(c) in frontier_ids), None)
            if child is None:
                continue
            self.seen.add(rid)
            if owners.is_harness(referrer) or (rid in modules and owners.module_origin(modules[rid]) is Origin.HARNESS):
                # pytest's own structures (items, fixture definitions, reports,
                # its modules' globals) are not where a leak of the code under
                # test lives; a chain only they explain is pytest's retention --
                # unless what holds one of pytest's objects is not pytest
                # (``pass_pytest``).
                self.held_by_pytest = True
                if rid not in modules and self.pytest_fallback is None:
                    self.pytest_objects.append((referrer, child))
                continue
            self.child_of[rid] = child
            module = modules.get(rid)
            if module is not None:
                key = labeller.edge_label(referrer, child)
                name = key[2:-2] if key.startswith("['") and key.endswith("']") else key
                root = f"module {module}, global {name}"
                self.result = self.chain(context, root, child, module_global=(module, name))
                return
            # A class is a root when its module holds it; a class a function
            # made (a test's local class) lives only as long as what holds
            # it -- Pympler's cache keyed by the class -- so the search goes on.
            if issubclass(type(referrer), type) and held_by_its_module(cast(type, referrer)):
                start: object = child
                attribute = labeller.edge_label(referrer, child)
                grandchild = self.child_of.get(id(child))
                if attribute == ".__dict__" and grandchild is not None:
                    # Through the class's namespace: name the attribute, start at its value.
                    attribute = labeller.edge_label(child, grandchild)
                    start = grandchild
                attribute = attribute[2:-2] if attribute.startswith("['") else attribute.lstrip(".")
                root = f"class {type_name(cast(type, referrer))}, attribute {attribute}"
                self.result = self.chain(context, root, start)
                return
            next_frontier.append(referrer)
        if not next_frontier:
            if self.pytest_fallback is not None:
                self.result = self.pytest_fallback  # past pytest's objects, nothing but pytest again
            elif self.pytest_objects:
                self.pass_pytest(context)
            elif self.held_by_pytest:
                self.result = self.chain(context, "pytest's own structures", self.frontier[0], held_by_pytest=True)
            elif self.looked_in_structs:
                self.end_at_c_code(context)
            else:
                self.dead_end = True  # the caller looks for holders the collector cannot see (``opaque_holders``)
            return
        self.last = next_frontier[0]
        self.frontier = next_frontier
        self.depth += 1


def _run(searches: list[_Search], context: _Context, max_depth: int, budget: int) -> None:
    """Advance every unfinished search one level per ``gc.get_referrers`` call, within ``budget`` (``WORK_BUDGET``)."""
    ours = context.ours
    while budget > 0:
        for search in searches:
            if search.result is None:
                search.check_running(context)
        active = [s for s in searches if s.result is None and s.depth < max_depth]
        if not active:
            return
        union: dict[int, object] = {}
        for search in active:
            for obj in search.frontier:
                union.setdefault(id(obj), obj)
        # The argument tuple is ours, made here: gc.get_referrers(*a_list)
        # would pack a new one that 3.13 reports as a referrer of every
        # frontier object (3.9-3.12 skip the tuple they are called with; 3.13
        # moved get_referrers to Argument Clinic, which packs the arguments
        # into a tuple of its own: python/cpython#113755, PR #113756).
        # Telling it by its contents instead mistook a real one-element tuple
        # holding the target -- a mock's call arguments -- for it.
        frontier = tuple(union.values())
        ours.update({id(active), id(union), id(frontier)})
        for search in active:
            ours.update(search.ids())
        found = gc.get_referrers(*frontier)
        ours.add(id(found))
        budget -= len(found)
        referrers: list[tuple[object, list[object]]] = []
        for referrer in found:
            if id(referrer) in ours:
                continue
            refs = referents(referrer)
            budget -= len(refs)
            referrers.append((referrer, [r for r in refs if id(r) in union]))
            del refs
        found.clear()
        union.clear()
        del frontier
        for search in active:
            search.advance(context, referrers)
        referrers.clear()
        ended = [search for search in active if search.dead_end]
        if ended:
            wanted = {id(obj): obj for search in ended for obj in search.frontier}
            ours.update({id(ended), id(wanted)})
            holders = opaque_holders(wanted, ours)
            for search in ended:
                search.leave_dead_end(context, holders)
            holders.clear()
            wanted.clear()


def opaque_holders(wanted: Mapping[int, object], ours: set[int], budget: int = OPAQUE_BUDGET) -> dict[int, object]:
    """For the objects in ``wanted`` (by id): one that holds it where the collector cannot look, if any.

    Such a holder is an object of a C type without GC support
    (``introspect.opaque_words``): ``gc.get_referrers`` never names it, but
    an object the collector tracks refers to it -- a stream to its newline
    decoder -- so it is among the referents of the heap's objects.  One pass
    over them, in chunks, bounded by ``budget`` referents read (a count,
    not seconds: what it finds is part of a chain).  A module is not asked for its referents: its
    ``tp_traverse`` visits its C state, interpreter internals
    (python/cpython#122695, see ``introspect.referents``); its namespace is
    a dict of its own.  ``ours``: ids of the caller's objects, never read.
    """
    found: dict[int, object] = {}
    # By id(type), decided once per type: whose instances may hide references,
    # and which are modules.  The per-object work is done by C code (map,
    # compress): the heap's referents are millions.
    kinds: dict[int, type] = {}
    hiding: set[int] = set()
    modules: set[int] = set()
    objects = gc.get_objects()
    ours.add(id(objects))
    read = 0
    try:
        for start in range(0, len(objects), OPAQUE_CHUNK):
            if read >= budget:
                break
            chunk = objects[start : start + OPAQUE_CHUNK]
            _classify(chunk, kinds, hiding, modules)
            skip = ours | {id(obj) for obj in itertools.compress(chunk, map(modules.__contains__, _type_ids(chunk)))}
            chunk = list(itertools.compress(chunk, map(operator.not_, map(skip.__contains__, map(id, chunk)))))
            referents_ = gc.get_referents(*chunk)
            chunk.clear()
            read += len(referents_)
            _classify(referents_, kinds, hiding, modules)
            for ref in itertools.compress(referents_, map(hiding.__contains__, _type_ids(referents_))):
                for word in opaque_words(ref):
                    if word in wanted:
                        found.setdefault(word, ref)
            referents_.clear()
        return found
    finally:
        objects.clear()
        kinds.clear()


def _type_ids(objects: list[object]) -> Iterator[int]:
    return map(id, map(type, objects))


def _classify(objects: list[object], kinds: dict[int, type], hiding: set[int], modules: set[int]) -> None:
    """Add the types of ``objects`` not seen yet to ``kinds``, and to ``hiding`` or ``modules`` where they are."""
    found = dict(zip(_type_ids(objects), map(type, objects)))  # (by id: a metaclass's __hash__ is code)
    for key, kind in found.items():
        if key in kinds:
            continue
        kinds[key] = kind
        if is_opaque(kind):
            hiding.add(key)
        elif issubclass(kind, types.ModuleType):
            modules.add(key)
    found.clear()


def _through_a_bounded_cache(start: object, child_of: dict[int, object]) -> bool:
    """Whether a ``functools.lru_cache`` wrapper with a maxsize is on the path from ``start``."""
    node: object | None = start
    while node is not None:
        if lru_cache_bound(node) is not None:
            return True
        node = child_of.get(id(node))
    return False


def bounded_cache_ids() -> set[int]:
    """The ids of every ``functools.lru_cache`` wrapper with a maxsize that the collector sees now.

    One pass over ``gc.get_objects()``, its type tests done by C code; the
    caller unfreezes the heap first (caches made at import are frozen).
    """
    objects = gc.get_objects()
    try:
        wrappers = itertools.compress(
            objects, map(operator.is_, map(type, objects), itertools.repeat(LRU_CACHE_WRAPPER))
        )
        return {id(wrapper) for wrapper in wrappers if lru_cache_bound(wrapper) is not None}
    finally:
        objects.clear()


def _hops(start: object, child_of: dict[int, object], labeller: Labeller) -> tuple[tuple[Hop, ...], object | None]:
    """Labelled hops from ``start`` down to the target, and the target's direct holder."""
    hops = []
    node = start
    holder = None
    while True:
        child = child_of.get(id(node))
        edge = "" if child is None else labeller.edge_label(node, child)
        hops.append(Hop(labeller.label(node), type_name(type(node)), edge))
        if child is None:
            return tuple(hops), holder
        holder = node
        node = child


def c_registry(holder: object) -> str | None:
    """Which of the interpreter's registries ``holder`` is, when its contents tell.

    The codec search path is a list only C code refers to
    (``interp->codec_search_path``); the ``encodings`` package registers the
    first entry at startup, so a list holding ``encodings.search_function``
    is that path.
    """
    if type(holder) is not list:
        return None
    namespace = module_dict(sys.modules.get("encodings"))
    search = namespace.get("search_function") if namespace is not None else None
    if search is not None and any(entry is search for entry in holder):
        return "the codec search path (codecs.register)"
    return None
