"""End to end: which cycles fail a test, and how they are printed (issue 2, acceptance 1-3, 5)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from tests.inner import GRAPH
from tests.inner import GRAPH_CLASS
from tests.inner import assert_cycle
from tests.inner import teardown_sections


def test_the_seed_graph_cycle_fails_with_its_labelled_path(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Three Graph nodes linked one -> two -> three -> one fail, printed in cycle order."""
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        test_graph=GRAPH
        + """
def test_cycle():
    one, two, three = Graph("one"), Graph("two"), Graph("three")
    one.set_next(two)
    two.set_next(three)
    three.set_next(one)
""",
    )
    result = guarded()
    result.assert_outcomes(passed=1, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_cycle*",
            "gc-guard: test created 1 reference cycle (3 objects) that only the cycle collector can free",
            '*to exempt: @pytest.mark.allow_cycles(reason="...")',
        ]
    )
    assert_cycle(output, ["Graph('one')", "Graph('two')", "Graph('three')"], [".next", ".next", ".next"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


LIB = """
class Node:
    def __init__(self):
        self.me = self


class Parent:
    def __init__(self):
        self.child = Child(self)


class Child:
    def __init__(self, parent):
        self.parent = parent


def make_recursive():
    def walk(n):
        return walk(n - 1) if n else 0
    return walk


class Holder:
    def __init__(self):
        self.callback = self.handle

    def handle(self):
        pass


class Client:
    def call(self):
        try:
            raise ValueError("boom")
        except ValueError as e:
            self.error = e
"""


# Classic cycles made in an imported module: each inner test's body, and its cycle's labels and edges.
CLASSIC_CYCLES = {
    "test_self_cycle": ("lib.Node()", ["Node"], [".me"]),
    "test_parent_child": ("lib.Parent()", ["Parent", "Child"], [".child", ".parent"]),
    "test_closure_capturing_itself": (
        "lib.make_recursive()",
        ["function make_recursive.<locals>.walk (lib.py:*)", "tuple (len=1)", "cell"],
        [".__closure__", "[0]", ".cell_contents"],
    ),
    "test_bound_method": ("lib.Holder()", ["Holder", "bound method Holder.handle"], [".callback", ".__self__"]),
    "test_stored_exception": (
        "lib.Client().call()",
        ["Client", "ValueError('boom')", "traceback", "frame *call (lib.py:*)"],
        [".error", ".__traceback__", ".tb_frame", "local 'self'"],
    ),
}


def test_cycles_made_by_library_code_fail_with_the_labelled_path(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Each classic cycle made in an imported module fails its test, every edge labelled.

    And hangers-on are summarised, not listed: a stored exception drags
    frames along, and they are counted in one line.  (One inner session, one
    test per cycle: each test's teardown section is read on its own.)
    """
    tests = "".join(f"\ndef {name}():\n    {body}\n" for name, (body, _, _) in CLASSIC_CYCLES.items())
    pytester.makepyfile(lib=LIB, test_it="import lib\n" + tests)
    result = guarded()
    result.assert_outcomes(passed=len(CLASSIC_CYCLES), errors=len(CLASSIC_CYCLES))
    sections = teardown_sections(result.stdout.str())
    assert sorted(sections) == sorted(CLASSIC_CYCLES)
    for name, (_, labels, edges) in CLASSIC_CYCLES.items():
        assert_cycle(sections[name], labels, edges)
    hangers_on = r"^\s+\+\d+ objects? kept alive by this cycle, incl\. .*\d+ frames?"
    assert re.search(hangers_on, sections["test_stored_exception"], re.MULTILINE), sections["test_stored_exception"]


CONFIG_LIB = """
class Config(dict):
    \"\"\"An attribute-access dict whose sections know their parent.\"\"\"

    def section(self, name, **values):
        child = Config(values)
        child._parent = self
        self[name] = child
        return child


class AttrDict(dict):
    def __init__(self, **values):
        super().__init__(values)
        self.__dict__ = self
"""


def test_a_builtin_subclass_is_named_by_its_class_and_its_attributes_read_as_attributes(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A dict subclass in a cycle prints as Config({...}), never as a bare dict, and its
    instance __dict__ hop reads ._parent on every version (3.9/3.10 too, where the
    __dict__ is a separate object in the cycle, and on 3.11+, where a dict subclass has no inline values)."""
    pytester.makepyfile(
        lib=CONFIG_LIB,
        test_config="""
import lib

def test_back_link():
    lib.Config(server={"host": "h"}).section("db", port=1)

def test_self_dict():
    lib.AttrDict(x=1)
""",
    )
    result = guarded()
    result.assert_outcomes(passed=2, errors=2)
    sections = teardown_sections(result.stdout.str())
    assert_cycle(sections["test_back_link"], ["Config({'server': *})", "Config({'port': 1})"], ["['db']", "._parent"])
    assert_cycle(sections["test_self_dict"], ["AttrDict({'x': 1})"], [".__dict__"])
    assert "<attribute>" not in result.stdout.str()


def test_the_tests_own_cycles_pass_and_show_as_test_local_with_v(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """pytest.raises ... as excinfo, a class defined in a test and a recursive closure are the test's own."""
    pytester.makepyfile(
        test_local="""
import pytest

def test_raises():
    with pytest.raises(ValueError) as excinfo:
        int("x")
    assert excinfo.type is ValueError

def test_class_in_test():
    class Local:
        pass
    assert Local

def test_recursive_closure():
    def countdown(n):
        return countdown(n - 1) if n else 0
    assert countdown(3) == 0
"""
    )
    quiet = guarded()
    quiet.assert_outcomes(passed=3)
    assert quiet.ret == pytest.ExitCode.OK
    quiet.stdout.fnmatch_lines(["*3 tests with test-local cycles*; -v lists them"])
    verbose = guarded("-v")
    verbose.assert_outcomes(passed=3)
    text = verbose.stdout.str()
    for nodeid in (
        "test_local.py::test_raises",
        "test_local.py::test_class_in_test",
        "test_local.py::test_recursive_closure",
    ):
        assert nodeid in text.split("gc-guard summary", 1)[1]
    assert_cycle(
        text,
        ["function test_recursive_closure.<locals>.countdown (test_local.py:*)", "tuple (len=1)", "cell"],
        [".__closure__", "[0]", ".cell_contents"],
    )


def test_a_failing_test_shows_only_its_own_failure(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """pytest's failure machinery leaves garbage; it never adds a gc-guard error."""
    pytester.makepyfile(
        test_fails="""
import pytest

def test_fails():
    assert 1 == 2

def test_skips():
    pytest.skip("not today")

@pytest.mark.xfail(strict=True)
def test_xfails():
    raise ValueError("expected")
"""
    )
    result = guarded()
    result.assert_outcomes(failed=1, skipped=1, xfailed=1)
    result.stdout.no_fnmatch_line("*gc-guard: test created*")
    result.stdout.no_fnmatch_line("*ERROR at teardown*")


def test_without_the_flag_a_cyclic_test_passes_and_nothing_is_added(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    """The plugin is off by default: no header, no summary, no error."""
    pytester.makepyfile(
        graph=GRAPH_CLASS, test_graph=GRAPH + "\ndef test_cycle():\n    g = Graph('a')\n    g.set_next(g)\n"
    )
    result = inprocess()
    result.assert_outcomes(passed=1)
    assert "gc-guard" not in result.stdout.str()
    assert "gc-guard" not in result.stderr.str()


def test_a_function_scoped_fixture_cycle_counts_for_its_test(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Fixtures are part of the test: a cyclic value the fixture made fails the test that used it."""
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        test_fixture=GRAPH
        + """
import pytest

@pytest.fixture
def ring():
    g = Graph("fixture")
    g.set_next(g)
    yield g

def test_uses_ring(ring):
    assert ring.next is ring

def test_clean_after():
    pass
""",
    )
    result = guarded()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_uses_ring*"])
    assert_cycle(result.stdout.str(), ["Graph('fixture')"], [".next"])


def test_module_scoped_fixtures_are_not_blamed_on_a_test(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A module fixture's objects outlive each test; they are not any one test's garbage."""
    pytester.makepyfile(
        graph=GRAPH_CLASS,
        test_module_fixture=GRAPH
        + """
import pytest

@pytest.fixture(scope="module")
def ring():
    g = Graph("module")
    g.set_next(g)
    yield g

def test_one(ring):
    pass

def test_two(ring):
    pass
""",
    )
    result = guarded()
    result.assert_outcomes(passed=2)


def test_clean_everyday_tests_have_no_findings(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Common idioms -- builtin fixtures, unittest, mock, threads, asyncio, parametrize -- never fail the gate."""
    pytester.makepyfile(
        test_clean="""
import asyncio, json, logging, threading, unittest, warnings
from unittest import mock
import pytest

def test_asyncio():
    async def main():
        await asyncio.sleep(0)
        return 1
    assert asyncio.run(main()) == 1

def test_mock():
    m = mock.Mock()
    m.a.b(1)
    with mock.patch("json.dumps") as d:
        json.dumps(1)
    assert d.called

def test_thread():
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()

def test_builtin_fixtures(tmp_path, capsys, caplog, monkeypatch, request):
    (tmp_path / "f").write_text("x")
    print("out")
    logging.getLogger("x").warning("hey")
    monkeypatch.setenv("GCGUARD_X", "1")
    request.addfinalizer(lambda: None)
    assert capsys.readouterr().out == "out\\n"

@pytest.mark.parametrize("n", range(3))
def test_param(n):
    assert n >= 0

def test_warns():
    with pytest.warns(UserWarning):
        warnings.warn("w")

def test_handled_exception():
    try:
        raise KeyError("k")
    except KeyError as e:
        err = e
    assert err

class TestUnit(unittest.TestCase):
    def test_it(self):
        with self.assertRaises(ValueError):
            int("x")
"""
    )
    result = guarded()
    result.assert_outcomes(passed=10)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*created reference cycles*")


def test_items_without_fixtures_are_watched_too(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A plugin's own kind of item (no fixtures at all) runs inside a window like a test function."""
    pytester.makepyfile(graph=GRAPH_CLASS)
    pytester.makeconftest(
        GRAPH
        + """
import pytest

class RingItem(pytest.Item):
    def runtest(self):
        if self.name == "ring":
            one, two = Graph("one"), Graph("two")
            one.set_next(two)
            two.set_next(one)

    def reportinfo(self):
        return self.path, 0, self.name

class RingFile(pytest.File):
    def collect(self):
        for name in self.path.read_text().split():
            yield RingItem.from_parent(self, name=name)

def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".rings":
        return RingFile.from_parent(parent, path=file_path)
"""
    )
    pytester.path.joinpath("suite.rings").write_text("clean ring\n")
    result = guarded()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of ring*"])
    assert_cycle(result.stdout.str(), ["Graph('one')", "Graph('two')"], [".next", ".next"])


KEPT_BY_SAVED_LIB = """
class App:
    def __init__(self):
        self.me = self  # the app's own cycle: garbage once the test's frame is gone


class Ctx:
    pass


def fail_and_keep(ctx):
    try:
        raise ValueError("kept")
    except ValueError as exc:
        ctx.err = exc  # ctx -> exc -> traceback -> this frame -> ctx; the frame's f_back is the caller's


def handle():
    fail_and_keep(Ctx())
"""

KEPT_BY_SAVED_TESTS = """
import lib


def test_app_and_error():
    app = lib.App()
    lib.handle()
    junk = [[] for _ in range(30_000)]  # the collector runs now, while this frame still runs
    del junk
"""


def test_a_cycle_kept_alive_by_garbage_saved_earlier_in_the_test_is_found(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A collection in the middle of the test saves the error's cycle, whose frames lead back to the test's frame.

    Once the test returns, its frame and its locals (the app) are kept
    alive only by that saved garbage: the window's last collection must
    still find the app's cycle, in the first run and in the re-run alike
    (werkzeug's test client and Flask's app: a re-run whose collector ran
    in the middle of the test called the app's cycle one-time).
    """
    pytester.makepyfile(lib=KEPT_BY_SAVED_LIB, test_kept=KEPT_BY_SAVED_TESTS)
    result = guarded("--gc-guard-report=report.json")
    result.assert_outcomes(passed=1, errors=1)
    data = json.loads((pytester.path / "report.json").read_text())
    (test,) = data["tests"]
    statuses = {finding["shape"]: finding["status"] for finding in test["findings"]}
    assert statuses.get("lib.App .me -> (back)") == "failed", statuses


THREAD_LIB = """
import threading
import time


class Job:
    def __init__(self):
        self.me = self  # garbage once the thread that runs it ends


def work_in_background():
    job = Job()

    def run(job=job):
        time.sleep(0.2)  # ends a moment after the test returns

    threading.Thread(target=run).start()
"""

THREAD_TESTS = """
import lib


def test_starts_a_worker():
    lib.work_in_background()


def test_next():
    pass
"""


def test_a_cycle_a_thread_of_the_test_held_a_moment_longer_is_the_test_s(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """The window waits a little for the threads its test started, then collects: the job's cycle is that test's.

    Without the wait, the thread held the job past the window's last
    collection: the test passed (its re-run too), and the cycle landed in
    whichever later window the thread ended in (Starlette's TestClient and
    AnyIO's worker threads: one-time verdicts that came and went with timing).
    """
    pytester.makepyfile(lib=THREAD_LIB, test_thread=THREAD_TESTS)
    result = guarded("--gc-guard-report=report.json")
    result.assert_outcomes(passed=2, errors=1)
    data = json.loads((pytester.path / "report.json").read_text())
    by_test = {test["nodeid"].rsplit("::", 1)[-1]: test for test in data["tests"]}
    assert [(f["shape"], f["status"]) for f in by_test["test_starts_a_worker"]["findings"]] == [
        ("lib.Job .me -> (back)", "failed")
    ]
    assert by_test.get("test_next", {"findings": []})["findings"] == []
