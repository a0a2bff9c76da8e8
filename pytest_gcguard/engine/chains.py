"""Referrer chains: what keeps a live object alive, from a root down to the object.

Roots are named plainly: a module global, an attribute of a class its module
holds, a local of a
running frame (in which thread), or "C code (no Python referrer)" when the
search ends at an object nothing visible refers to.

One ``gc.get_referrers()`` call walks the whole heap, so the search is
level-batched: the whole frontier goes into one call (depth x one heap pass,
not one pass per visited object as objgraph does).  The heap must be
unfrozen while searching -- ``get_referrers`` does not see frozen referrers --
and is frozen again afterwards.  The search never walks through its own
frames and containers (objgraph's classic pitfall).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import types
from collections.abc import Sequence
from typing import cast

from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.introspect import frame_locals
from pytest_gcguard.engine.introspect import module_dict
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

# Bounds of one search: levels of referrers, and seconds.
MAX_DEPTH = 12
TIME_LIMIT = 2.0


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
    time_limit: float = TIME_LIMIT,
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
        time_limit=time_limit,
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
    time_limit: float = TIME_LIMIT,
    frozen: bool = False,
    siblings: Sequence[frozenset[int]] | None = None,
    ignore: frozenset[int] = frozenset(),
    roots_from: types.FrameType | None = None,
) -> list[Chain]:
    """``referrer_chain`` for many targets at once: one heap pass per level for all of them.

    Each target's search is the same as alone (its own shortest chain); only
    the ``gc.get_referrers`` call, which walks the whole heap, is shared.

    ``roots_from``: the caller's frame when the caller is user code (the
    library API's ``explain``): it and the frames it was called from are
    running frames whose locals are roots, while the frames between it and
    this call are ours.  Without it the whole stack is ours (the plugin's
    hooks, called by pytest).
    """
    owners = owners or CodeOwners()
    labeller = labeller or Labeller()
    deadline = time.monotonic() + time_limit
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
        _run(searches, context, max_depth, deadline)
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

    def ids(self) -> list[int]:
        """Our containers that refer to objects under search: never referrers."""
        return [id(self.__dict__), id(self.child_of), id(self.frontier)]

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
        return Chain(root, hops, shared=shared, thread=thread, module_global=module_global, **flags)

    def cut(self, context: _Context, max_depth: int) -> Chain:
        reason = f"chain cut at depth {self.depth}" if self.depth >= max_depth else "chain search timed out"
        return self.chain(context, reason, self.last, complete=False)

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
                # test lives; a chain only they explain is pytest's retention.
                self.held_by_pytest = True
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
            if self.held_by_pytest:
                self.result = self.chain(context, "pytest's own structures", self.frontier[0], held_by_pytest=True)
            else:
                registry = c_registry(self.frontier[0])
                root = f"{NO_REFERRER}: {registry}" if registry else NO_REFERRER
                self.result = self.chain(context, root, self.frontier[0])
            return
        self.last = next_frontier[0]
        self.frontier = next_frontier
        self.depth += 1


def _run(searches: list[_Search], context: _Context, max_depth: int, deadline: float) -> None:
    """Advance every unfinished search one level per ``gc.get_referrers`` call."""
    ours = context.ours
    while time.monotonic() < deadline:
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
        referrers: list[tuple[object, list[object]]] = []
        for referrer in found:
            if id(referrer) in ours:
                continue
            referrers.append((referrer, [r for r in referents(referrer) if id(r) in union]))
        found.clear()
        union.clear()
        del frontier
        for search in active:
            search.advance(context, referrers)
        referrers.clear()


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
