"""Other test-harness code is harness too: Hypothesis and installed pytest plugins (issue 7, in part).

Hypothesis makes a ConjectureData <-> provider cycle for every example a
@given test runs; those are the harness's cycles, like pytest's own, and
must not fail a clean test.  The code under test's cycles still do.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import signal
import sys
from collections.abc import Callable

import pytest

from tests.inner import NODE_LIB
from tests.inner import SESSION_STATE_CONFTEST_ALONE
from tests.inner import assert_cycle
from tests.inner import inner_plugins
from tests.inner import summary_of


LIB = NODE_LIB

GIVEN = """
from hypothesis import given, settings, strategies as st
import lib


@settings(max_examples=50, database=None)
@given(st.integers())
def test_clean(x):
    assert isinstance(x, int)


@settings(max_examples=50, database=None)
@given(st.integers())
def test_makes_rings(x):
    lib.ring()
"""


def test_hypothesis_own_cycles_do_not_fail_a_clean_given_test(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("hypothesis")
    inner_plugins(monkeypatch, "hypothesispytest")
    pytester.makepyfile(lib=LIB, test_given=GIVEN)
    result = guarded("-rA")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_makes_rings*",
            "gc-guard: test created 50 reference cycles (100 objects) that only the cycle collector can free",
        ]
    )
    assert "ERROR test_given.py::test_makes_rings" in result.stdout.str()
    assert "ConjectureData" not in result.stdout.str()
    assert_cycle(result.stdout.str(), ["Node('a')", "Node('b')"], [".other", ".other"])


def _needs(distribution: str) -> None:
    """Skip unless the plugin is installed (by its metadata: our own session may block its import)."""
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed")


def _short_summary(result: pytest.RunResult) -> set[str]:
    """``OUTCOME node-id`` of every test in pytest's short summary (-rA)."""
    words = ("PASSED ", "FAILED ", "ERROR ", "SKIPPED ", "XFAIL ", "XPASS ")
    return {" ".join(line.split()[:2]) for line in result.stdout.lines if line.startswith(words)}


def _gc_guard_summary(result: pytest.RunResult) -> list[str]:
    """The gc-guard summary's lines; the test ids under a shape as a sorted set, or a count when cut.

    (They are listed in the order the tests ran, the first three only.)
    """
    lines = summary_of(result).split("short test summary info", 1)[0].splitlines()
    normal = []
    for line in lines[1:-1]:
        if line.startswith("      ") and "::" in line:
            ids = line.strip().split(", ")
            more = ids[-1].startswith("... and ")
            line = f"      {len(ids) - 1 + int(ids[-1].split()[2])} tests" if more else ", ".join(sorted(ids))
        normal.append(line)
    return normal


# -- pytest-randomly ----------------------------------------------------------

SHUFFLED = """
import random

import pytest

import lib


@pytest.mark.parametrize("n", range(4))
def test_clean(n):
    # pytest-randomly reseeds `random` before every test.
    assert 0 <= random.random() < 1
    assert len({random.randint(0, 9) for _ in range(5)}) >= 1


@pytest.mark.parametrize("n", range(4))
def test_ring(n):
    lib.ring()


def test_fails():
    assert random.random() < 0
"""


SHUFFLINGS = {"seed-1234": ("--randomly-seed=1234",), "seed-4321": ("--randomly-seed=4321",)}
XDIST_SHUFFLING = {"xdist": ("-n", "2", "--randomly-seed=1234")}


def test_randomly_shuffled_runs_fail_the_same_tests_with_the_same_findings(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shuffled (and reseeded) runs give every test the outcome and the findings of the run in file order.

    Two seeds, and one under pytest-xdist, each against the one run in file order.
    """
    _needs("pytest-randomly")
    shufflings = {**SHUFFLINGS, **(XDIST_SHUFFLING if importlib.util.find_spec("xdist") else {})}
    pytester.makepyfile(lib=LIB, test_shuffled=SHUFFLED)
    common = ("--gc-guard", "-p", "no:cacheprovider", "-rA", "-v")
    in_order = pytester.runpytest_subprocess(*common, "-p", "no:xdist")
    in_order.assert_outcomes(passed=8, failed=1, errors=4)
    assert _gc_guard_summary(in_order)[:3] == [
        "4 tests created reference cycles: 1 shape, 4 findings (4 failed)",
        "lib — 4 tests, 1 shape",
        "  [4 tests] Node('a') --.other--> Node('b') --.other--> Node('a')",
    ]
    inner_plugins(monkeypatch, "randomly", "xdist")  # (the runs without -n say -p no:xdist themselves)
    for name, args in shufflings.items():
        shuffled = pytester.runpytest_subprocess(*common, *args, *(() if "-n" in args else ("-p", "no:xdist")))
        shuffled.assert_outcomes(passed=8, failed=1, errors=4)
        assert f"Using {args[-1]}" in shuffled.stdout.str(), name
        assert "INTERNALERROR" not in shuffled.stdout.str() + shuffled.stderr.str(), name
        assert _short_summary(shuffled) == _short_summary(in_order), name
        # (Under xdist each worker re-runs its first ring test, to tell a one-time cycle: "re-ran 2 tests".)
        assert _gc_guard_summary(shuffled)[:-1] == _gc_guard_summary(in_order)[:-1], name
        if "-n" not in args:  # (workers report in their own order anyway)
            ran = [line.split(" ")[0] for line in shuffled.stdout.lines if line.startswith("test_shuffled.py::")]
            order = [line.split(" ")[0] for line in in_order.stdout.lines]
            assert ran != sorted(ran, key=order.index), f"{name}: not shuffled"


# -- pytest-rerunfailures -----------------------------------------------------

FLAKY = """
import pytest

import lib

ATTEMPTS = {}
KEPT = []


def first_attempt(name):
    ATTEMPTS[name] = ATTEMPTS.get(name, 0) + 1
    return ATTEMPTS[name] == 1


@pytest.mark.flaky(reruns=1)
def test_flaky_clean():
    assert not first_attempt("clean")


@pytest.mark.flaky(reruns=1)
def test_flaky_ring():
    lib.ring()
    assert not first_attempt("ring")


@pytest.mark.flaky(reruns=1)
def test_ring_only_when_failing():
    if first_attempt("failing ring"):
        lib.ring()
        assert False


@pytest.mark.flaky(reruns=1)
def test_keeps_only_when_failing():
    if first_attempt("keeps"):
        KEPT.append(lib.Node("kept"))
        assert False


@pytest.mark.flaky(reruns=1)
def test_always_ring():
    lib.ring()


def test_after():
    pass
"""


def test_rerunfailures_judges_the_attempt_whose_outcome_stands_and_reports_it_once(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt is a run of its own: a failed attempt is not judged, the last one is, once.

    What a failed attempt left (a cycle, an object kept) is not the next
    attempt's, and never a leak; a flaky test that makes a cycle on every
    attempt fails on it once it passes.  A gc-guard failure is a teardown
    failure, which pytest-rerunfailures reruns like any other.
    """
    _needs("pytest-rerunfailures")
    inner_plugins(monkeypatch, "rerunfailures")
    pytester.makepyfile(lib=LIB, test_flaky=FLAKY)
    result = guarded("-rA")
    # test_always_ring's first attempt passes its call, then fails on gc-guard: both are logged.
    assert result.parseoutcomes() == {"passed": 7, "errors": 2, "rerun": 5}
    short = _short_summary(result)
    assert {line for line in short if not line.startswith("PASSED")} == {
        "ERROR test_flaky.py::test_flaky_ring",
        "ERROR test_flaky.py::test_always_ring",
    }
    summary = _gc_guard_summary(result)
    assert summary[:5] == [
        "2 tests created reference cycles: 1 shape, 2 findings (2 failed)",
        "lib — 2 tests, 1 shape",
        "  [2 tests] Node('a') --.other--> Node('b') --.other--> Node('a')",
        "      made by the project (lib)",
        "test_flaky.py::test_always_ring, test_flaky.py::test_flaky_ring",
    ]
    # Each judged attempt re-runs once (what one test showed is not remembered for the next).
    assert summary[5].startswith("re-ran 2 tests (2 runs, ") and len(summary) == 6
    assert summary[5].endswith(" s) to confirm leaks and tell one-time cycles")  # (Node has a class: no tracing)
    assert "leaked objects" not in result.stdout.str()


# -- subtests ------------------------------------------------------------------

SUBTESTS = """
import unittest

import lib

RUNS = []


class TestRings(unittest.TestCase):
    def test_rings(self):
        RUNS.append(1)
        for i in range(3):
            with self.subTest(i=i):
                lib.ring()
                assert len(RUNS) == 1 or i != 2, "fails in the re-run only"
"""


def test_a_re_runs_subtests_are_not_logged_and_a_failed_one_is_not_the_sessions(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """unittest's subTest logs each subtest's report itself (pytest 9): a re-run's stay the re-run's.

    Logged, they doubled the session's "subtests passed" (pyparsing's suite),
    and a subtest failing in the re-run only failed the session.  The
    re-run's failure makes its findings unconfirmed, as a failed re-run's.
    """
    pytester.makepyfile(lib=LIB, test_sub=SUBTESTS)
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")  # (-q: pytest 9 counts passed subtests)
    plain.assert_outcomes(passed=1)
    result = guarded("--gc-guard-mode=warn", "-q")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, warnings=1)
    counted = [re.findall(r"(\d+ (?:subtests )?(?:passed|failed))", run.outlines[-1]) for run in (plain, result)]
    assert counted[0] == counted[1]  # pytest 9: ["1 passed", "3 subtests passed"]; pytest 8: ["1 passed"]
    note = "whether its cycles recur could not be told: the re-run failed in call"
    assert f"test_sub.py::TestRings::test_rings: {note}" in result.outlines


FAILS_IN_RERUN = """
import lib

RUNS = []


def test_ring():
    RUNS.append(1)
    lib.ring()
    assert len(RUNS) == 1, "fails in the re-run only"
"""

INTERACT_CONFTEST = """
def pytest_exception_interact(node, call, report):
    with open("interact.log", "a") as log:
        log.write(node.nodeid + "\\n")
"""


def test_a_re_run_s_failure_is_no_exception_to_interact_with(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """pytest's runner calls pytest_exception_interact for a failed phase even with log=False: not for a re-run.

    With --pdb, the debugger stopped in a failure that no report shows.
    """
    pytester.makepyfile(lib=LIB, test_rerun=FAILS_IN_RERUN)
    pytester.makeconftest(INTERACT_CONFTEST)
    result = guarded("--gc-guard-mode=warn")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*whether its cycles recur could not be told: the re-run failed in call*"])
    assert not (pytester.path / "interact.log").exists()


# -- pytest-timeout -----------------------------------------------------------

TIMEOUTS = """
import gc
import time

import pytest

import lib

THRESHOLD = gc.get_threshold()


def collector_as_before():
    assert gc.isenabled() and gc.get_debug() == 0 and gc.get_threshold() == THRESHOLD
    assert gc.garbage == []


@pytest.fixture
def slow_teardown():
    yield
    time.sleep(30)


@pytest.mark.timeout(0.5)
def test_hangs():
    lib.ring()
    time.sleep(30)


def test_after_the_timeout():
    collector_as_before()


def test_ring():
    lib.ring()


@pytest.mark.timeout(0.5)
def test_hangs_in_a_fixture_teardown(slow_teardown):
    lib.ring()


def test_last():
    collector_as_before()
"""


def test_timeout_signal_keeps_the_timeout_failure_and_the_next_test_is_judged_normally(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest-timeout's signal method fails the test (in its call or a fixture's teardown) and the run goes on."""
    _needs("pytest-timeout")
    if not hasattr(signal, "SIGALRM"):
        pytest.skip("the signal method needs SIGALRM")
    inner_plugins(monkeypatch, "timeout")
    pytester.makeconftest(SESSION_STATE_CONFTEST_ALONE)
    pytester.makepyfile(lib=LIB, test_timeouts=TIMEOUTS)
    path = pytester.path / "state.json"
    monkeypatch.setenv("GCGUARD_OBSERVATIONS", str(path))
    result = guarded("-rA", "--timeout-method=signal")
    result.assert_outcomes(passed=4, failed=1, errors=2)
    assert {line for line in _short_summary(result) if not line.startswith("PASSED")} == {
        "FAILED test_timeouts.py::test_hangs",
        "ERROR test_timeouts.py::test_ring",
        "ERROR test_timeouts.py::test_hangs_in_a_fixture_teardown",
    }
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_ring*", "gc-guard: test created 1 reference cycle (2 objects)*"]
    )
    assert "FAILED test_timeouts.py::test_hangs - Failed: Timeout" in output
    assert "ERROR test_timeouts.py::test_hangs_in_a_fixture_teardown - Failed: Timeout" in output
    # The timed-out tests' rings are counted, not judged: they failed already.
    assert "3 tests created reference cycles: 1 shape, 3 findings (1 failed, 2 not-judged)" in output
    assert "INTERNALERROR" not in output + result.stderr.str()
    state = json.loads(path.read_text())
    assert state["final"][:4] == state["at_import"][:4]


HANGS_ALLOCATING = """
import gc

import pytest

import lib


@pytest.mark.parametrize("n", range(6))
@pytest.mark.timeout(0.3)
def test_hangs_making_cycles(n):
    while True:  # collections all the time: the alarm often arrives during one
        lib.ring()


def test_after():
    assert gc.get_debug() == 0 and gc.garbage == []
"""


def test_timeout_signal_arriving_during_a_collection_still_stops_the_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal that arrives during a collection is handled in gc-guard's callback: it is delivered again.

    CPython drops what a gc callback raises; without the redelivery about
    half of these tests would hang for good (the subprocess timeout).
    """
    _needs("pytest-timeout")
    if not hasattr(signal, "SIGALRM"):
        pytest.skip("the signal method needs SIGALRM")
    inner_plugins(monkeypatch, "timeout")
    pytester.makepyfile(lib=LIB, test_hangs=HANGS_ALLOCATING)
    result = pytester.runpytest_subprocess(
        "--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist", "--timeout-method=signal", "-rA", timeout=60
    )
    result.assert_outcomes(passed=1, failed=6)
    assert result.stdout.str().count("Failed: Timeout (>0.3s) from pytest-timeout") >= 6
    assert "Unraisable" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()


ALARM_AT_A_COLLECTION_START = """
import functools
import gc
import signal
import time
from operator import methodcaller

import pytest


class Alarm(Exception):
    pass


CALLS = []


def on_alarm(signum, frame):
    CALLS.append(signum)
    raise Alarm("the test's own alarm")


@pytest.fixture
def resource():
    # A function-scoped fixture: the window opens in the setup phase, and
    # pytest < 8.4 then swaps sys.unraisablehook for the call phase.
    return object()


def collect_right_after_a_long_c_loop():
    # No Python code runs between the loop and the collection: an alarm that
    # came during the loop is handled on entry to the first gc callback, ours.
    list(map(methodcaller("__call__"), [functools.partial(sum, range(10**7)), gc.collect]))


def test_own_alarm_raising_an_exception(resource):
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        with pytest.raises(Alarm):
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            collect_right_after_a_long_c_loop()
            time.sleep(2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert CALLS == [signal.SIGALRM]  # its exception delivered again, not the signal: it ran once


@pytest.mark.timeout(0.01)
def test_pytest_timeout(resource):
    collect_right_after_a_long_c_loop()
    time.sleep(2)
"""


def test_a_signal_handled_on_entry_to_the_collection_start_callback_still_reaches_the_test(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler's exception there goes to sys.unraisablehook: gc-guard's, for the whole window, delivers it again.

    Before, the hook was gc-guard's only from inside that callback on, and
    the alarm was dropped (the timeout test above hung once in 60 runs, on
    pytest 8.0): the first test failed with "DID NOT RAISE", the second
    passed after its sleep.  Later the signal was sent again, and the
    handler ran twice (pytest-timeout's stack dump printed twice or more):
    only its exception is delivered again now (item 20a).
    """
    _needs("pytest-timeout")
    if not hasattr(signal, "SIGALRM"):
        pytest.skip("needs SIGALRM")
    inner_plugins(monkeypatch, "timeout")
    pytester.makepyfile(test_alarm=ALARM_AT_A_COLLECTION_START)
    result = guarded("-rA", "--timeout-method=signal")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "PASSED test_alarm.py::test_own_alarm_raising_an_exception" in output
    assert "FAILED test_alarm.py::test_pytest_timeout - Failed: Timeout" in output
    assert "Unraisable" not in output and "INTERNALERROR" not in output


def test_timeout_thread_ends_the_run_without_an_internal_error(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread method ends the whole process (pytest-timeout's design): the timeout is all it reports."""
    _needs("pytest-timeout")
    inner_plugins(monkeypatch, "timeout")
    pytester.makepyfile(lib=LIB, test_timeouts=TIMEOUTS)
    result = guarded("--timeout-method=thread", "test_timeouts.py::test_hangs")
    assert result.ret == 1
    output = result.stdout.str() + result.stderr.str()
    assert "+++ Timeout +++" in output
    assert "INTERNALERROR" not in output and "gc-guard: test" not in output


# -- pytest-asyncio -----------------------------------------------------------

ASYNC_TESTS = """
import asyncio

import pytest
import pytest_asyncio

import lib


async def consume(queue):
    while True:
        await queue.get()
        queue.task_done()


@pytest_asyncio.fixture
async def queue():
    queue = asyncio.Queue()
    consumer = asyncio.ensure_future(consume(queue))
    yield queue
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)


@pytest.mark.asyncio
async def test_clean():
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_uses_an_async_fixture(queue):
    await queue.put(1)
    await queue.join()


@pytest.mark.asyncio
async def test_gathers_tasks():
    async def one(i):
        await asyncio.sleep(0)
        return i

    assert await asyncio.gather(*(one(i) for i in range(5))) == list(range(5))


@pytest.mark.asyncio
async def test_a_task_raises():
    async def boom():
        raise ValueError("x")

    with pytest.raises(ValueError):
        await asyncio.create_task(boom())


@pytest.mark.asyncio
async def test_ring():
    await asyncio.sleep(0)
    lib.ring()
"""


@pytest.mark.parametrize("mode", ["auto", "strict"])
def test_asyncio_clean_async_tests_pass_and_an_async_tests_cycle_is_reported(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The event loop made and closed for every test, tasks, async fixtures: harness, no finding."""
    _needs("pytest-asyncio")
    inner_plugins(monkeypatch, "asyncio")
    # (asyncio_default_fixture_loop_scope: pytest-asyncio >= 0.24 warns when it is unset; 0.23 ignores it.)
    pytester.makeini(f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(lib=LIB, test_async=ASYNC_TESTS)
    result = guarded("-rA")
    # 3.9's asyncio keeps the awaited task in a local of Task.__wakeup, a frame
    # its exception's traceback reaches: a real standard-library cycle, which
    # fails since issue 14 (3.11+ make none).
    stdlib = "made by the standard library (asyncio.tasks)" in result.stdout.str()
    assert not (stdlib and sys.version_info >= (3, 11))
    result.assert_outcomes(passed=5, errors=1 + stdlib)
    assert {line for line in _short_summary(result) if not line.startswith("PASSED")} == {
        "ERROR test_async.py::test_ring",
        *(["ERROR test_async.py::test_a_task_raises"] if stdlib else []),
    }
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_ring*", "gc-guard: test created 1 reference cycle*"])
    assert_cycle(result.stdout.str(), ["Node('a')", "Node('b')"], [".other", ".other"])
    if not stdlib:
        assert "1 test created reference cycles: 1 shape, 1 finding (1 failed)" in result.stdout.str()


# -- --lf and --sw (the cache provider) ---------------------------------------

LAST_FAILED = """
import lib


def test_passes():
    pass


def test_ring():
    lib.ring()


def test_fails():
    assert False


def test_passes_too():
    pass
"""


def _with_cache(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--gc-guard", "-p", "no:xdist", "-rA", *args)


def test_last_failed_reruns_the_failed_tests_and_reports_the_same_findings(pytester: pytest.Pytester) -> None:
    """A gc-guard failure is a failure to --lf: both failed tests run again, with the same report."""
    pytester.makepyfile(lib=LIB, test_lf=LAST_FAILED)
    first = _with_cache(pytester)
    first.assert_outcomes(passed=3, failed=1, errors=1)
    again = _with_cache(pytester, "--lf")
    again.assert_outcomes(passed=1, failed=1, errors=1)
    assert _short_summary(again) == {
        "PASSED test_lf.py::test_ring",
        "ERROR test_lf.py::test_ring",
        "FAILED test_lf.py::test_fails",
    }
    assert _gc_guard_summary(again)[:3] == _gc_guard_summary(first)[:3]
    assert "  [1 test] Node('a') --.other--> Node('b') --.other--> Node('a')" in _gc_guard_summary(again)


def test_stepwise_stops_at_a_gc_guard_failure_and_resumes_from_it(pytester: pytest.Pytester) -> None:
    """--sw stops at the gc-guard failure, starts there next time, and goes on once the cycle is fixed."""
    pytester.makepyfile(lib=LIB, test_sw=LAST_FAILED)
    first = _with_cache(pytester, "--sw")
    first.assert_outcomes(passed=2, errors=1)
    assert "ERROR test_sw.py::test_ring" in _short_summary(first)
    again = _with_cache(pytester, "--sw")
    again.assert_outcomes(passed=1, errors=1)
    assert _short_summary(again) == {"PASSED test_sw.py::test_ring", "ERROR test_sw.py::test_ring"}
    assert _gc_guard_summary(again) == _gc_guard_summary(first)
    pytester.makepyfile(test_sw=LAST_FAILED.replace("    lib.ring()", "    pass"))
    fixed = _with_cache(pytester, "--sw")
    fixed.assert_outcomes(passed=1, failed=1)
    assert _short_summary(fixed) == {"PASSED test_sw.py::test_ring", "FAILED test_sw.py::test_fails"}
