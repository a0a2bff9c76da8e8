from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.inner import collector_state
from tests.inner import inner_plugins


@pytest.fixture(autouse=True)
def _inner_sessions_without_extras_plugins(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest sessions start without the test extras' plugins (tests/inner.py, EXTRAS_PLUGINS).

    pytester's, and those the bench scripts start (tests/test_bench.py): each
    would load them again, about 0.6 s of CPU a session.
    """
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when set up: set ours after
    inner_plugins(monkeypatch, *(("xdist",) if request.node.get_closest_marker("inner_xdist") is not None else ()))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "inner_xdist: this test's inner pytest sessions load pytest-xdist (-n)")


@pytest.fixture
def guarded(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run pytest with --gc-guard in a subprocess, so the inner session has a heap of its own."""

    def run(*args: str, timeout: float | None = None) -> pytest.RunResult:
        return pytester.runpytest_subprocess(
            "--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist", *args, timeout=timeout
        )

    return run


class _GuardedTests:
    """Names the tests an in-process session ran under the guard ("gcguard-guard", plugin.py)."""

    def __init__(self) -> None:
        self.nodeids: list[str] = []

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if item.config.pluginmanager.get_plugin("gcguard-guard") is not None:
            self.nodeids.append(item.nodeid)


@pytest.fixture
def inprocess(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run pytest in this process (no interpreter to start): for runs in which no test is judged.

    An inner session in this process shares this heap: a window would freeze
    it and collect this session's garbage with the inner test's.  So this is
    for runs that stop before any test runs (usage errors, ``--help``,
    ``--markers``) and for runs without the guard; a test run under the guard
    fails the check here (use ``guarded``).  Each run must also leave this
    process's collector (and tracemalloc) as it found them.
    """

    def run(*args: str) -> pytest.RunResult:
        before = collector_state()
        guarded_tests = _GuardedTests()
        result = pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", "-p", "no:xdist", *args, plugins=[guarded_tests]
        )
        assert guarded_tests.nodeids == [], f"tests ran under the guard in this process: {guarded_tests.nodeids}"
        assert collector_state() == before, "the in-process session changed this process's collector"
        return result

    return run
