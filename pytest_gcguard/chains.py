"""Referrer chains: what keeps a live object alive, from a root down to the object.

Roots are named plainly: a module global, a class attribute, a local of a
running frame (in which thread), or "no Python referrer" when the search ends
at an object nothing visible refers to (C code, an untracked container).

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

from pytest_gcguard.findings import Chain
from pytest_gcguard.findings import Hop
from pytest_gcguard.labels import Labeller
from pytest_gcguard.labels import object_label
from pytest_gcguard.labels import type_name
from pytest_gcguard.ownership import CodeOwners
from pytest_gcguard.ownership import Origin


NO_REFERRER = "no Python referrer"

# Bounds of one search: levels of referrers, and seconds.
MAX_DEPTH = 12
TIME_LIMIT = 2.0


def _module_dicts() -> dict[int, str]:
    found = {}
    for name, module in list(sys.modules.items()):
        if type(module) is types.ModuleType:
            found[id(module.__dict__)] = name
    return found


def _running_locals(owners: CodeOwners, ignore_frames: set[int]) -> dict[int, tuple[str, str]]:
    """id(value) -> (local name, where) for the locals of every running frame but ours and pytest's."""
    names = {t.ident: t.name for t in threading.enumerate()}
    found: dict[int, tuple[str, str]] = {}
    for ident, top in sys._current_frames().items():
        frame: types.FrameType | None = top
        while frame is not None:
            if id(frame) not in ignore_frames and owners.code_origin(frame.f_code) is not Origin.HARNESS:
                code = frame.f_code
                where = (
                    f"running frame {getattr(code, 'co_qualname', code.co_name)} "
                    f"({code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}) in thread {names.get(ident, ident)}"
                )
                try:
                    local_items = list(frame.f_locals.items())
                except Exception:
                    local_items = []
                for name, value in local_items:
                    found.setdefault(id(value), (name, where))
            frame = frame.f_back
    del top, frame
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
) -> Chain:
    """The shortest chain of references from a root to ``target``.

    ``frozen``: the caller keeps the heap frozen (the plugin does); it is
    unfrozen for the search and frozen again.  ``siblings``: ids of other
    objects of the same kind, to tell how many share the target's container.
    ``ignore``: ids of the caller's own containers, never walked through.
    """
    owners = owners or CodeOwners()
    labeller = labeller or Labeller()
    deadline = time.monotonic() + time_limit
    ours: set[int] = set(ignore)  # our own frames and containers: never a referrer
    frame: types.FrameType | None = sys._getframe()
    while frame is not None:
        ours.add(id(frame))
        frame = frame.f_back
    if frozen:
        gc.unfreeze()
    try:
        return _search(target, owners, labeller, ours, max_depth, deadline, siblings)
    finally:
        if frozen:
            gc.freeze()


def _search(
    target: object,
    owners: CodeOwners,
    labeller: Labeller,
    ours: set[int],
    max_depth: int,
    deadline: float,
    siblings: frozenset[int],
) -> Chain:
    modules = _module_dicts()
    running = _running_locals(owners, ours)

    def chain(root: str, start: object, **flags: bool) -> Chain:
        hops, holder = _hops(start, child_of, labeller)
        shared = 0
        if holder is not None and siblings:
            shared = sum(1 for ref in gc.get_referents(holder) if id(ref) in siblings)
        return Chain(root, hops, shared=shared, **flags)

    # Mapping from each object reached to the object it refers to on the way to the target.
    child_of: dict[int, object] = {}
    seen = {id(target)}
    frontier = [target]
    ours.update({id(child_of), id(seen), id(frontier), id(modules), id(running)})
    depth = 0
    last = target
    held_by_pytest = False
    while frontier and depth < max_depth and time.monotonic() < deadline:
        for obj in frontier:
            local = running.get(id(obj))
            if local is not None:
                name, where = local
                return chain(f"local {name!r} of {where}", obj)
        referrers = gc.get_referrers(*frontier)
        ours.add(id(referrers))
        frontier_ids = {id(o) for o in frontier}
        next_frontier: list[object] = []
        ours.add(id(next_frontier))
        for referrer in referrers:
            rid = id(referrer)
            if rid in seen or rid in ours or _is_call_arguments(referrer, frontier):
                continue
            seen.add(rid)
            if owners.is_harness(referrer) or (rid in modules and owners.module_origin(modules[rid]) is Origin.HARNESS):
                # pytest's own structures (items, fixture definitions, reports,
                # its modules' globals) are not where a leak of the code under
                # test lives; a chain only they explain is pytest's retention.
                held_by_pytest = True
                continue
            child = next((r for r in gc.get_referents(referrer) if id(r) in frontier_ids), None)
            if child is None:
                continue
            child_of[rid] = child
            module = modules.get(rid)
            if module is not None:
                key = labeller.edge_label(referrer, child)
                name = key[2:-2] if key.startswith("['") and key.endswith("']") else key
                return chain(f"module {module}, global {name}", child)
            if issubclass(type(referrer), type):
                start: object = child
                attribute = labeller.edge_label(referrer, child)
                grandchild = child_of.get(id(child))
                if attribute == ".__dict__" and grandchild is not None:
                    # Through the class's namespace: name the attribute, start at its value.
                    attribute = labeller.edge_label(child, grandchild)
                    start = grandchild
                attribute = attribute[2:-2] if attribute.startswith("['") else attribute.lstrip(".")
                return chain(f"class {type_name(referrer)}, attribute {attribute}", start)
            next_frontier.append(referrer)
        referrers.clear()
        if not next_frontier:
            if held_by_pytest:
                return chain("pytest's own structures", frontier[0], held_by_pytest=True)
            return chain(f"{NO_REFERRER} (held by C code or an untracked container)", frontier[0])
        last = next_frontier[0]
        frontier = next_frontier
        depth += 1
    cut = f"chain cut at depth {depth}" if depth >= max_depth else "chain search timed out"
    return chain(cut, last, complete=False)


def _is_call_arguments(referrer: object, frontier: list[object]) -> bool:
    # gc.get_referrers(*frontier) packs the frontier into an argument tuple,
    # which is itself a referrer of every frontier object.
    return (
        type(referrer) is tuple and len(referrer) == len(frontier) and all(a is b for a, b in zip(referrer, frontier))
    )


def _hops(start: object, child_of: dict[int, object], labeller: Labeller) -> tuple[tuple[Hop, ...], object | None]:
    """Labelled hops from ``start`` down to the target, and the target's direct holder."""
    hops = []
    node = start
    holder = None
    while True:
        child = child_of.get(id(node))
        edge = "" if child is None else labeller.edge_label(node, child)
        hops.append(Hop(object_label(node), type_name(type(node)), edge))
        if child is None:
            return tuple(hops), holder
        holder = node
        node = child
