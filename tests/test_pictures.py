"""--gc-guard-graph=DIR: a Graphviz DOT file per finding, and an SVG when `dot` is installed (and in time)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.reporting.graphs import GraphWriter
from tests.inner import NODE_LIB


SUITE = """
import lib

REGISTRY = []


def test_ring():
    lib.ring()


def test_leak():
    REGISTRY.append(lib.Node("kept"))


def test_clean():
    pass
"""

EDGE = re.compile(r'^  n(\d+) -> n(\d+) \[label="((?:[^"\\]|\\.)*)"(?:, style=\w+)?\];$')
NODE = re.compile(r'^  n(\d+) \[label="((?:[^"\\]|\\.)*)"\];$')


def parse_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Nodes (id -> label) and edges (tail label, edge label, head label) of our DOT output.

    Strict: any line that is neither a node, an edge nor one of the fixed
    header lines fails, so the writer cannot drift into something else.
    """
    lines = text.splitlines()
    assert lines[0].startswith('digraph "') and lines[0].endswith('" {'), lines[0]
    assert lines[-1] == "}"
    nodes: dict[str, str] = {}
    raw_edges = []
    for line in lines[1:-1]:
        node, edge = NODE.match(line), EDGE.match(line)
        if node:
            nodes[node.group(1)] = node.group(2)
        elif edge:
            raw_edges.append(edge.groups())
        else:
            assert line.startswith(("  label=", "  labelloc=", "  node [", "  edge [")), line
    return nodes, [(nodes[t], label, nodes[h]) for t, h, label in raw_edges]


@pytest.fixture
def drawn(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> tuple[pytest.RunResult, Path]:
    pytester.makepyfile(lib=NODE_LIB, test_pictures=SUITE)
    result = guarded("--gc-guard-graph=pictures")
    return result, pytester.path / "pictures"


def test_a_cycle_and_a_leak_get_a_dot_file_with_their_edge_labels(drawn: tuple[pytest.RunResult, Path]) -> None:
    result, directory = drawn
    result.assert_outcomes(passed=3, errors=2)
    dots = sorted(p.name for p in directory.glob("*.dot"))
    assert len(dots) == 2, dots
    (ring,) = directory.glob("test_pictures.py_test_ring-*-1-cycle.dot")
    (leak,) = directory.glob("test_pictures.py_test_leak-*-1-leak.dot")
    nodes, edges = parse_dot(ring.read_text())
    assert sorted(nodes.values()) == ["Node('a')", "Node('b')"]
    assert sorted(edges) == [("Node('a')", ".other", "Node('b')"), ("Node('b')", ".other", "Node('a')")]
    nodes, edges = parse_dot(leak.read_text())
    assert edges == [
        ("module test_pictures, global REGISTRY", "", "list (len=4)"),
        ("list (len=4)", "[1]", "Node('kept')"),
    ]
    result.stdout.fnmatch_lines([f"{len(list(directory.iterdir()))} graph files written to {directory}"])


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (Debian: graphviz)")
def test_dot_parses_our_files_and_an_svg_is_written_next_to_each(drawn: tuple[pytest.RunResult, Path]) -> None:
    _, directory = drawn
    dots = sorted(directory.glob("*.dot"))
    assert len(dots) == 2
    for dot in dots:
        svg = dot.with_suffix(".svg")
        assert "<svg" in svg.read_text()
        assert ".other" in svg.read_text() or "[1]" in svg.read_text()
        # And dot itself accepts the file (it would have failed the run otherwise, but say so).
        subprocess.run(["dot", "-Tcanon", str(dot)], check=True, capture_output=True)


def test_labels_with_quotes_and_backslashes_are_escaped(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(
        odd="""
        class Odd:
            def __init__(self):
                self.me = self

            def __repr__(self):
                return 'Odd("a\\\\b")\\nnext line'
        """,
        test_quotes="""
        from odd import Odd


        def test_odd():
            Odd()
        """,
    )
    guarded("--gc-guard-graph=pictures").assert_outcomes(passed=1, errors=1)
    (dot,) = (pytester.path / "pictures").glob("*.dot")
    nodes, edges = parse_dot(dot.read_text())
    # The repr  Odd("a\b") + newline + next line  (put on one line by the labeller) as a DOT
    # string: quotes and backslash escaped; the caption's line break is written \n.
    assert list(nodes.values()) == ['Odd(\\"a\\\\b\\") next line']
    assert '  label="test_quotes.py::test_odd\\nreference cycle (failed)' in dot.read_text()
    assert edges and edges[0][1] == ".me"
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg", str(dot)], check=True, capture_output=True)


def test_a_graph_path_that_is_a_file_is_a_usage_error(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    (pytester.path / "taken").write_text("")
    result = inprocess("--gc-guard", "--gc-guard-graph=taken")  # the error comes at configure
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--gc-guard-graph: * is not a directory*"])


# ---- a slow, hanging or failing `dot` (GraphWriter; fake `dot` scripts on the PATH)

needs_posix_shell = pytest.mark.skipif(sys.platform == "win32", reason="the fake dot programs are sh scripts")


def cycle_payload(findings: int) -> dict[str, object]:
    """A test's payload with ``findings`` failing two-object cycles, as plain data."""
    path = (Hop("Node('a')", "lib.Node", ".other"), Hop("Node('b')", "lib.Node", ".other"))
    cycle = Cycle(CYCLE, path, count=1, objects=2, kept_alive=0)
    return {"cycles": [{**cycle.to_dict(), "status": "failed"} for _ in range(findings)], "leaks": []}


@pytest.fixture
def fake_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Put a `dot` running the given sh body first on the PATH; each call appends a line to the returned log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "dot-calls.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def install(body: str, name: str = "dot") -> Path:
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n{body}\n')
        script.chmod(0o755)
        return log

    return install


def calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def dead(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie nobody reaped yet has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@needs_posix_shell
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to see that a process ended")
def test_a_hanging_dot_wrapper_is_killed_with_its_child_and_not_run_again(
    tmp_path: Path, fake_dot: Callable[..., Path]
) -> None:
    """A wrapper script whose real `dot` hangs: killed with its child when the run's budget runs out.

    Before: each finding waited 30 s for `dot`, then on the pipes the
    orphaned child still held; and the summary counted no file at all.
    """
    pid_file = tmp_path / "child.pid"
    fake_dot(f'echo $$ > "{pid_file}"\nexec sleep 300', name="real-dot")
    log = fake_dot(f'"{tmp_path / "bin" / "real-dot"}" "$@"')
    directory = tmp_path / "pictures"
    writer = GraphWriter(directory, budget=1.0)
    for name in ("test_a", "test_b", "test_c"):
        assert [p.suffix for p in writer.draw(f"test_x.py::{name}", cycle_payload(1))] == [".dot"]
    assert calls(log) == 2  # the wrapper and its real dot, once: not for test_b nor test_c
    assert sorted(p.suffix for p in directory.iterdir()) == [".dot"] * 3
    child = int(pid_file.read_text())
    assert _wait_until(lambda: dead(child)), f"dot's child {child} outlived the kill"
    assert writer.written == 3
    assert writer.summary_lines() == [
        f"3 graph files written to {directory}",
        "could not draw test_x.py::test_a: dot was killed when the 1 s for all SVGs of the run ran out",
        "dot not run again (out of time): 2 SVGs not rendered, their DOT files are written",
    ]


def _wait_until(condition: Callable[[], bool]) -> bool:
    """Poll ``condition`` for up to 10 s (a killed process ends soon, not at once)."""
    for _ in range(1000):
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@needs_posix_shell
def test_the_budget_is_for_all_of_the_runs_dot_calls(tmp_path: Path, fake_dot: Callable[..., Path]) -> None:
    """`dot` calls that each finish in time still share one budget: past it, no more calls."""
    log = fake_dot("sleep 0.3\nprintf '<svg/>' > \"$4\"")
    directory = tmp_path / "pictures"
    writer = GraphWriter(directory, budget=1.0)
    writer.draw("test_x.py::test_many", cycle_payload(8))
    ran = calls(log)
    svgs = len(list(directory.glob("*.svg")))
    # Each call takes at least 0.3 s: at most four start within 1 s, however loaded the machine.
    assert 1 <= ran <= 4, ran
    assert svgs in (ran - 1, ran)
    assert len(list(directory.glob("*.dot"))) == 8
    assert writer.written == 8 + svgs
    assert writer.summary_lines()[-1] == (
        f"dot not run again (out of time): {8 - ran} SVGs not rendered, their DOT files are written"
    )


@needs_posix_shell
def test_a_failing_dot_is_named_and_the_dot_files_still_count(tmp_path: Path, fake_dot: Callable[..., Path]) -> None:
    """Every file written counts, DOT and SVG, also when `dot` fails on the next one; failures do not stop it."""
    log = fake_dot('case "$2" in *-2-cycle.dot) echo "syntax error in line 1" >&2; exit 3;; esac\nprintf x > "$4"')
    directory = tmp_path / "pictures"
    writer = GraphWriter(directory, budget=30.0)
    written = writer.draw("test_x.py::test_three", cycle_payload(3))
    assert [p.suffix for p in written] == [".dot", ".svg", ".dot", ".dot", ".svg"]
    assert calls(log) == 3
    assert writer.written == 5
    (dot_2,) = directory.glob("*-2-cycle.dot")
    assert not dot_2.with_suffix(".svg").exists()
    assert writer.summary_lines() == [
        f"5 graph files written to {directory}",
        f"could not draw test_x.py::test_three: dot failed (exit status 3) on {dot_2.name}: syntax error in line 1",
    ]


def test_without_dot_only_dot_files_are_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    writer = GraphWriter(tmp_path / "pictures")
    assert [p.suffix for p in writer.draw("test_x.py::test_two", cycle_payload(2))] == [".dot", ".dot"]
    assert writer.draw("test_x.py::test_clean", {"cycles": [], "leaks": []}) == []
    assert writer.summary_lines() == [f"2 graph files written to {tmp_path / 'pictures'}"]


def test_a_hanging_dot_costs_the_run_one_budget_end_to_end(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real session: a sleeping `dot` is called once, then the run goes on without it and counts the DOT files."""
    bin_dir = pytester.path / "bin"
    bin_dir.mkdir()
    log = pytester.path / "calls.log"
    (bin_dir / "dot").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nsleep 300\n')
    (bin_dir / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    pytester.makeconftest("import pytest_gcguard.reporting.graphs as g\ng.DOT_BUDGET = 1.0\n")
    tests = "import lib\n" + "".join(f"\ndef test_ring_{i}():\n    lib.ring()\n" for i in range(5))
    pytester.makepyfile(lib=NODE_LIB, test_rings=tests)
    result = guarded("--gc-guard-graph=pictures")
    result.assert_outcomes(passed=5, errors=5)
    assert len(log.read_text().splitlines()) == 1
    result.stdout.fnmatch_lines(
        [
            f"5 graph files written to {pytester.path / 'pictures'}",
            "could not draw test_rings.py::test_ring_0: dot was killed when the 1 s for all SVGs of the run ran out",
            "dot not run again (out of time): 4 SVGs not rendered, their DOT files are written",
        ]
    )
