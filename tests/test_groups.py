"""The summary groups shapes under their origin module, ten modules at most without -v (issue 14, acceptance 9)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable

import pytest

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.judging.judge import FAILED
from pytest_gcguard.reporting.summary import NO_OWNER
from pytest_gcguard.reporting.summary import Summary
from pytest_gcguard.reporting.summary import make_payload
from pytest_gcguard.reporting.summary import origin_module
from tests.inner import summary_of


def ring(label: str, *owners: tuple[str, ...]) -> Cycle:
    """A one-object cycle labelled ``label`` whose members have ``owners`` (``Cycle.member_types``)."""
    return Cycle(CYCLE, (Hop(label, label, ".me"),), 1, 1, 0, member_types=tuple(sorted(owners)))


def headers(lines: list[str]) -> list[str]:
    """The summary's top-level lines under its headline: a module's line, or the one for the modules left out."""
    return [line for line in lines[1:] if not line.startswith(" ")]


def test_twelve_modules_show_ten_and_fold_the_rest() -> None:
    """Shapes of 12 modules: the 9 most tests share are listed, the other 3 in one line (10 in all); -v lists all 12."""
    summary = Summary()
    for m in range(12):
        for n in range(20 - m):  # module m's shapes are in 20 - m tests: mod0 the most
            summary.add(f"t.py::test_{m}_{n}", make_payload([(ring(f"Node{m}", (f"lib.mod{m}.Node",)), FAILED)]))
    lines = summary.lines(verbose=False)
    assert headers(lines) == [
        *(f"lib.mod{m} — {20 - m} tests, 1 shape" for m in range(9)),
        "… 3 more modules (30 tests, 3 shapes); -v lists them",
    ]
    assert "  [20 tests] Node0 --.me--> Node0" in lines
    assert not any("Node9" in line for line in lines)
    verbose = summary.lines(verbose=True)
    assert headers(verbose) == [f"lib.mod{m} — {20 - m} tests, 1 shape" for m in range(12)]
    assert "  [9 tests] Node11 --.me--> Node11" in verbose


def test_ten_modules_are_all_listed() -> None:
    """Shapes of exactly 10 modules: 10 lines, none folded."""
    summary = Summary()
    for m in range(10):
        summary.add(f"t.py::test_{m}", make_payload([(ring(f"Node{m}", (f"lib.mod{m}.Node",)), FAILED)]))
    assert headers(summary.lines(verbose=False)) == [f"lib.mod{m} — 1 test, 1 shape" for m in range(10)]


def test_shapes_of_one_module_are_listed_under_it() -> None:
    """Two shapes of ``lib.graph`` under one line for it, a third of ``lib.view`` under its own; failing first."""
    summary = Summary()
    summary.add("t.py::test_a", make_payload([(ring("Node", ("lib.graph.Node",)), FAILED)]))
    summary.add("t.py::test_b", make_payload([(ring("Edge", ("lib.graph.Edge", "lib.graph.Base")), FAILED)]))
    summary.add("t.py::test_c", make_payload([(ring("Edge", ("lib.graph.Edge", "lib.graph.Base")), FAILED)]))
    for n in range(5):
        summary.add(f"t.py::test_v{n}", make_payload([(ring("View", ("lib.view.View",)), "allowed")]))
    lines = summary.lines(verbose=False)
    assert lines[1:] == [
        "lib.graph — 3 tests, 2 shapes",
        "  [2 tests] Edge --.me--> Edge",
        "      t.py::test_b, t.py::test_c",
        "  [1 test] Node --.me--> Node",
        "      t.py::test_a",
        "lib.view — 5 tests, 1 shape",
        "  [5 tests, allowed] View --.me--> View",
        "      t.py::test_v0, t.py::test_v1, t.py::test_v2, ... and 2 more",
    ]


@pytest.mark.parametrize(
    ("owners", "module"),
    [
        ((("lib.graph.Node", "lib.base.Base"),), "lib.graph"),  # an instance: its class's module
        ((("lib.graph.Outer.Inner",),), "lib.graph"),  # a nested class
        ((("<class>", "lib.make.<locals>.C"),), "lib"),  # a class made in a function: the function's module
        ((("<code>", "lib.pkg.mod"),), "lib.pkg.mod"),  # a function or frame: its module, as it is
        ((("<alloc>", "lib.alloc"),), "lib.alloc"),  # any other tagged owner names a module
        ((("zlib.Z",), ("<code>", "alib")), "alib"),  # the first owner of the sorted ones
        ((), NO_OWNER),  # plain containers
    ],
)
def test_a_shape_is_grouped_under_its_first_owners_module(owners: tuple[tuple[str, ...], ...], module: str) -> None:
    assert origin_module(ring("x", *owners)) == module


@pytest.mark.parametrize(
    ("shown", "module"),
    [
        ("web.Request", "web"),  # an instance the path shows, not the sorted first owner (the class of form)
        ("data.Headers", "data"),
        ("class:mod.B", "mod"),  # a class the path shows
        ("dict", "form"),  # no owner on the path: the sorted first
    ],
)
def test_a_shape_is_grouped_under_the_owner_its_path_shows(shown: str, module: str) -> None:
    """werkzeug's ``Request .environ -> dict -> Request`` has an ``EnvironHeaders`` in it the path does not show."""
    owners = (
        ("data.Headers",),
        ("web.Request", "base.Request"),
        ("<class>", "form.make.<locals>.Form"),
        ("<class>", "mod.B"),
    )
    path = (Hop("x", "dict", "['k']"), Hop("y", shown, ".environ"))
    cycle = Cycle(CYCLE, path, 1, 4, 0, member_types=tuple(sorted(owners)))
    assert origin_module(cycle) == module


def test_a_real_run_groups_by_the_module_that_made_the_cycle(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A library's two modules: two groups, each with its shapes, the module more tests share first."""
    pytester.makepyfile(
        **{
            "mylib/__init__.py": "",
            "mylib/graph.py": textwrap.dedent(
                """
                class Node:
                    def __init__(self):
                        self.me = self

                class Port:
                    pass

                class Edge:
                    def __init__(self):
                        self.other = Port()
                        self.other.back = self
                """
            ),
            "mylib/views.py": "class View:\n    def __init__(self):\n        self.me = self\n",
            "test_lib.py": textwrap.dedent(
                """
                import pytest
                from mylib.graph import Edge, Node
                from mylib.views import View

                @pytest.mark.parametrize("n", range(3))
                def test_node(n):
                    Node()

                def test_edge():
                    Edge()

                def test_view():
                    View()
                """
            ),
        }
    )
    result = guarded()
    result.assert_outcomes(passed=5, errors=5)
    summary = summary_of(result).splitlines()
    start = summary.index("5 tests created reference cycles: 3 shapes, 5 findings (5 failed)")
    assert summary[start + 1 : start + 12] == [
        "mylib.graph — 4 tests, 2 shapes",
        "  [3 tests] Node --.me--> Node",
        "      made by the project (mylib.graph)",
        "      test_lib.py::test_node[0], test_lib.py::test_node[1], test_lib.py::test_node[2]",
        "  [1 test] Edge --.other--> Port --.back--> Edge",
        "      made by the project (mylib.graph)",
        "      test_lib.py::test_edge",
        "mylib.views — 1 test, 1 shape",
        "  [1 test] View --.me--> View",
        "      made by the project (mylib.views)",
        "      test_lib.py::test_view",
    ]


def test_a_capitalised_module_names_its_group_and_its_allow_entry(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """``Lib/Image.py`` with class ``Image`` (PIL's ``PIL.Image.Image``): the module is ``Lib.Image``, not ``Lib``."""
    pytester.makepyfile(
        **{
            "Lib/__init__.py": "",
            "Lib/Image.py": "class Image:\n    def __init__(self):\n        self.me = self\n",
            "test_image.py": "from Lib import Image\n\ndef test_image():\n    Image.Image()\n",
        }
    )
    result = guarded("--gc-guard-report=report.json")
    result.assert_outcomes(passed=1, errors=1)
    summary = summary_of(result).splitlines()
    assert summary[2:5] == [
        "Lib.Image — 1 test, 1 shape",
        "  [1 test] Image --.me--> Image",
        "      made by the project (Lib.Image)",
    ]
    report = json.loads((pytester.path / "report.json").read_text())
    (finding,) = report["tests"][0]["findings"]
    assert (finding["origin"], finding["origin_name"]) == ("project", "Lib.Image")
    guarded("-o", "gc_guard_allow=Lib.Image").assert_outcomes(passed=1)
    guarded("-o", "gc_guard_allow=Lib.Imag").assert_outcomes(passed=1, errors=1)
