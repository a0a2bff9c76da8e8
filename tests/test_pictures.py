"""--gc-guard-graph=DIR: a Graphviz DOT file per finding, and an SVG when `dot` is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import NODE_LIB


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
        ("list (len=4)", "[3]", "Node('kept')"),
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
        assert ".other" in svg.read_text() or "[3]" in svg.read_text()
        # And dot itself accepts the file (it would have failed the run otherwise, but say so).
        subprocess.run(["dot", "-Tcanon", str(dot)], check=True, capture_output=True)


def test_labels_with_quotes_and_backslashes_are_escaped(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(
        test_quotes="""
        class Odd:
            def __init__(self):
                self.me = self

            def __repr__(self):
                return 'Odd("a\\\\b")\\nnext line'


        def test_odd():
            Odd()
        """
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


def test_a_graph_path_that_is_a_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    (pytester.path / "taken").write_text("")
    result = pytester.runpytest_subprocess("--gc-guard", "--gc-guard-graph=taken")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--gc-guard-graph: * is not a directory*"])
