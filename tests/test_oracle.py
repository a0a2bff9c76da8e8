"""A property-based oracle for the engine (issue 7): random object graphs, checked against the truth.

Hypothesis draws a graph -- instances with a ``__dict__``, slotted instances,
lists, dicts (str and int keys, and nodes as keys), tuples, closures (cells),
sets of instances; random edges, so random cycles, hangers-on below them, and
some nodes kept alive that the garbage refers to.  Each example builds it
inside a collection window, drops it, and explains the window's garbage in
process (no pytest session per example).  Then:

* every printed cycle is real: each hop's (object, label, next object) is a
  reference ``gc.get_referents`` reports, the label reads back to the next
  object (attribute, slot, key, index, cell), the path closes, and the
  renderer prints exactly the verified labels;
* every strongly connected component of the generated garbage is reported,
  with exactly its nodes (plus their instance dicts, closure tuples and cells);
* nothing else of ours is reported: no node kept alive, no garbage node that
  is not in a cycle, in any component.

Components without any generated object (Hypothesis's own garbage) are left
alone, except that their printed paths must come from the engine too.
"""

from __future__ import annotations

import gc
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import event
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from pytest_gcguard.engine.analysis import MAX_PATH_HOPS
from pytest_gcguard.engine.analysis import explain_garbage
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.labels import NameCache
from pytest_gcguard.engine.labels import object_label
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.window import GarbageWindow
from pytest_gcguard.engine.window import GcState
from pytest_gcguard.reporting.text import format_path


KINDS = ("instance", "slotted", "list", "dict", "tuple", "closure", "set")
HASHABLE = ("instance", "slotted", "closure")  # by identity: set members and dict keys
SLOTS = {"instance": 4, "slotted": 3, "closure": 3}  # out-edges a node of that kind can hold; others 4
MAX_NODES = 6  # at most 3 objects per node on a path (closure: function, tuple, cell): never cut by "…"


class Inst:
    def __init__(self, name: int) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Inst({self.name})"

    def link(self, slot: int, target: object) -> None:
        if slot == 0:
            self.a0 = target
        elif slot == 1:
            self.a1 = target
        elif slot == 2:
            self.a2 = target
        else:
            self.a3 = target


class Slotted:
    __slots__ = ("name", "s0", "s1", "s2")

    def __init__(self, name: int) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Slotted({self.name})"


def closure_factory() -> types.FunctionType:
    c0: object = None
    c1: object = None
    c2: object = None

    def closure() -> tuple[object, object, object]:
        return c0, c1, c2

    return closure  # type: ignore[return-value]


@dataclass(frozen=True)
class Spec:
    kinds: tuple[str, ...]
    edges: tuple[tuple[int, int, str], ...]  # (source, target, how: a slot number, or for dicts str/int/key)
    kept: frozenset[int]  # roots the test keeps alive (with all they reach)

    def successors(self, among: set[int]) -> dict[int, set[int]]:
        result: dict[int, set[int]] = {i: set() for i in among}
        for src, dst, _ in self.edges:
            if src in among and dst in among:
                result[src].add(dst)
        return result


@st.composite
def specs(draw: Any) -> Spec:
    # Nodes 0..n-1 make rings and random edges; then up to two hangers-on
    # (a DAG below them), then up to two nodes the test keeps alive, which
    # the others may refer to.
    n = draw(st.integers(1, MAX_NODES))
    hangers = draw(st.integers(0, 2))
    extra = draw(st.integers(0, 2))
    total = n + hangers + extra
    kinds = tuple(draw(st.lists(st.sampled_from(KINDS), min_size=total, max_size=total)))
    node = st.integers(0, n - 1)
    wanted: list[tuple[int, int]] = []
    for ring in draw(st.lists(st.lists(node, min_size=1, max_size=n, unique=True), min_size=1, max_size=2)):
        wanted.extend(zip(ring, ring[1:] + ring[:1]))
    wanted.extend(draw(st.lists(st.tuples(node, st.integers(0, total - 1)), max_size=2 * n)))
    for hanger in range(n, n + hangers):
        wanted.append((draw(node), hanger))
        if hanger + 1 < total:
            below = draw(st.sets(st.integers(hanger + 1, total - 1), max_size=2))
            wanted.extend((hanger, other) for other in sorted(below))
    # Sometimes one of the first n is kept too, with all it reaches (a cycle kept alive is no garbage).
    kept = frozenset(range(n + hangers, total))
    if draw(st.sampled_from([False, False, True])):
        kept |= {draw(node)}
    edges: list[tuple[int, int, str]] = []
    for src, dst in wanted:
        kind = kinds[src]
        slot = sum(1 for edge in edges if edge[0] == src)
        if slot >= SLOTS.get(kind, 4):
            continue
        if kind == "set" and kinds[dst] not in HASHABLE:
            continue
        if kind == "tuple" and kinds[dst] == "tuple" and dst >= src:
            continue  # tuples are built in order, from what exists: no cycle of tuples only
        how = str(slot)
        if kind == "dict":
            how = draw(st.sampled_from(["str", "int", "key"] if kinds[dst] in HASHABLE else ["str", "int"]))
        edges.append((src, dst, how))
    return Spec(kinds, tuple(edges), kept)


def _reach(successors: dict[int, set[int]], start: set[int]) -> set[int]:
    seen: set[int] = set()
    stack = list(start)
    while stack:
        for nxt in successors[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


# Kinds the collector always tracks.  A tuple or a dict that holds nothing
# tracked may be untracked (an empty tuple is even a shared singleton): below
# a cycle, it is freed with it but never saved, so it is not counted on.
TRACKED = ("instance", "slotted", "list", "closure", "set")


@dataclass
class Truth:
    """What the spec says about the garbage, by node index."""

    alive: set[int]  # kept by the test, with everything they reach
    components: set[frozenset[int]]  # strongly connected components of the garbage that are cycles
    saved: set[int]  # what the window must save: cycle members, and tracked kinds below a cycle


def truth(spec: Spec) -> Truth:
    everything = set(range(len(spec.kinds)))
    alive = set(spec.kept) | _reach(spec.successors(everything), set(spec.kept))
    garbage = everything - alive
    successors = spec.successors(garbage)
    reach = {i: _reach(successors, {i}) for i in garbage}
    components = set()
    for i in garbage:
        if i in reach[i]:  # on a cycle (a self-reference too)
            components.add(frozenset(j for j in reach[i] if i in reach[j]) | {i})
    cyclic = set().union(*components) if components else set()
    below = {i for i in _reach(successors, cyclic) - cyclic if spec.kinds[i] in TRACKED}
    return Truth(alive, components, cyclic | below)


def make(kind: str, name: int) -> Any:
    if kind == "instance":
        return Inst(name)
    if kind == "slotted":
        return Slotted(name)
    if kind == "closure":
        return closure_factory()
    return {"list": list, "dict": dict, "set": set, "tuple": tuple}[kind]()


def build(spec: Spec) -> tuple[list[object], dict[int, int], dict[int, int]]:
    """The objects of the spec; returns the kept ones, and the ids of the nodes to be saved and of those kept.

    Called inside the window; everything else it made is garbage when it returns.
    """
    facts = truth(spec)
    objects = [make(kind, i) for i, kind in enumerate(spec.kinds)]
    for i, kind in enumerate(spec.kinds):
        if kind == "tuple":  # made from what it holds, all there already (earlier tuples only)
            objects[i] = tuple(objects[dst] for src, dst, _ in spec.edges if src == i)
    for src, dst, how in spec.edges:
        tail, head, kind = objects[src], objects[dst], spec.kinds[src]
        if kind == "instance":
            tail.link(int(how), head)
        elif kind == "slotted":
            setattr(tail, f"s{how}", head)
        elif kind == "list":
            tail.append(head)
        elif kind == "dict":
            if how == "key":
                tail[head] = src
            else:
                tail[f"k{len(tail)}" if how == "str" else len(tail)] = head
        elif kind == "closure":
            tail.__closure__[int(how)].cell_contents = head
        elif kind == "set":
            tail.add(head)
    saved = {id(objects[i]): i for i in facts.saved}
    alive = {id(objects[i]): i for i in facts.alive if spec.kinds[i] != "tuple"}
    return [objects[i] for i in sorted(facts.alive)], saved, alive


_DICT_KEY = re.compile(r"\['([^']*)'\]")


def verify_edge(tail: object, label: str, head: object) -> None:
    """The reference is real, and its label reads back to ``head``."""
    assert any(r is head for r in gc.get_referents(tail)), f"{tail!r} does not refer to {head!r}"
    if label == "key":
        assert isinstance(tail, dict) and any(key is head for key in tail), label
    elif label == "element":
        assert isinstance(tail, (set, frozenset)) and any(item is head for item in tail), label
    elif label.startswith("["):
        assert label.endswith("]"), label
        if isinstance(tail, dict):
            assert any(f"[{key!r}]" == label and value is head for key, value in tail.items()), label
        else:
            assert isinstance(tail, (list, tuple)) and tail[int(label[1:-1])] is head, label
    else:
        assert label.startswith("."), f"unlabelled edge {label!r} from {tail!r}"
        assert getattr(tail, label[1:]) is head, label


def expected_path(triples: Sequence[tuple[object, str, object]]) -> str:
    """The printed path, from the verified triples.

    An instance's ``.__dict__`` hop and its dict's ``['name']`` hop print as ``.name``.
    """
    hops = [(object_label(tail), label, type(head) is dict) for tail, label, head in triples]
    i = 0
    while i < len(hops) and len(hops) > 1:
        match = _DICT_KEY.fullmatch(hops[(i + 1) % len(hops)][1])
        name, label, to_dict = hops[i]
        if label == ".__dict__" and to_dict and match and match.group(1).isidentifier():
            hops[i] = (name, f".{match.group(1)}", False)
            del hops[(i + 1) % len(hops)]
            i = 0
            continue
        i += 1
    return " ".join(f"{name} --{label}-->" for name, label, _ in hops) + f" {hops[0][0]}"


def helpers_of(nodes: list[object]) -> set[int]:
    """Objects that are part of a node: its instance dict, a closure's tuple and cells.

    (On 3.11+ reading ``__dict__`` may make one; it is then no member of anything.)
    """
    result = set()
    for node in nodes:
        if type(node) is Inst:
            result.add(id(node.__dict__))
        elif type(node) is types.FunctionType and node.__closure__ is not None:
            result.add(id(node.__closure__))
            result.update(id(cell) for cell in node.__closure__)
    return result


@dataclass
class Seen:
    kind: str
    members: list[object]
    triples: list[tuple[object, str, object]]
    cycle: Cycle | None


def check(spec: Spec, state: GcState, owners: CodeOwners, names: NameCache) -> None:
    facts = truth(spec)
    # What the examples cover (Hypothesis events: a failing run shows them with the statistics).
    cyclic = set().union(*facts.components) if facts.components else set()
    event(f"cyclic components: {len(facts.components)}")
    event(f"hangers-on below a cycle: {bool(facts.saved - cyclic)}")
    event(f"garbage refers to a kept node: {any(s in cyclic and d in facts.alive for s, d, _ in spec.edges)}")
    for kind in sorted({spec.kinds[i] for i in cyclic}):
        event(f"in a cycle: {kind}")
    window = GarbageWindow(state)
    window.open()
    try:
        kept, saved_ids, alive_ids = build(spec)
    finally:
        result = window.close()
    seen: list[Seen] = []
    try:
        cycles = explain_garbage(
            result.garbage,
            owners,
            Labeller([__name__], names),
            observe=lambda kind, members, triples, cycle: seen.append(Seen(kind, list(members), list(triples), cycle)),
        )
        assert not result.heap_was_unfrozen and not result.unsaved
        # Every printed path, ours or Hypothesis's, is a real cycle labelled as printed.
        # (First: helpers_of below may give an instance a __dict__, which changes its referents.)
        for entry in seen:
            if entry.cycle is None or not entry.triples:
                continue
            for position, (tail, label, head) in enumerate(entry.triples):
                verify_edge(tail, label, head)
                assert head is entry.triples[(position + 1) % len(entry.triples)][0], "the path does not close"
            assert all(any(m is t for m in entry.members) for t, _, _ in entry.triples)
            assert len(entry.triples) <= MAX_PATH_HOPS
            assert format_path(entry.cycle.path) == expected_path(entry.triples)
        nodes = [obj for obj in result.garbage if id(obj) in saved_ids]
        assert sorted(saved_ids[id(obj)] for obj in nodes) == sorted(facts.saved), "cyclic garbage not saved"
        ours = set(saved_ids) | helpers_of(nodes)
        found = set()
        for entry in seen:
            mine = [m for m in entry.members if id(m) in ours or id(m) in alive_ids]
            if not mine:
                continue  # not ours: Hypothesis's or the interpreter's garbage
            assert len(mine) == len(entry.members), f"a component mixes our garbage with other objects: {entry}"
            assert not any(id(m) in alive_ids for m in mine), "an object kept alive was reported"
            assert entry.kind == CYCLE and (entry.cycle is None or entry.cycle.traced), entry
            found.add(frozenset(saved_ids[id(m)] for m in mine if id(m) in saved_ids))
        assert found == facts.components, f"components: found {found}, expected {facts.components}"
        printed = {entry.cycle.path for entry in seen if entry.cycle is not None}
        assert all(cycle.path in printed for cycle in cycles)
        del kept
    finally:
        seen.clear()
        result.garbage.clear()


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(spec=specs())
def _check_examples(state: GcState, owners: CodeOwners, names: NameCache, spec: Spec) -> None:
    check(spec, state, owners, names)


def test_the_engine_reports_every_cycle_of_random_graphs_and_only_real_ones() -> None:
    """200 random graphs (fixed seed): every printed edge verified, every cyclic component found, nothing else."""
    # One frozen heap for all examples: each window's first collection then
    # walks what the example made, not the whole heap of this pytest run.
    state = GcState()
    try:
        _check_examples(state, CodeOwners(), NameCache())
    finally:
        state.restore()
