"""The window waits a little for the threads its test started (engine/threads.py)."""

from __future__ import annotations

import threading
import time

from pytest_gcguard.engine.threads import running_threads
from pytest_gcguard.engine.threads import thread_id
from pytest_gcguard.engine.threads import wait_for_started


def test_a_thread_started_since_is_joined_and_one_that_ends_too_late_is_counted() -> None:
    before = running_threads()
    release = threading.Event()
    quick = threading.Thread(target=time.sleep, args=(0.05,))
    slow = threading.Thread(target=release.wait, daemon=True)
    quick.start()
    slow.start()
    try:
        assert wait_for_started(before, budget=0.3) == 1  # the quick one ended in time; the slow one still runs
        assert not quick.is_alive()
    finally:
        release.set()
        slow.join()


def test_threads_running_before_are_not_waited_for() -> None:
    release = threading.Event()
    older = threading.Thread(target=release.wait, daemon=True)
    older.start()
    try:
        before = running_threads()
        assert before is not None and thread_id(older) in before
        start = time.monotonic()
        assert wait_for_started(before, budget=5) == 0
        assert time.monotonic() - start < 1
    finally:
        release.set()
        older.join()


def test_the_usual_single_thread_makes_no_set_of_idents() -> None:
    """With the main thread alone only a count is read; with more, the set names every running thread."""
    idents = running_threads()
    if threading.active_count() == 1:
        assert idents is None
    else:
        assert idents is not None
        assert set(idents) == {thread_id(thread) for thread in threading.enumerate()}
