"""Inline SVG pictures of findings for the HTML report, laid out here (no Graphviz).

A cycle is a ring of nodes, each reference an arrow labelled with its edge;
a long ring becomes a column with the closing arrow down its left side.  A
leak's chain, and a cycle gc cannot see closed (untraced, or cut short by
sampling), is a column from the top down.  Every text is escaped; the full
label and type of a node are in its ``<title>`` (a tooltip), the box shows
them truncated.  The arrowhead is the page's shared marker ``ARROW``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from pytest_gcguard.engine.findings import Hop


ARROW = "gcg-arrow"  # the id of the page's arrowhead <marker> (html.py defines it once)
RING_MAX = 12  # nodes drawn as a ring; a longer cycle is a column with a back arrow
COLUMN_MAX = 14  # nodes drawn in a column before the middle is elided
_CHAR = 6.7  # width of a character of the 11px monospace font, about
_LABEL_CHARS = 32
_ROOT_CHARS = 64  # a leak's root says where: "class lib.Registry, attribute _store"
_EDGE_CHARS = 26
_NODE_H = 36
_STEP = 70  # vertical distance between nodes of a column
_PAD = 12


@dataclass(frozen=True)
class Node:
    label: str
    type_token: str
    x: float = 0.0
    y: float = 0.0
    style: str = "obj"  # obj, root (a leak's root), more (elided nodes)

    @property
    def shown(self) -> str:
        return _cut(self.label, _LABEL_CHARS if self.style == "obj" else _ROOT_CHARS)

    @property
    def width(self) -> float:
        text = max(len(self.shown), len(_cut_left(self.type_token, _LABEL_CHARS)))
        return max(64.0, text * _CHAR + 18)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _cut_left(text: str, limit: int) -> str:
    """A type's end says most (``\u2026test_x.TestA.Schema``): cut from the left."""
    return text if len(text) <= limit else "\u2026" + text[len(text) - limit + 1 :]


def _node(node: Node) -> str:
    x, y, w = node.x - node.width / 2, node.y - _NODE_H / 2, node.width
    title = escape(f"{node.label}\n{node.type_token}" if node.type_token else node.label)
    kind = escape(_cut_left(node.type_token, _LABEL_CHARS))
    second = f'<text x="{node.x:.0f}" y="{node.y + 12:.0f}" class="t">{kind}</text>' if node.type_token else ""
    first_y = node.y - 2 if node.type_token else node.y + 4
    return (
        f'<g class="node {node.style}"><title>{title}</title>'
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{_NODE_H}" rx="6"/>'
        f'<text x="{node.x:.0f}" y="{first_y:.0f}">{escape(node.shown)}</text>{second}</g>'
    )


def _border(node: Node, dx: float, dy: float) -> float:
    """How far from the node's centre, along the unit direction (dx, dy), its box ends (plus a gap)."""
    limits = [abs(node.width / 2 / dx) if dx else math.inf, abs(_NODE_H / 2 / dy) if dy else math.inf]
    return min(limits) + 4


def _edge(a: Node, b: Node, label: str, *, bow: float) -> tuple[str, str]:
    """An arrow from ``a`` to ``b``, bowed to the left of travel by ``bow`` px, and its label by the middle."""
    length = math.hypot(b.x - a.x, b.y - a.y) or 1.0
    dx, dy = (b.x - a.x) / length, (b.y - a.y) / length
    sx, sy = a.x + dx * _border(a, dx, dy), a.y + dy * _border(a, dx, dy)
    ex, ey = b.x - dx * _border(b, dx, dy), b.y - dy * _border(b, dx, dy)
    # The control point sits off the chord's middle, on the side (dy, -dx).
    cx, cy = (sx + ex) / 2 + dy * bow, (sy + ey) / 2 - dx * bow
    # The label sits just outside the curve's middle, anchored away from it.
    mx, my = 0.25 * sx + 0.5 * cx + 0.25 * ex + dy * 8, 0.25 * sy + 0.5 * cy + 0.25 * ey - dx * 8
    anchor = "start" if dy > 0.3 else "end" if dy < -0.3 else "middle"
    arrow = (
        f'<path class="edge" d="M{sx:.0f},{sy:.0f} Q{cx:.0f},{cy:.0f} {ex:.0f},{ey:.0f}" marker-end="url(#{ARROW})"/>'
    )
    return arrow, _edge_label(mx, my + 4 - dx * 6, label, anchor)


def _edge_label(x: float, y: float, label: str, anchor: str = "middle") -> str:
    if not label:
        return ""
    title = f"<title>{escape(label)}</title>" if len(label) > _EDGE_CHARS else ""
    text = escape(_cut(label, _EDGE_CHARS))
    return f'<text class="e" x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}">{title}{text}</text>'


def _self_loop(node: Node, label: str) -> str:
    x, y = node.x + node.width / 2, node.y
    return (
        f'<path class="edge" d="M{x:.0f},{y - 8:.0f} C{x + 70:.0f},{y - 60:.0f} {x + 70:.0f},{y + 60:.0f} '
        f'{x + 4:.0f},{y + 8:.0f}" marker-end="url(#{ARROW})"/>' + _edge_label(x + 58, y + 4, label, "start")
    )


def _svg(parts: list[str], nodes: Sequence[Node], kind: str, *, extra_right: float = 0, extra_left: float = 0) -> str:
    left = min(n.x - n.width / 2 for n in nodes) - _PAD - extra_left
    right = max(n.x + n.width / 2 for n in nodes) + _PAD + extra_right
    top = min(n.y for n in nodes) - _NODE_H / 2 - _PAD - 30
    bottom = max(n.y for n in nodes) + _NODE_H / 2 + _PAD + 30
    width, height = right - left, bottom - top
    return (
        f'<svg class="pic {kind}" role="img" '
        f'viewBox="{left:.0f} {top:.0f} {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}">'
        + "".join(parts)
        + "</svg>"
    )


def _on_ellipse(nodes: Sequence[Node], rx: float, ry: float) -> list[Node]:
    """The nodes on an ellipse, clockwise from the top (two: side by side)."""
    n = len(nodes)
    placed = []
    for i, node in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * i / n if n > 2 else math.pi * (1 + i)
        placed.append(Node(node.label, node.type_token, rx * math.cos(angle), ry * math.sin(angle)))
    return placed


def _crowded(nodes: Sequence[Node]) -> bool:
    """Whether two neighbours are too close for an arrow and its label between them, across or down."""
    for a, b in zip(nodes, [*nodes[1:], nodes[0]]):
        across = abs(a.x - b.x) - (a.width + b.width) / 2
        down = abs(a.y - b.y) - _NODE_H
        if across < 48 and down < 40:
            return True
    return False


def ring(path: Sequence[Hop]) -> str:
    """A closed cycle: the hops on an ellipse, clockwise from the top, each edge to the next (the last to the first)."""
    if len(path) > RING_MAX:
        return column([Node(h.label, h.type_token) for h in path], [h.edge for h in path[:-1]], back=path[-1].edge)
    n = len(path)
    nodes = [Node(h.label, h.type_token) for h in path]
    widest = max(node.width for node in nodes)
    rx = widest * 0.6 + 70 if n > 1 else 0.0
    ry = 70.0 if n > 2 else 0.0
    placed = _on_ellipse(nodes, rx, ry)
    while n > 2 and _crowded(placed):
        rx, ry = rx * 1.1, ry * 1.1
        placed = _on_ellipse(nodes, rx, ry)
    if n == 1:
        parts = [_self_loop(placed[0], path[0].edge), _node(placed[0])]
        return _svg(parts, placed, "ring", extra_right=80 + _CHAR * min(len(path[0].edge), _EDGE_CHARS))
    bow = 40.0 if n == 2 else 14.0
    edges = [_edge(placed[i], placed[(i + 1) % n], hop.edge, bow=bow) for i, hop in enumerate(path)]
    # Labels last: over a box rather than under it, on a white halo.
    parts = [arrow for arrow, _ in edges] + [_node(node) for node in placed] + [label for _, label in edges]
    return _svg(parts, placed, "ring")


def _elide(nodes: list[Node], edges: list[str]) -> tuple[list[Node], list[str]]:
    """At most COLUMN_MAX nodes: the first and the last ones, and a box saying how many are left out."""
    if len(nodes) <= COLUMN_MAX:
        return nodes, edges
    head, tail = COLUMN_MAX // 2, COLUMN_MAX // 2 - 1
    more = Node(f"\u2026 {len(nodes) - head - tail} more", "", style="more")
    return [*nodes[:head], more, *nodes[-tail:]], [*edges[:head], "", *edges[len(edges) - tail + 1 :]]


def column(nodes: list[Node], edges: list[str], *, back: str | None = None, open_note: str = "") -> str:
    """Nodes top down, ``edges[i]`` labelling the arrow from node i to node i+1.

    ``back``: the label of an arrow from the last node back to the first, down
    the left side (a ring too long for a ring); ``open_note``: a dashed arrow
    there instead, for a cycle whose closing reference is not known.
    """
    nodes, edges = _elide(nodes, edges)
    placed = [Node(n.label, n.type_token, 0.0, i * _STEP, n.style) for i, n in enumerate(nodes)]
    parts = []
    for i in range(len(placed) - 1):
        a, b = placed[i], placed[i + 1]
        y1, y2 = a.y + _NODE_H / 2 + 2, b.y - _NODE_H / 2 - 4
        parts.append(f'<path class="edge" d="M0,{y1:.0f} L0,{y2:.0f}" marker-end="url(#{ARROW})"/>')
        parts.append(_edge_label(8, (y1 + y2) / 2 + 4, edges[i], "start"))
    widest = max(n.width for n in placed)
    left = 0.0
    if back is not None or open_note:
        left = widest / 2 + 40
        first, last = placed[0], placed[-1]
        cls = "edge dashed" if open_note else "edge"
        parts.append(
            f'<path class="{cls}" d="M{-last.width / 2 - 4:.0f},{last.y:.0f} H{-left:.0f} V{first.y:.0f} '
            f'H{-first.width / 2 - 6:.0f}" marker-end="url(#{ARROW})"/>'
        )
        middle = (first.y + last.y) / 2
        parts.append(_edge_label(-left - 6, middle, open_note or back or "", "end"))
    parts += [_node(node) for node in placed]
    label_room = _CHAR * _EDGE_CHARS + 10
    return _svg(parts, placed, "column", extra_right=label_room, extra_left=left + (label_room if left else 0))


def open_chain(path: Sequence[Hop], note: str) -> str:
    """A cycle seen as an open chain (untraced, or sampled): a column, a dashed arrow back saying why."""
    return column([Node(h.label, h.type_token) for h in path], [h.edge for h in path[:-1]], open_note=note)


def chain(root: str, hops: Sequence[Hop], complete: bool) -> str:
    """A leak's chain: the root at the top, then each hop down to the leaked object."""
    # A search that stopped short has no root: its "root" says why ("chain cut at depth 12").
    top = Node(root, "", style="root") if complete else Node(f"\u2026 {root}", "", style="more")
    nodes = [top, *(Node(h.label, h.type_token) for h in hops)]
    return column(nodes, ["", *(h.edge for h in hops[:-1])])
