"""What the tests share: inner suites' library code, and helpers to run and read inner sessions.

Test modules import from here (and never from one another); the fixtures
are in conftest.py.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import tracemalloc
from collections.abc import Sequence
from typing import Any

import pytest


# ---- inner sessions' plugins

# The pytest plugins of the test extras (pyproject.toml), by entry-point name.
# Inner sessions start without them: Hypothesis's costs about 1 s per
# session, pytest-randomly would shuffle inner suites whose tests run in order
# (tests/test_gc_state.py), pytest-asyncio warns at configure about an unset
# ini option, pytest-xdist costs about 0.2 s per session (execnet).
# tests/test_plugins.py opts back in, one plugin per test; a test whose inner
# sessions run with -n is marked ``inner_xdist`` (tests/conftest.py).
EXTRAS_PLUGINS = ("hypothesispytest", "randomly", "asyncio", "rerunfailures", "timeout", "xdist")


def plugins_off(*keep: str) -> list[str]:
    """``-p no:NAME`` for every plugin of the test extras, except ``keep``."""
    unknown = set(keep) - set(EXTRAS_PLUGINS)
    assert not unknown, f"not a plugin of the test extras: {sorted(unknown)}"
    return [arg for name in EXTRAS_PLUGINS if name not in keep for arg in ("-p", f"no:{name}")]


def inner_plugins(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Let this test's inner sessions load ``names`` (of EXTRAS_PLUGINS) again; call after pytester is set up."""
    monkeypatch.setenv("PYTEST_ADDOPTS", " ".join(plugins_off(*names)))


# ---- inner suites' library code

# The seed's example (PyMOTW, gc): a class whose instances link up by set_next.
# It lives in the inner suite's library module graph.py (GRAPH_CLASS): a
# cycle among instances of a class defined in a test module is the test's
# own, test-local.  GRAPH is what a test module pastes to use it.
GRAPH_CLASS = """
class Graph:
    def __init__(self, name):
        self.name = name
        self.next = None

    def set_next(self, next):
        self.next = next

    def __repr__(self):
        return f"Graph({self.name!r})"
"""
GRAPH = "from graph import Graph\n"

# GRAPH with the seed's own repr, Graph(one), and what the library API's inner
# suites use: a ring of three, an exception-frame cycle, a module global.
SEED_REPR = "'{}({})'.format(self.__class__.__name__, self.name)"
GRAPH_LIB = (
    GRAPH_CLASS.replace('f"Graph({self.name!r})"', SEED_REPR)
    + """

def ring():
    one = Graph('one'); two = Graph('two'); three = Graph('three')
    one.set_next(two); two.set_next(three); three.set_next(one)


def keep_error():
    try:
        raise ValueError("boom")
    except ValueError as e:
        err = e


KEEP = Graph('kept')
"""
)

# A class whose instances link up, and a ring of two.
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


# ---- reading an inner session's output


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


def summary_of(result: pytest.RunResult) -> str:
    """The gc-guard summary section of a run's output, from its title to the end."""
    return result.stdout.str().split("gc-guard summary", 1)[1]


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


# ---- the collector's state, seen from inside an inner session and from this process

# An inner conftest.py that records the collector's state at import and at
# the session's end, and whether pytest's sys.unraisablehook was put back, in
# $GCGUARD_OBSERVATIONS; ``seen`` is the SEEN list of the inner test_state.py.
SESSION_STATE_CONFTEST = """
import gc, json, os, sys

AT_IMPORT = [gc.isenabled(), list(gc.get_threshold()), gc.get_debug(), len(gc.callbacks), gc.get_freeze_count()]
HOOK = []

def pytest_sessionstart(session):
    HOOK.append(sys.unraisablehook)  # pytest's own, from pytest 8.4 on

def pytest_unconfigure(config):
    final = [gc.isenabled(), list(gc.get_threshold()), gc.get_debug(), len(gc.callbacks), gc.get_freeze_count()]
    with open(os.environ["GCGUARD_OBSERVATIONS"], "w") as f:
        json.dump({"at_import": AT_IMPORT, "final": final, "hook_kept": sys.unraisablehook is HOOK[0],
                   "seen": __import__("test_state").SEEN}, f)
"""
# The same for a suite without a test_state.py (``seen`` is empty).
SESSION_STATE_CONFTEST_ALONE = SESSION_STATE_CONFTEST.replace('__import__("test_state").SEEN', "[]")

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


def collector_state() -> tuple[object, ...]:
    """This process's collector, and tracemalloc: what an in-process inner session must leave as it found it."""
    return (
        gc.isenabled(),
        gc.get_debug(),
        gc.get_threshold(),
        list(gc.callbacks),
        len(gc.garbage),
        # Not on 3.12: its collector moves the immortal objects it meets into
        # the permanent generation (python/cpython#84436), so any collection
        # after a gc.unfreeze() -- the library API's window ends with one --
        # changes the count by a few hundred, with or without gc-guard.
        None if sys.version_info[:2] == (3, 12) else gc.get_freeze_count(),
        tracemalloc.is_tracing(),
    )
