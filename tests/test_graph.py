"""The graph algorithms: components, shortest cycles, identity semantics."""

from __future__ import annotations

from pytest_gcguard.engine.graph import ObjectGraph
from pytest_gcguard.engine.graph import is_cycle
from pytest_gcguard.engine.graph import reachable
from pytest_gcguard.engine.graph import shortest_cycle
from pytest_gcguard.engine.graph import strongly_connected_components


def test_components_of_a_small_graph() -> None:
    """Two cycles joined by a one-way edge are two components; a lone vertex is its own."""
    children = [[1], [0, 2], [3], [2], []]
    components = sorted(sorted(c) for c in strongly_connected_components(children))
    assert components == [[0, 1], [2, 3], [4]]


def test_components_come_sinks_first() -> None:
    """Tarjan's order: a component is listed before the components that refer to it."""
    children = [[1], [0, 2], [3], [2]]
    order = [sorted(c) for c in strongly_connected_components(children)]
    assert order.index([2, 3]) < order.index([0, 1])


def test_a_long_chain_needs_no_recursion() -> None:
    """A 100,000-long chain closed into a ring is one component, without RecursionError."""
    n = 100_000
    children = [[i + 1] for i in range(n - 1)] + [[0]]
    components = strongly_connected_components(children)
    assert len(components) == 1
    assert len(components[0]) == n


def test_self_reference_is_a_cycle_and_a_lone_vertex_is_not() -> None:
    """is_cycle tells a self-loop from an object that merely exists."""
    assert is_cycle([0], [[0]])
    assert not is_cycle([1], [[0], []])


def test_shortest_cycle_takes_the_short_way_round() -> None:
    """From 0 there is a 2-cycle (0->1->0) and a 3-cycle; the 2-cycle wins."""
    children = [[2, 1], [0], [3], [0]]
    assert shortest_cycle(0, range(4), children) == [0, 1]


def test_shortest_cycle_stays_inside_the_members() -> None:
    """A shortcut through a vertex outside the component is not taken."""
    children = [[1, 3], [2], [0], [0]]
    assert shortest_cycle(0, [0, 1, 2], children) == [0, 1, 2]


def test_reachable_stops_at_blocked_vertices() -> None:
    """Hangers-on are counted once, and never through another cycle's members."""
    children = [[1], [2], [], [2]]
    blocked = {0}
    assert reachable([0], children, blocked=blocked) == [1, 2]
    assert reachable([3], children, blocked=blocked) == []


class Hostile:
    """Equality and hashing both raise: the graph must key by identity."""

    __slots__ = ("other",)  # no instance dict, so a refers to b directly on every version
    other: Hostile

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no __eq__")

    def __hash__(self) -> int:
        raise RuntimeError("no __hash__")


def test_object_graph_uses_identity_not_equality() -> None:
    """Objects whose __eq__/__hash__ raise still form a graph."""
    a, b = Hostile(), Hostile()
    a.other = b
    b.other = a
    holder = [a, b]
    graph = ObjectGraph(holder)
    components = strongly_connected_components(graph.children)
    assert sorted(sorted(c) for c in components) == [[0, 1]]
    assert graph.parents() == [[1], [0]]
