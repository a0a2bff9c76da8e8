"""The summary's counts, its grouping of test-local classes, and how it says to adopt gc-guard (issue 18), in process.

Payloads are built as the guard builds them (``make_payload``), from plain
findings: no test runs here.
"""

from __future__ import annotations

from typing import Any

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.judging.judge import ALLOWED
from pytest_gcguard.judging.judge import FAILED
from pytest_gcguard.judging.judge import WARNED
from pytest_gcguard.reporting.adoption import adoption_lines
from pytest_gcguard.reporting.summary import Summary
from pytest_gcguard.reporting.summary import make_payload


def ring(cls: str, *bases: str) -> Cycle:
    """A one-object cycle of an instance of ``cls``, a class with ``bases``."""
    label = cls.rsplit(".", 1)[-1]
    return Cycle(CYCLE, (Hop(label, cls, ".me"),), 1, 1, 0, member_types=((cls, *bases),))


LISTS = Cycle(CYCLE, (Hop("list (len=1)", "list", "[0]"),), 1, 1, 0)


def payloads(findings: dict[str, list[tuple[Cycle, str]]]) -> dict[str, dict[str, Any]]:
    return {nodeid: make_payload(entries) for nodeid, entries in findings.items()}


def test_the_headline_says_what_each_count_counts() -> None:
    """Tests, shapes, and findings (a shape in a test), with thousands separators; statuses count findings."""
    summary = Summary()
    for n in range(1200):
        entries = [(ring(f"lib.Graph{n % 2}"), FAILED)]
        if n % 3 == 0:
            entries.append((ring("lib.View"), ALLOWED))
        summary.add(f"test_x.py::test_{n}", make_payload(entries))
    lines = summary.lines(verbose=False)
    assert lines[0] == "1,200 tests created reference cycles: 3 shapes, 1,600 findings (400 allowed, 1,200 failed)"
    assert lines[1:3] == ["lib — 1,200 tests, 3 shapes", "  [600 tests] Graph0 --.me--> Graph0"]


def test_classes_defined_in_test_functions_are_one_shape_whatever_their_names() -> None:
    """``test_a.<locals>.MySchema``, ``test_b.<locals>.MySchema``, ``test_c.<locals>.Sch``: one shape (a test's
    local class is named by its role); a module-level class of another name stays apart."""
    summary = Summary()
    summary.add("t.py::test_a", make_payload([(ring("t.test_a.<locals>.MySchema", "lib.Schema"), FAILED)]))
    summary.add("t.py::TestB::test_b", make_payload([(ring("t.TestB.test_b.<locals>.MySchema"), FAILED)]))
    summary.add("t.py::test_c", make_payload([(ring("t.test_c.<locals>.Sch"), FAILED)]))
    summary.add("t.py::test_d", make_payload([(ring("t.Other"), FAILED)]))
    lines = summary.lines(verbose=False)
    assert lines[0] == "4 tests created reference cycles: 2 shapes, 4 findings (4 failed)"
    assert lines[1:4] == [
        "t — 4 tests, 2 shapes",
        "  [3 tests] MySchema --.me--> MySchema",
        "      t.py::test_a, t.py::TestB::test_b, t.py::test_c",
    ]


def test_a_repeated_line_prints_once_with_its_count() -> None:
    """Three audits that could not explain their garbage alike: one line, (3×); their test-local cycles: one shape."""
    summary = Summary()
    for n in range(3):
        cycle = ring(f"t.test_{n}.<locals>.Node")
        summary.add_audit(
            {"first": f"t.py::test_{n}", "last": f"t.py::test_{n}", "tests": 1, "cycles": [cycle.to_dict()]}
        )
        summary.add_audit({"first": "t.py::x", "last": "t.py::x", "tests": 1, "cycles": [], "error": "RecursionError"})
    lines = summary.lines(verbose=False)
    assert lines[0].startswith("heap audit: 3 reference cycles through objects older than the test")
    assert "in 1 shape" in lines[0]
    assert lines[1] == "  [3 cycles] Node --.me--> Node"
    assert lines.count("  could not explain an audit's garbage: RecursionError (3×)") == 1
    assert not any(line.endswith("RecursionError") for line in lines)


def test_no_adoption_hint_below_five_failing_tests() -> None:
    found = payloads({f"t.py::test_{n}": [(ring("lib.Graph"), FAILED)] for n in range(4)})
    assert adoption_lines(found, "b.json") == []
    found["t.py::test_allowed"] = make_payload([(ring("lib.Graph"), ALLOWED)])
    assert adoption_lines(found, "b.json") == []  # an allowed finding fails nothing


def test_warned_findings_count_and_unnamable_shapes_go_to_the_baseline() -> None:
    """Warn mode's findings would fail the gate; a cycle of plain containers and a test's own class name nothing."""
    found = payloads({f"t.py::test_{n}": [(LISTS, WARNED)] for n in range(3)})
    found.update(payloads({f"t.py::test_mine_{n}": [(ring("t.Mine"), WARNED)] for n in range(3)}))
    assert adoption_lines(found, "b.json") == [
        "6 tests fail the gate; to adopt gc-guard before they are fixed:",
        "  record their findings as known, so that only new ones fail:",
        "      pytest --gc-guard --gc-guard-baseline=b.json --gc-guard-update-baseline",
    ]


def test_allow_lines_name_the_first_class_outside_the_tests_grouped_by_package() -> None:
    """A test's subclass is named by its library base; leaks too; a shape failing two tests is not offered."""
    found = payloads(
        {
            f"tests/test_s.py::test_{n}": [(ring(f"tests.test_s.test_{n}.<locals>.S", "jinja2.Template"), FAILED)]
            for n in range(3)
        }
    )
    found.update(
        payloads({f"tests/test_t.py::test_{n}": [(ring("tests.test_t.Run", "trio.Nursery"), FAILED)] for n in range(3)})
    )
    found.update(payloads({f"tests/test_u.py::test_{n}": [(ring("mylib.Rare"), FAILED)] for n in range(2)}))
    handler = Leak(
        "mylib.Handler", (1, 2, 3, 4), Chain("module mylib, global H", ()), ("mylib.Handler", "builtins.object")
    )
    for n in range(3):
        found[f"tests/test_v.py::test_{n}"] = make_payload((), leaks=[(handler, FAILED)])
    assert adoption_lines(found, "b.json") == [
        "11 tests fail the gate; to adopt gc-guard before they are fixed:",
        "  1. if the shapes that fail the most tests are by design, allow them project-wide",
        "     (these lines in the ini file let 9 of the 11 tests pass):",
        "       gc_guard_allow =",
        "           # jinja2",
        "           cycles: jinja2.Template",
        "           # mylib",
        "           leaks: mylib.Handler",
        "           # trio",
        "           cycles: trio.Nursery",
        "  2. record the other findings as known, so that only new ones fail:",
        "       pytest --gc-guard --gc-guard-baseline=b.json --gc-guard-update-baseline",
    ]


def test_a_shape_of_more_classes_than_the_lines_allowed_is_offered_by_module() -> None:
    """Fifteen classes of two modules in the shape every test has: two module lines, and the other shapes' lines."""
    classes = [f"lib._core._run.C{n}" for n in range(10)] + [f"lib._core._io.I{n}" for n in range(5)]
    shared = Cycle(
        CYCLE,
        tuple(Hop(name.rsplit(".", 1)[1], name, ".next") for name in classes),
        1,
        len(classes),
        0,
        member_types=tuple((name,) for name in sorted(classes)),
    )
    found = payloads(
        {
            f"t.py::test_{kind}_{n}": [(shared, FAILED), (ring(f"other.{kind}"), FAILED)]
            for kind in "XYZ"
            for n in range(3)
        }
    )
    assert adoption_lines(found, "b.json")[1:] == [
        "  1. if the shapes that fail the most tests are by design, allow them project-wide",
        "     (these lines in the ini file let 9 of the 9 tests pass):",
        "       gc_guard_allow =",
        "           # lib",
        "           cycles: lib._core._io",
        "           cycles: lib._core._run",
        "           # other",
        "           cycles: other.X",
        "           cycles: other.Y",
        "           cycles: other.Z",
    ]
