"""Warn mode warns: it never fails a run, also under ``filterwarnings = error``; the warning is the test's."""

from __future__ import annotations

import pytest


# Node lives in a library module: a cycle among a test module's own instances is test-local.
CYCLE = """
from nodes import Node


def test_cycle():
    node = Node()
    node.me = node
"""


@pytest.fixture
def strict_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(nodes="class Node:\n    pass\n", test_w=CYCLE)
    return pytester


def test_warn_mode_passes_under_filterwarnings_error(strict_project: pytest.Pytester) -> None:
    result = strict_project.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "--gc-guard-mode=warn")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, warnings=1)
    # The warning is located at the test (its file and the line of its def), not in gc-guard's code.
    result.stdout.fnmatch_lines(["*test_w.py:4: GcGuardWarning: gc-guard: test created 1 reference cycle*"])


def test_naming_the_warning_as_an_error_still_fails(strict_project: pytest.Pytester) -> None:
    result = strict_project.runpytest_subprocess(
        "--gc-guard", "-p", "no:cacheprovider", "--gc-guard-mode=warn", "-W", "error::pytest_gcguard.GcGuardWarning"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*GcGuardWarning: gc-guard: test created 1 reference cycle*"])
