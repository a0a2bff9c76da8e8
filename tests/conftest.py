from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Sequence

import pytest


# The pytest plugins of the test extras (pyproject.toml), by entry-point name.
# Inner sessions start without them: Hypothesis's costs about 1 s per
# session, pytest-randomly would shuffle inner suites whose tests run in order
# (tests/test_gc_state.py), pytest-asyncio warns at configure about an unset
# ini option.  tests/test_plugins.py opts back in, one plugin per test.
EXTRAS_PLUGINS = ("hypothesispytest", "randomly", "asyncio", "rerunfailures", "timeout")


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
        inner_plugins(monkeypatch)


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


def cycle_pattern(labels: Sequence[str], edges: Sequence[str]) -> re.Pattern[str]:
    """A printed cycle ``A --e1--> B --e2--> ... --> A``, starting at any member.

    ``*`` in a label matches anything (line numbers, addresses).
    """
    n = len(labels)

    def esc(text: str) -> str:
        return re.escape(text).replace(r"\*", ".*?")

    rotations = []
    for start in range(n):
        parts = [f"{esc(labels[(start + i) % n])} --{esc(edges[(start + i) % n])}-->" for i in range(n)]
        rotations.append(" ".join(parts) + " " + esc(labels[start]))
    return re.compile("|".join(f"(?:{r})" for r in rotations))


def assert_cycle(output: str, labels: Sequence[str], edges: Sequence[str]) -> None:
    pattern = cycle_pattern(labels, edges)
    assert pattern.search(output), f"no cycle {list(zip(labels, edges))} in:\n{output}"
