"""Graphviz pictures of findings (``--gc-guard-graph=DIR``): one DOT file per finding.

Works on findings as plain data, so the xdist controller can draw what its
workers found.  ``dot`` (Debian's ``graphviz``) is optional: when it is on the
``PATH``, an SVG is rendered next to each DOT file.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterable
from collections.abc import Sequence
from pathlib import Path

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.reporting.text import plural


# Cycles drawn: the code under test's, and what the collector cannot free
# (test-local and standard-library cycles never fail, and would be noise).
DRAWN_KINDS = (CYCLE, UNCOLLECTABLE)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# Seconds `dot` may take for one picture before it is given up.
DOT_TIMEOUT = 30.0


def quote(text: str) -> str:
    """A DOT double-quoted string (labels hold quotes, backslashes, newlines)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _graph(title: str, caption: str, nodes: Sequence[str], edges: Iterable[tuple[int, int, str, str]]) -> str:
    lines = [
        f"digraph {quote(title)} {{",
        f"  label={quote(caption)};",
        "  labelloc=t;",
        '  node [shape=box, fontname="monospace"];',
        '  edge [fontname="monospace"];',
    ]
    lines.extend(f"  n{i} [label={quote(label)}];" for i, label in enumerate(nodes))
    for tail, head, label, style in edges:
        attributes = f"label={quote(label)}" + (f", style={style}" if style else "")
        lines.append(f"  n{tail} -> n{head} [{attributes}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_label(hop: Hop) -> str:
    return f"{hop.label}\n{hop.site}" if hop.site else hop.label


def cycle_dot(nodeid: str, cycle: Cycle, status: str) -> str:
    """The cycle's members and labelled edges, closed back to the first member."""
    path = cycle.path
    nodes = [_node_label(hop) for hop in path]
    edges = [(i, i + 1, hop.edge, "") for i, hop in enumerate(path[:-1])]
    if path and cycle.traced:
        edges.append((len(path) - 1, 0, path[-1].edge, ""))
    what = "uncollectable objects" if cycle.kind == UNCOLLECTABLE else "reference cycle"
    caption = f"{nodeid}\n{what} ({status}): {plural(cycle.count, 'cycle')}, {plural(cycle.objects, 'object')}"
    if cycle.kept_alive:
        caption += f", +{cycle.kept_alive} kept alive"
    if not cycle.traced:
        caption += "\n(the reference closing the cycle is not visible to gc)"
    return _graph(f"{nodeid} {what}", caption, nodes, edges)


def leak_dot(nodeid: str, leak: Leak, status: str) -> str:
    """The referrer chain from its root down to one leaked object."""
    caption = f"{nodeid}\nleak ({status}): {leak.class_name}, +{leak.per_run} per run {list(leak.counts)}"
    chain = leak.chain
    if chain is None:
        return _graph(f"{nodeid} leak", caption + "\n(no referrer chain found)", [leak.class_name], [])
    nodes = [chain.root] + [_node_label(hop) for hop in chain.hops]
    edges = [(0, 1, "", "dashed")] if chain.hops else []
    edges += [(i + 1, i + 2, hop.edge, "") for i, hop in enumerate(chain.hops[:-1])]
    if not chain.complete:
        caption += "\n(the search stopped before reaching a root)"
    return _graph(f"{nodeid} leak", caption, nodes, edges)


def file_stem(nodeid: str) -> str:
    """A file name for a test: readable, and unique (a hash of the node id)."""
    digest = hashlib.sha1(nodeid.encode()).hexdigest()[:8]
    return f"{_UNSAFE.sub('_', nodeid).strip('_')[:100]}-{digest}"


def graphs(nodeid: str, payload: dict[str, object]) -> list[tuple[str, str]]:
    """(file name, DOT text) for each drawn finding of one test's payload."""
    out = []
    cycles = payload.get("cycles", ())
    leaks = payload.get("leaks", ())
    stem = file_stem(nodeid)
    number = 0
    for data in cycles if isinstance(cycles, list) else ():
        cycle = Cycle.from_dict(data)
        if cycle.kind in DRAWN_KINDS:
            number += 1
            out.append((f"{stem}-{number}-{cycle.kind}.dot", cycle_dot(nodeid, cycle, str(data.get("status")))))
    for data in leaks if isinstance(leaks, list) else ():
        number += 1
        out.append((f"{stem}-{number}-leak.dot", leak_dot(nodeid, Leak.from_dict(data), str(data.get("status")))))
    return out


def write_graphs(directory: Path, nodeid: str, payload: dict[str, object]) -> list[Path]:
    """Write the test's DOT files (and SVGs when ``dot`` is found); the files written."""
    drawn = graphs(nodeid, payload)
    if not drawn:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    dot = shutil.which("dot")
    for name, text in drawn:
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
        if dot is not None:
            svg = path.with_suffix(".svg")
            subprocess.run(
                [dot, "-Tsvg", str(path), "-o", str(svg)],
                check=True,
                capture_output=True,
                timeout=DOT_TIMEOUT,
            )
            written.append(svg)
    return written
