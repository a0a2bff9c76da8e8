"""Threads a test started that still run when its window closes: waited for, a little, before the last collection.

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


# Seconds a window waits, in all, for the threads its test started to end.
STRAGGLER_WAIT = 0.5


def running_threads() -> frozenset[int] | None:
    """The idents of the threads running now; None when only this one runs (the usual case, and a cheap one)."""
    if threading.active_count() <= 1:
        return None
    return frozenset(thread.ident for thread in threading.enumerate() if thread.ident is not None)


def wait_for_started(before: frozenset[int] | None, budget: float = STRAGGLER_WAIT) -> int:
    """Join the threads started since ``before`` (``running_threads``) for at most ``budget`` seconds in all.

    Returns how many of them still run.
    """
    if threading.active_count() <= 1:
        return 0
    current = threading.current_thread()
    started = [
        thread
        for thread in threading.enumerate()
        if thread is not current and (before is None or thread.ident not in before)
    ]
    deadline = time.monotonic() + budget
    still = 0
    for thread in started:
        left = deadline - time.monotonic()
        if left > 0:
            thread.join(left)
        if thread.is_alive():
            still += 1
    return still
