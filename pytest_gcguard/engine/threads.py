"""Threads a test started: told from those already running, and waited for, a little, before the last collection.

A thread holds what its frames refer to until it ends.  One a test started
that ends a moment after the test (AnyIO's worker threads, which leave once
their event loop has closed; a thread pool's worker) holds the test's objects
past the window's last collection in one run and not in the next: their
cycles would be reported, or not, by timing -- and what it drops later lands
in a later test's window.  So the window waits for such threads, for at most
``STRAGGLER_WAIT`` seconds in all; one still running after that is counted,
and a re-run that had one proves no cycle one-time (``rerun.Rerun``).
"""

from __future__ import annotations

import threading
import time
from typing import Optional


# Seconds a window waits, in all, for the threads its test started to end.
STRAGGLER_WAIT = 0.5

# (Optional, not ``int | None``: an alias is evaluated at import, and 3.9 has no ``|`` between types.)
ThreadId = tuple[Optional[int], Optional[int]]


def thread_id(thread: threading.Thread) -> ThreadId:
    """A thread's identity: ident and native id, not the ident alone (pthread reuses a finished thread's ident)."""
    return thread.ident, getattr(thread, "native_id", None)  # (native_id: 3.8+, not on every platform)


def running_threads() -> frozenset[ThreadId] | None:
    """The threads running now (``thread_id``); None when only this one runs (the usual case, and a cheap one)."""
    if threading.active_count() <= 1:
        return None
    return frozenset(thread_id(thread) for thread in threading.enumerate())


def started_since(before: frozenset[ThreadId] | None) -> list[threading.Thread]:
    """The threads running now that were not in ``before`` (``running_threads``), this one and the main one aside."""
    if threading.active_count() <= 1:
        return []
    ours = (threading.current_thread(), threading.main_thread())
    return [
        thread
        for thread in threading.enumerate()
        if thread not in ours and (before is None or thread_id(thread) not in before)
    ]


def wait_for_started(before: frozenset[ThreadId] | None, budget: float = STRAGGLER_WAIT) -> int:
    """Join the threads started since ``before`` for at most ``budget`` seconds in all; how many of them still run."""
    started = started_since(before)
    deadline = time.monotonic() + budget
    still = 0
    for thread in started:
        left = deadline - time.monotonic()
        if left > 0:
            thread.join(left)
        if thread.is_alive():
            still += 1
    return still
