"""@pytest.mark.allow_cycles (issue 2, acceptance 4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.inner import GRAPH
from tests.inner import GRAPH_CLASS


def _graph_test(marker: str) -> str:
    return (
        GRAPH
        + f"""
import pytest

class Other:
    pass

{marker}
def test_cycle():
    one, two = Graph("one"), Graph("two")
    one.set_next(two)
    two.set_next(one)
"""
    )


def test_allow_cycles_exempts_the_test(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> None:
    """With the marker the cycle is still counted in the summary, as allowed, and the test passes."""
    pytester.makepyfile(
        graph=GRAPH_CLASS, test_allowed=_graph_test('@pytest.mark.allow_cycles(reason="graphs are cyclic")')
    )
    result = guarded()
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*1 test created reference cycles: 1 shape, 1 finding (1 allowed)*"])


def test_allow_cycles_with_matching_types_exempts(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """types= names the classes a cycle may consist of; a class object or a qualified name both work."""
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        test_by_class=_graph_test("@pytest.mark.allow_cycles(types=[Graph])"),
        test_by_name=_graph_test('@pytest.mark.allow_cycles(types=["graph.Graph"])'),
    )
    result = guarded()
    result.assert_outcomes(passed=2)


def test_allow_cycles_with_other_types_still_fails(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """allow_cycles(types=[Other]) does not cover a Graph cycle."""
    pytester.makepyfile(graph=GRAPH_CLASS, test_other=_graph_test("@pytest.mark.allow_cycles(types=[Other])"))
    result = guarded()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*gc-guard: test created 1 reference cycle (2 objects)*"])


def test_max_objects_bounds_what_is_allowed(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """max_objects=2 allows the two-node cycle; max_objects=1 does not, and says why."""
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        test_enough=_graph_test("@pytest.mark.allow_cycles(max_objects=2)"),
        test_too_few=_graph_test("@pytest.mark.allow_cycles(max_objects=1)"),
    )
    result = guarded()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_cycle*", "*allow_cycles(max_objects=1) exceeded: 2 objects in cycles*"]
    )
    assert "test_enough.py::test_cycle" not in result.stdout.str().split("short test summary")[1]


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('allow_cycles(max_objects="x")', "max_objects must be a non-negative int, got 'x'"),
        ("allow_cycles(max_objects=-1)", "max_objects must be a non-negative int, got -1"),
        ("allow_cycles(reason=3)", "reason must be a string, got int"),
        ("allow_cycles(types=[3])", "types entries must be classes or qualified names*"),
        ("allow_cycles(types=[])", "types must name at least one class"),
        ("allow_cycles(typo=1)", "*unexpected keyword argument 'typo'*"),
        ('allow_cycles("a", "b")', "*positional argument*"),
        ("allow_cycles(types=dict)", "types entry 'dict' can never match*"),
        ('allow_cycles(types=["builtins.list"])', "types entry 'builtins.list' can never match*"),
        ("allow_cycles(types=ValueError)", "types entry 'ValueError' can never match*"),
    ],
)
def test_bad_marker_arguments_are_a_usage_error_naming_the_test(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult], marker: str, message: str
) -> None:
    """A wrong argument stops the run with exit code 4 and a message naming the test and the problem."""
    pytester.makepyfile(test_bad=f"import pytest\n\n@pytest.mark.{marker}\ndef test_marked():\n    pass\n")
    result = inprocess("--gc-guard")  # the error comes at collection, before any test runs
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: test_bad.py::test_marked: invalid @pytest.mark.allow_cycles: {message}"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_the_marker_is_registered_even_when_the_guard_is_off(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    """--strict-markers suites work without --gc-guard, and --markers documents the marker."""
    pytester.makepyfile(test_strict="import pytest\n\n@pytest.mark.allow_cycles\ndef test_it():\n    pass\n")
    result = inprocess("--strict-markers")
    result.assert_outcomes(passed=1)
    markers = inprocess("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.allow_cycles(reason=None, *, types=None, max_objects=None):*"])


BAD_AND_GOOD = """
import pytest

@pytest.mark.allow_cycles(reasn="a typo")
def test_typo():
    pass

def test_ok():
    pass
"""


@pytest.mark.inner_xdist
def test_a_bad_marker_under_xdist_is_that_test_s_error(pytester: pytest.Pytester) -> None:
    """Under -n 2 the message is shown on the test, the other tests run, and there is no INTERNALERROR."""
    pytester.makepyfile(test_m=BAD_AND_GOOD)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-n", "2")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*test_m.py::test_typo: invalid @pytest.mark.allow_cycles:*'reasn'*"])


def test_a_bad_marker_on_a_deselected_test_stops_nothing(pytester: pytest.Pytester) -> None:
    """Only the tests that will run are read: -k leaves the bad marker out, and the run passes."""
    pytester.makepyfile(test_m=BAD_AND_GOOD)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist", "-k", "test_ok")
    result.assert_outcomes(passed=1, deselected=1)
    assert result.ret == pytest.ExitCode.OK


def test_the_closest_marker_applies_and_markers_do_not_combine(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A function's marker replaces its class's: the class allows Graph, the function only Other, so Graph fails."""
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        test_closest=GRAPH
        + """
import pytest

class Other:
    pass

@pytest.mark.allow_cycles(types=["graph.Graph"])
class TestIt:
    @pytest.mark.allow_cycles(types=["test_closest.Other"])
    def test_function_marker_wins(self):
        one, two = Graph("one"), Graph("two")
        one.set_next(two)
        two.set_next(one)

    def test_class_marker(self):
        one, two = Graph("one"), Graph("two")
        one.set_next(two)
        two.set_next(one)
""",
    )
    result = guarded()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["ERROR test_closest.py::TestIt::test_function_marker_wins*"])


def test_a_cycle_still_failing_names_the_members_its_allowance_leaves_out(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A Graph <-> Other ring fails under types=[Graph] or an allow list naming Graph: the text names Other (issue 18).

    The project-wide list is told only when it covers part of the cycle: a
    cycle of other classes altogether is just not an allowed shape.
    """
    pytester.makeini("[pytest]\ngc_guard_allow = cycles: graph.Graph\n")
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        strangers="class Stranger:\n    pass\n",
        test_mixed=GRAPH
        + """
import pytest

class Other:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Other({self.name!r})"

from strangers import Stranger

def ring():
    graph, other = Graph("g"), Other("o")
    graph.set_next(other)
    other.graph = graph

@pytest.mark.allow_cycles(types=["graph.Graph"])
def test_marker():
    ring()

def test_allow_list():
    ring()

def test_unrelated():
    stranger = Stranger()
    stranger.me = stranger
""",
    )
    result = guarded()
    result.assert_outcomes(passed=3, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_marker*",
            "  (allow_cycles(types=['graph.Graph']) does not cover Other('o') (test_mixed.Other))",
            "*ERROR at teardown of test_allow_list*",
            "  (gc_guard_allow does not cover Other('o') (test_mixed.Other))",
            "*ERROR at teardown of test_unrelated*",
        ]
    )
    # test_marker is told of both (the list covers Graph there too); test_unrelated of neither.
    # The failure texts (pytest's short summary repeats them with CI=true).
    assert result.stdout.str().split("short test summary info", 1)[0].count("does not cover") == 3
