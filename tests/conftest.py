from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.inner import collector_state
from tests.inner import inner_plugins


@pytest.fixture(autouse=True)
def _inner_sessions_without_extras_plugins(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest sessions start without the test extras' plugins (tests/inner.py, EXTRAS_PLUGINS)."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when set up: set ours after
        inner_plugins(monkeypatch)


@pytest.fixture
def guarded(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run pytest with --gc-guard in a subprocess, so the inner session has a heap of its own."""

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist", *args)

    return run


@pytest.fixture
def inprocess(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run pytest in this process (no interpreter to start): for runs in which no test is judged.

    An inner session in this process shares this heap: a window would freeze
    it and collect this session's garbage with the inner test's.  So this is
    for runs that stop before any test runs (usage errors, ``--help``,
    ``--markers``) and for runs without the guard; a cycle or leak verdict
    needs ``guarded``.  Each run must leave this process's collector (and
    tracemalloc) as it found them.
    """

    def run(*args: str) -> pytest.RunResult:
        before = collector_state()
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", *args)
        assert collector_state() == before, "the in-process session changed this process's collector"
        return result

    return run
