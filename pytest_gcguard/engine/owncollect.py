"""The test's own ``gc.collect()``: what it saved for the window is explained and freed before it returns.

A window saves what its collections find (``DEBUG_SAVEALL``), to explain it
when it closes.  Saved, that garbage is alive: ``gc.get_referrers(target)``
still lists the dropped cycle that held ``target``, ``gc.get_objects()``
lists its members, and ``sys.getrefcount`` counts its references.  A test
that drops a cycle, calls ``gc.collect()`` and checks one of those (AnyIO's
``test_run_sync_worker_cyclic_references``) passed without gc-guard and
failed with it.

The collector cannot free what it saved before its collection returns: our
"stop" callback runs inside the collection, where ``gc.collect()`` returns 0
without collecting (gcstate->collecting: Modules/gcmodule.c up to 3.11,
Python/gc.c from 3.12), and after "stop" the collector returns straight to
its caller.  So while a window is open, ``gc.collect`` is this module's
stand-in: it calls the collector's, then -- when the window saved something
-- the window's ``after`` step explains it (plain findings, merged with the
window's) and frees it, unseen by the test's ``gc.callbacks`` entries; then
it returns the collector's count.  It costs one Python call per
``gc.collect()`` of the test, and the analysis, which the window's close
would have made anyway, only when garbage was saved.

``gc.get_referrers`` and ``gc.get_objects`` do not see the frozen heap
(objects older than the window are in the permanent generation, which
gc_get_referrers_impl and gc_get_objects_impl leave out: Modules/gcmodule.c
up to 3.11, Python/gc.c from 3.12): docs/how-it-works.md, Limits.  They are
left alone.  A Python stand-in that only noted the call changed what they
return: calling a Python function saves the calling coroutine's stack
pointer, so the running coroutine's locals become visible to its
``tp_traverse`` and it is listed as a referrer of them (trio's
``test_ki_protection_doesnt_leave_cyclic_garbage`` failed on it, 3.11).
Unfreezing around them is no cure either: freezing again after the call
would freeze the test's own objects too, hiding them from its window.

One case is told apart: a function that calls ``gc.collect()`` and whose
own code also calls ``gc.get_referrers`` or ``gc.get_objects`` (its
``co_names`` name them) means to look at the whole heap right after --
Hypothesis's ``register_random`` checks that something refers to the
``Random`` it registers, and warns (an error under ``-W error``) when
nothing does; under the frozen heap the module global that holds it is not
seen.  For such a caller the stand-in unfreezes the heap before it
collects, as ``gc.unfreeze()`` in the test would: the call sees what it
would see without gc-guard, older garbage is collected too, and the test is
not judged (``window.UNFROZEN_NOTE``).  A test that calls ``gc.collect()``
and nothing of the kind stays judged.

Only the module attributes are replaced, and only while a window is open: a
``from gc import collect`` made earlier calls the collector directly (its
garbage then stays saved until the window closes, as before).  Finalizers
and weak references' callbacks are not concerned: the collector runs them
before it saves anything (handle_weakrefs and finalize_garbage come before
delete_garbage, whatever the debug flags).
"""

from __future__ import annotations

import functools
import gc
import sys
import threading
import types
from collections.abc import Callable


_previous: Callable[..., int] = gc.collect
_after: Callable[[], None] | None = None
_thread = 0
_busy = False


# What a caller names when it means to see the whole heap after collecting
# (gc.get_referents and gc.is_tracked see through the freeze: not these).
_LOOKS_AT_THE_HEAP = frozenset({"get_referrers", "get_objects"})


@functools.wraps(gc.collect)
def collect(generation: int = 2) -> int:
    global _busy
    if _after is not None and not _busy and _looks_at_the_heap(sys._getframe(1).f_code):
        gc.unfreeze()  # the window then finds its freeze sentinel: not judged
    found = _previous(generation)
    after = _after
    # Only on the test's thread, and not from within the step itself (a
    # repr it runs that collects): another thread's garbage waits for the
    # window's close, as before.
    if after is not None and not _busy and threading.get_ident() == _thread:
        _busy = True
        try:
            after()
        finally:
            _busy = False
    return found


def _looks_at_the_heap(code: types.CodeType) -> bool:
    return not _LOOKS_AT_THE_HEAP.isdisjoint(code.co_names)


def install(after: Callable[[], None]) -> None:
    """Put our stand-ins in place for the window opening on this thread; ``after`` runs after each ``gc.collect()``."""
    global _previous, _after, _thread
    _after, _thread = after, threading.get_ident()
    if gc.collect is not collect:
        _previous = gc.collect
        gc.collect = collect


def uninstall() -> None:
    """Put the gc module's functions back (unless the test replaced ours: then ours only call through)."""
    global _after
    _after = None
    if gc.collect is collect:
        gc.collect = _previous
