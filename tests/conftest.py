from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import pytest


# The pytest plugins of the test extras (pyproject.toml), by entry-point name.
# Inner sessions start without them: Hypothesis's costs about 1 s per
# session, pytest-randomly would shuffle inner suites whose tests run in order
# (tests/test_gc_state.py), pytest-asyncio warns at configure about an unset
# ini option, pytest-xdist costs about 0.2 s per session (execnet).
# tests/test_plugins.py opts back in, one plugin per test; a test whose inner
# session runs with -n is marked ``inner_xdist``.
EXTRAS_PLUGINS = ("hypothesispytest", "randomly", "asyncio", "rerunfailures", "timeout", "xdist")


def plugins_off(*keep: str) -> list[str]:
    """``-p no:NAME`` for every plugin of the test extras, except ``keep``."""
    unknown = set(keep) - set(EXTRAS_PLUGINS)
    assert not unknown, f"not a plugin of the test extras: {sorted(unknown)}"
    return [arg for name in EXTRAS_PLUGINS if name not in keep for arg in ("-p", f"no:{name}")]


def inner_plugins(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Let this test's inner sessions load ``names`` (of EXTRAS_PLUGINS) again; call after pytester is set up."""
    monkeypatch.setenv("PYTEST_ADDOPTS", " ".join(plugins_off(*names)))


@pytest.fixture(autouse=True)
def _inner_sessions_without_extras_plugins(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest sessions start without the test extras' plugins (EXTRAS_PLUGINS)."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when set up: set ours after
        keep = ("xdist",) if request.node.get_closest_marker("inner_xdist") is not None else ()
        inner_plugins(monkeypatch, *keep)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "inner_xdist: this test's inner pytest sessions load pytest-xdist (-n)")


@pytest.fixture
def guarded(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run pytest with --gc-guard in a subprocess, so the inner session has a heap of its own."""

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist", *args)

    return run


# A small library for inner test suites: a class whose instances link up, and a ring of two.
NODE_LIB = """
class Node:
    def __init__(self, name):
        self.name = name
        self.other = None

    def __repr__(self):
        return f"Node({self.name!r})"


def ring():
    a, b = Node("a"), Node("b")
    a.other, b.other = b, a
    return a
"""


def wildcard(text: str) -> str:
    """A regular expression for ``text`` in which ``*`` matches anything."""
    return re.escape(text).replace(r"\*", ".*?")


def cycle_pattern(labels: Sequence[str], edges: Sequence[str]) -> re.Pattern[str]:
    """A printed cycle ``A --e1--> B --e2--> ... --> A``, starting at any member.

    ``*`` in a label matches anything (line numbers, addresses).
    """
    n = len(labels)
    esc = wildcard
    rotations = []
    for start in range(n):
        parts = [f"{esc(labels[(start + i) % n])} --{esc(edges[(start + i) % n])}-->" for i in range(n)]
        rotations.append(" ".join(parts) + " " + esc(labels[start]))
    return re.compile("|".join(f"(?:{r})" for r in rotations))


def assert_cycle(output: str, labels: Sequence[str], edges: Sequence[str]) -> None:
    pattern = cycle_pattern(labels, edges)
    assert pattern.search(output), f"no cycle {list(zip(labels, edges))} in:\n{output}"


# An inner conftest.py that checks the collector's state after every test:
# after the whole test protocol (the plugin's window and any re-runs), the
# enabled flag, debug flags, thresholds, gc.callbacks and gc.garbage must be as
# at the start, which is what a run without the plugin sees (the inner tests
# that change them put them back).  The observations and the session's end
# state go to $GCGUARD_OBSERVATIONS for ``run_state_checked``.
STATE_CHECKING_CONFTEST = """
import gc, json, os
import pytest

def state():
    return [gc.isenabled(), gc.get_debug(), list(gc.get_threshold()), len(gc.callbacks), len(gc.garbage)]

AT_IMPORT = state()
MISMATCHES = []

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    try:
        return (yield)
    finally:
        after = state()
        if after != AT_IMPORT:
            MISMATCHES.append([item.name, after])

def pytest_unconfigure(config):
    with open(os.environ["GCGUARD_OBSERVATIONS"], "w") as f:
        json.dump({"at_import": AT_IMPORT, "mismatches": MISMATCHES, "final": state()}, f)
"""


def run_state_checked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str, each_test: bool = True
) -> tuple[pytest.RunResult, dict[str, Any]]:
    """Run an inner suite with --gc-guard and STATE_CHECKING_CONFTEST; return what it observed.

    Asserts that nothing crashed, that the session ended with the collector's
    state as it started and (``each_test``) that no test left it changed.
    """
    pytester.makeconftest(STATE_CHECKING_CONFTEST)
    path = pytester.path / "observations.json"
    monkeypatch.setenv("GCGUARD_OBSERVATIONS", str(path))
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist", *args)
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    data: dict[str, Any] = json.loads(path.read_text())
    if each_test:
        assert data["mismatches"] == [], f"tests left the gc state changed (expected {data['at_import']})"
    assert data["final"] == data["at_import"]
    return result, data


def teardown_sections(output: str) -> dict[str, str]:
    """The text of each ``ERROR at teardown of NAME`` section of a pytest run, by test name."""
    sections: dict[str, str] = {}
    name = None
    for line in output.splitlines():
        match = re.match(r"_+ ERROR at teardown of (\S+) _+$", line)
        if match:
            name = match.group(1)
            sections[name] = ""
        elif re.match(r"^(=|_){5,}", line):
            name = None
        elif name is not None:
            sections[name] += line + "\n"
    return sections
