"""Graphviz pictures of findings (``--gc-guard-graph=DIR``): one DOT file per finding.

Works on findings as plain data, so the xdist controller can draw what its
workers found.  ``dot`` (Debian's ``graphviz``) is optional: when it is on the
``PATH``, an SVG is rendered next to each DOT file.

``dot`` is someone else's program, and may be slow, hang, or be a wrapper
script whose own children hang.  The run gives all its ``dot`` calls
together one time budget (``DOT_BUDGET``); each call runs in a session of
its own, and on running out the whole session is killed -- the wrapper's
children too -- and ``dot`` is not run again for the rest of the run.  Its
output goes to files, never pipes: a pipe held open by a surviving
grandchild would keep the caller waiting after the child is gone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import STDLIB
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.reporting.text import SAMPLED_NOTE
from pytest_gcguard.reporting.text import UNTRACED_NOTE
from pytest_gcguard.reporting.text import plural


# Cycles drawn: the code under test's, and what the collector cannot free
# (test-local and standard-library cycles never fail, and would be noise).
DRAWN_KINDS = (CYCLE, STDLIB, UNCOLLECTABLE)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# Seconds all of a run's `dot` calls may take together; past it the running
# call is killed and `dot` is not run again.  A picture of ours takes `dot`
# well under a second.  Not a user option; tests lower it (an inner session's
# conftest.py may set it too: GraphWriter reads it when made).
DOT_BUDGET = 60.0
# What the summary lists of the errors, at most.
ERRORS_SHOWN = 5


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
        caption += f"\n({SAMPLED_NOTE if cycle.sampled else UNTRACED_NOTE})"
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


class GraphWriter:
    """Writes the pictures of a run's findings into one directory: hold one per run.

    ``draw`` never raises for a failed picture (a full disk, a broken or slow
    ``dot``): the error is kept in ``errors`` and the run goes on.
    ``written`` counts every file written, DOT and SVG, including those of a
    finding whose later step failed.
    """

    def __init__(self, directory: Path, budget: float | None = None) -> None:
        self.directory = directory
        self.budget = DOT_BUDGET if budget is None else budget
        self.written = 0
        self.errors: list[str] = []
        self._dot = shutil.which("dot")
        self._spent = 0.0  # seconds of dot so far
        self._stopped = ""  # why dot is not run any more, once it is not (said once)
        self._not_rendered = 0  # SVGs not made since

    def draw(self, nodeid: str, payload: dict[str, object]) -> list[Path]:
        """Write the test's DOT files, and an SVG of each while ``dot`` may run; the files written."""
        written: list[Path] = []
        for name, text in graphs(nodeid, payload):
            path = self.directory / name
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            except OSError as exc:
                self.errors.append(f"{nodeid}: {type(exc).__name__}: {exc}")
                break  # the next finding's file would fail alike
            written.append(path)
            self.written += 1
            if self._dot is None:
                continue
            if self._stopped:
                self._not_rendered += 1
                continue
            svg = self._render(self._dot, nodeid, path)
            if svg is not None:
                written.append(svg)
                self.written += 1
        return written

    def _render(self, dot: str, nodeid: str, path: Path) -> Path | None:
        """``dot -Tsvg`` of one file, within what is left of the budget; the SVG, or None."""
        svg = path.with_suffix(".svg")
        left = self.budget - self._spent
        if left <= 0:
            self._stopped = "out of time"
            self._not_rendered += 1
            return None
        command = [dot, "-Tsvg", str(path), "-o", str(svg)]
        started = time.monotonic()
        # stderr to a file, not a pipe: see the module's docstring.
        with tempfile.TemporaryFile() as stderr:
            try:
                process = _start(command, stderr)
            except OSError as exc:
                self.errors.append(f"{nodeid}: cannot run dot: {type(exc).__name__}: {exc}")
                self._stopped = "it cannot be started"
                return None
            try:
                status: int | None = process.wait(timeout=left)
            except subprocess.TimeoutExpired:
                _kill(process)
                status = None
            except BaseException:
                # Ctrl-C: the terminal's SIGINT never reaches dot's own session.
                _kill(process)
                raise
            finally:
                self._spent += time.monotonic() - started
            stderr.seek(0)
            message = stderr.read().decode(errors="replace").strip()
        if status == 0:
            return svg
        svg.unlink(missing_ok=True)  # half written, if at all
        if status is None:
            self.errors.append(f"{nodeid}: dot was killed when the {self.budget:g} s for all SVGs of the run ran out")
            self._stopped = "out of time"
        else:
            last = message.splitlines()[-1] if message else "no message"
            self.errors.append(f"{nodeid}: dot failed (exit status {status}) on {path.name}: {last}")
        return None

    def summary_lines(self) -> list[str]:
        """The summary's lines: files written, the first errors, and why ``dot`` stopped (once)."""
        if not self.written and not self.errors:
            return []
        lines = [f"{plural(self.written, 'graph file')} written to {self.directory}"]
        lines.extend(f"could not draw {error}" for error in self.errors[:ERRORS_SHOWN])
        if len(self.errors) > ERRORS_SHOWN:
            lines.append(f"could not draw {len(self.errors) - ERRORS_SHOWN} more (not shown)")
        if self._stopped:
            lines.append(
                f"dot not run again ({self._stopped}): "
                f"{plural(self._not_rendered, 'SVG')} not rendered, their DOT files are written"
            )
        return lines


def _start(command: list[str], stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session (a process group) of its own, so that all of it can be killed.

    (Windows ignores ``start_new_session``; there only the child is killed.)
    """
    return subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and everything it started in its session, then reap it."""
    if sys.platform == "win32":
        process.kill()  # only the child: Windows has no process groups to signal
    else:
        # The child leads its own session, so its process group id is its
        # pid; it is not reaped yet (we wait below), so the id is still its.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:  # gone already, or not ours to signal (a set-uid dot): the child at least
            process.kill()
    process.wait()
