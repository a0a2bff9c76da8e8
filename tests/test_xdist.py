"""Under pytest-xdist, findings travel on the reports and the controller prints one summary."""

from __future__ import annotations

import pytest

from tests.inner import GRAPH
from tests.inner import GRAPH_CLASS


pytest.importorskip("xdist")


@pytest.mark.inner_xdist
def test_the_controller_prints_one_summary_with_every_workers_findings(pytester: pytest.Pytester) -> None:
    """Twelve cyclic tests over two workers: each failure on its test, one summary counting all twelve."""
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        test_spread=GRAPH
        + """
import pytest

@pytest.mark.parametrize("n", range(12))
def test_ring(n):
    g = Graph(n)
    g.set_next(g)
""",
    )
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=12, errors=12)
    output = result.stdout.str()
    assert output.count("gc-guard summary") == 1
    result.stdout.fnmatch_lines(
        [
            "12 tests created reference cycles: 1 shape, 12 findings (12 failed)",
            "  [[]12 tests] Graph(*) --.next--> Graph(*)",
        ]
    )
