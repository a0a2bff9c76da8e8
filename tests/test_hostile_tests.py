"""Hostile tests: tests that fight the collector, threads, processes and the session (issue 7).

Each inner suite runs under --gc-guard with STATE_CHECKING_CONFTEST, which
checks after every test that the collector's state is as without the plugin;
tests that change the state on purpose put it back themselves (what a test
that leaves it changed sees is tests/test_gc_state.py's subject).
"""

from __future__ import annotations

import pytest

from tests.inner import run_state_checked


HOSTILE_TESTS = """
import asyncio
import gc
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import pytest


class Ring:
    def __init__(self):
        self.me = self


class Yields:
    def __del__(self):
        time.sleep(0)  # lets the other thread run in the middle of a collection


def churn(rounds, stop=None):
    # Garbage of every sort from another thread, and collections that run
    # our callback there, with finalizers that switch threads mid-collection.
    # The cycles are test-local (through closures of this module): a test
    # that happens to run meanwhile does not fail.
    done = 0
    while (stop is None and done < rounds) or (stop is not None and not stop.is_set()):
        def walk(n):
            return walk(n - 1) if n else 0
        walk(3)
        yields = Yields()
        def keep():
            return yields
        yields.keep = keep
        del yields, keep
        [[] for _ in range(50)]
        if done % 10 == 0:
            gc.collect()
        done += 1
    return done


def exit_with(code):
    gc.collect()
    sys.exit(code)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    process = multiprocessing.get_context(method).Process(target=exit_with, args=(7,))
    process.start()
    process.join()
    assert process.exitcode == 7


def test_subprocess():
    out = subprocess.run([sys.executable, "-c", "print('child')"], capture_output=True, text=True, check=True)
    assert out.stdout == "child\\n"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")
def test_os_fork():
    pid = os.fork()
    if pid == 0:
        try:
            Ring()
            gc.collect()
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")
def test_os_fork_while_another_thread_is_in_our_callback():
    # The plugin's lock, held by another thread at the fork (as while a
    # collection there runs our callback): the child's collections must not
    # wait for a thread that does not exist in it.
    from pytest_gcguard.engine import callbacks

    held = threading.Event()

    def hold():
        with callbacks.LOCK:
            held.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    pid = os.fork()
    if pid == 0:
        try:
            Ring()
            gc.collect()
        finally:
            os._exit(4)
    for _ in range(200):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in a collection")
    holder.join()
    assert os.WEXITSTATUS(status) == 4


def test_asyncio():
    async def fails():
        raise ValueError("boom")

    async def main():
        results = await asyncio.gather(asyncio.sleep(0, "slept"), fails(), return_exceptions=True)
        return [type(r).__name__ for r in results]

    assert asyncio.run(main()) == ["str", "ValueError"]


class CollectsInDel:
    def __del__(self):
        gc.collect()


@pytest.mark.allow_cycles(reason="a finalizer that collects, in a cycle on purpose")
def test_collect_inside_del():
    CollectsInDel()  # freed by refcounting: its __del__ collects during the test
    ring = CollectsInDel()
    ring.me = ring  # its __del__ runs inside the window's collection


@pytest.mark.allow_cycles(reason="cycles on purpose, with a collection per allocation")
def test_threshold_one():
    before = gc.get_threshold()
    gc.set_threshold(1)
    try:
        for i in range(5_000):
            if i % 50 == 0:
                Ring()
            [i]
    finally:
        gc.set_threshold(*before)


class Blocker:
    def __init__(self):
        self.me = self

    def __del__(self):
        BLOCKED.set()
        RELEASE.wait(10)


BLOCKED = threading.Event()
RELEASE = threading.Event()
BLOCKING = []


def blocked_collection():
    Blocker()
    gc.collect()


def test_a_collection_on_another_thread_outlasts_the_window():
    # The thread's collection is still running (in a finalizer) when this
    # test's window closes; it ends only in the next test.
    if not BLOCKING:  # not again on a re-run
        BLOCKING.append(threading.Thread(target=blocked_collection))
        BLOCKING[0].start()
        assert BLOCKED.wait(10)


def test_the_collection_ends():
    RELEASE.set()
    BLOCKING[0].join()


def test_threads_make_garbage_concurrently():
    threads = [threading.Thread(target=churn, args=(300,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    churn(100)
    for thread in threads:
        thread.join()


STOP = threading.Event()
LINGERING = []


@pytest.mark.allow_leaks(reason="each run starts a thread that runs on until test_stop_the_thread")
def test_thread_outlives_the_test():
    thread = threading.Thread(target=churn, args=(0, STOP), daemon=True)
    thread.start()
    LINGERING.append(thread)


@pytest.mark.allow_cycles(reason="a cycle while the other thread collects")
def test_while_the_thread_runs():
    for _ in range(20):
        Ring()
        gc.collect()


def test_stop_the_thread():
    STOP.set()
    for thread in LINGERING:
        thread.join()
"""


# A gc.callbacks entry whose == raises, there for the whole module (so also
# when the window closes): the plugin must find its own entry without ==.
HOSTILE_CALLBACK = """
import gc
import pytest

class Unequal:
    def __call__(self, phase, info):
        pass

    def __eq__(self, other):
        raise RuntimeError("no eq")

    __hash__ = object.__hash__


@pytest.fixture(scope="module", autouse=True)
def unequal_callback():
    callback = Unequal()
    gc.callbacks.insert(0, callback)
    yield
    gc.callbacks[:] = [c for c in gc.callbacks if c is not callback]


class Ring:
    def __init__(self):
        self.me = self


@pytest.mark.allow_cycles(reason="a cycle for the window to find")
def test_with_a_hostile_callback():
    Ring()
    gc.collect()
"""


def test_hostile_tests_keep_their_outcomes_and_the_gc_state(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processes, fork, asyncio, finalizers that collect, threshold 1, threads, a raising gc callback."""
    pytester.makepyfile(test_hostile=HOSTILE_TESTS, test_hostile_callback=HOSTILE_CALLBACK)
    result, _ = run_state_checked(pytester, monkeypatch, "-rs", "-W", "ignore::DeprecationWarning")
    outcomes = result.parseoutcomes()
    # Everything passes; start methods or fork missing on this platform are skipped.
    assert outcomes.get("passed", 0) + outcomes.get("skipped", 0) == 15, result.stdout.str()
    assert "failed" not in outcomes and "errors" not in outcomes and "error" not in outcomes
    result.stdout.no_fnmatch_line("*Exception in thread*")
    assert result.ret == pytest.ExitCode.OK


def test_pytest_exit_in_a_test(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest.exit stops the run with its own exit code; the session end still puts the collector back."""
    pytester.makepyfile(
        test_exit="""
import pytest

class Ring:
    def __init__(self):
        self.me = self

def test_stops_the_run():
    Ring()
    pytest.exit("enough", returncode=3)

def test_never_runs():
    pass
"""
    )
    # The test's window is still open when pytest.exit leaves its protocol
    # (pytest tears it down at session end): only the end state is checked.
    result, _ = run_state_checked(pytester, monkeypatch, each_test=False)
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*Exit: enough*"])
    result.assert_outcomes()
