"""Identity-keyed object graphs: strongly connected components and shortest cycles.

Vertices are plain ints indexing into a list of objects; edges go from a
referrer (the *tail*) to the object it refers to (the *head*), as
``gc.get_referents`` reports them.  Nothing here compares user objects with
``==`` or hashes them: user objects may raise there (refcycle does the same).
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable
from collections.abc import Sequence


class ObjectGraph:
    """The references among a fixed set of objects, keyed by ``id``."""

    def __init__(self, objects: Sequence[object]) -> None:
        self.objects = objects
        index = {id(obj): i for i, obj in enumerate(objects)}
        get = index.get
        children: list[list[int]] = []
        for obj in objects:
            kids = [j for j in map(get, map(id, gc.get_referents(obj))) if j is not None]
            if len(kids) > 1:
                kids = list(dict.fromkeys(kids))  # one edge per referent, in order
            children.append(kids)
        del index, get
        self.children = children

    def __len__(self) -> int:
        return len(self.objects)

    def parents(self) -> list[list[int]]:
        """Reverse adjacency: for each vertex, the vertices that refer to it."""
        result: list[list[int]] = [[] for _ in self.children]
        for tail, kids in enumerate(self.children):
            for head in kids:
                result[head].append(tail)
        return result


def strongly_connected_components(children: Sequence[Sequence[int]]) -> list[list[int]]:
    """Tarjan's algorithm, iterative so that a 100,000-long chain needs no recursion.

    Components come out sinks first (reverse topological order).  (Hot on
    garbage-heavy suites: per-vertex state lives in flat lists.)
    """
    n = len(children)
    index = [-1] * n
    low = [0] * n
    position = [0] * n  # next child to visit
    on_stack = [False] * n
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root] != -1:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        work = [root]
        while work:
            vertex = work[-1]
            kids = children[vertex]
            at = position[vertex]
            if at < len(kids):
                position[vertex] = at + 1
                kid = kids[at]
                if index[kid] == -1:
                    index[kid] = low[kid] = counter
                    counter += 1
                    stack.append(kid)
                    on_stack[kid] = True
                    work.append(kid)
                elif on_stack[kid] and index[kid] < low[vertex]:
                    low[vertex] = index[kid]
                continue
            work.pop()
            lowest = low[vertex]
            if work and lowest < low[work[-1]]:
                low[work[-1]] = lowest
            if lowest == index[vertex]:
                if stack[-1] == vertex:  # a single vertex: the common case
                    stack.pop()
                    on_stack[vertex] = False
                    components.append([vertex])
                    continue
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == vertex:
                        break
                components.append(component)
    return components


def is_cycle(component: Sequence[int], children: Sequence[Sequence[int]]) -> bool:
    """A component is a reference cycle if it has two members or a self-reference."""
    if len(component) > 1:
        return True
    only = component[0]
    return only in children[only]


def shortest_cycle(start: int, members: Iterable[int], children: Sequence[Sequence[int]]) -> list[int]:
    """The shortest cycle through ``start`` that stays inside ``members``.

    Returns the vertices in order; the last one refers back to ``start``.
    Raises ``ValueError`` if there is none.
    """
    allowed = set(members)
    # Mapping from each vertex to the vertex it was first reached from.
    came_from: dict[int, int] = {}
    queue = deque([start])
    while queue:
        vertex = queue.popleft()
        for kid in children[vertex]:
            if kid == start:
                # Backtrack to construct the vertices of the path.
                path = [vertex]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                path.reverse()
                return path
            if kid in allowed and kid not in came_from:
                came_from[kid] = vertex
                queue.append(kid)
    raise ValueError("No cycle found.")


def reachable(starts: Iterable[int], children: Sequence[Sequence[int]], *, blocked: set[int]) -> list[int]:
    """Vertices reachable from ``starts``, not entering ``blocked``; adds them to it."""
    found: list[int] = []
    queue = deque(starts)
    while queue:
        vertex = queue.popleft()
        for kid in children[vertex]:
            if kid not in blocked:
                blocked.add(kid)
                found.append(kid)
                queue.append(kid)
    return found
