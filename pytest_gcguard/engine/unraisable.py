"""A window's ``sys.unraisablehook``: notes what its collections' finalizers raise, and saves lost signals.

Finalizers (``__del__``, a file's close) of the garbage run inside the
collection; what they raise Python hands to ``sys.unraisablehook``.  pytest's
hook turns it into a ``PytestUnraisableExceptionWarning`` -- never an error
for a warning made an error by a filter (``-W error::ResourceWarning``),
because it cannot propagate.  We note those, then pass everything on.

The same hook delivers again what a signal's handler raised on entry to one
of the window's gc callbacks (``signals``), before any of its code ran.
"""

from __future__ import annotations

import sys
import types
from typing import Any
from typing import cast

from pytest_gcguard.engine import callbacks
from pytest_gcguard.engine.callbacks import ON_GC_CODES
from pytest_gcguard.engine.callbacks import GcCallbacks
from pytest_gcguard.engine.callbacks import is_our_callback
from pytest_gcguard.engine.introspect import describe_error
from pytest_gcguard.engine.saving import SavedGarbage
from pytest_gcguard.engine.signals import redeliver
from pytest_gcguard.engine.signals import signal_of


class UnraisableHook:
    """Stands in front of the current ``sys.unraisablehook`` while a window is open."""

    def __init__(self, entries: GcCallbacks, saves: SavedGarbage) -> None:
        self._entries = entries
        self._saves = saves
        self._before: Any = None
        # Our sys.unraisablehook while the window is open: one bound method,
        # compared by identity below.  Held only then: held always, it would
        # make every window a reference cycle (self -> bound method -> self),
        # garbage for an enclosing window when a library call's window is dropped.
        self._hook: Any = None

    def install(self) -> None:
        """In front of the hook in place (the caller holds ``callbacks.LOCK``)."""
        self._before = _hook_before_ours(self)
        self._hook = sys.unraisablehook = self._on_unraisable

    def rewatch(self) -> None:
        """Back in front, if something replaced ours (pytest < 8.4, at the start of each test phase)."""
        if sys.unraisablehook is not self._hook:
            with callbacks.LOCK:
                self._before = _hook_before_ours(self)
                sys.unraisablehook = self._hook

    def remove(self) -> None:
        """Put back the unraisable hook that was there before ours, if ours is still the one in place."""
        if sys.unraisablehook is self._hook:
            sys.unraisablehook = self._before
        self._before = self._hook = None

    def _on_unraisable(self, unraisable: Any) -> None:
        exc = getattr(unraisable, "exc_value", None)
        entries = self._entries
        # By type: isinstance() asks exc.__class__, which may raise, and then
        # the exception would never reach the hook after us (pytest's).
        signalled = issubclass(type(exc), BaseException) and _raised_by_our_callback(
            unraisable, cast(BaseException, exc), entries
        )
        signum = signal_of(cast(BaseException, exc)) if signalled else None
        if signum is not None:
            # A signal handler raised on entry to one of our entries, so none
            # of it ran: finish the collection's bookkeeping now
            # (GcCallbacks.interrupted), then deliver the handler's exception again.
            with callbacks.LOCK:
                entries.interrupted(cast(BaseException, exc))
            redeliver(cast(BaseException, exc))
            return
        # Only what a collection's finalizers raise is ours to note; the rest
        # of the window (refcounting's finalizers) is pytest's, as without us.
        if entries.in_collection and issubclass(type(exc), Warning):
            # warnings.warn raises only when a filter says "error".
            self._saves.warnings.append(describe_error(cast(BaseException, exc))[:500])
        del exc
        forward = self._before if self._before is not None else sys.__unraisablehook__
        forward(unraisable)


def _raised_by_our_callback(unraisable: Any, exc: BaseException, entries: GcCallbacks) -> bool:
    """Whether what reached sys.unraisablehook came out of one of ``entries``' gc callbacks.

    CPython up to 3.13 passes the callback as ``unraisable.object``; 3.14
    passes None (PyErr_FormatUnraisable, the callback's repr in ``err_msg``:
    python/cpython#129354, and #134732 which keeps it so), so there the
    callback is told by the traceback's outermost frame.
    """
    obj = getattr(unraisable, "object", None)
    if obj is not None:
        return is_our_callback(obj, entries)
    tb = exc.__traceback__
    if tb is None or tb.tb_frame.f_code not in ON_GC_CODES:
        return False
    return tb.tb_frame.f_locals.get("self") is entries


def _hook_before_ours(hook: UnraisableHook) -> Any:
    """The unraisable hook ours passes on to: the current one -- unless that is
    an earlier hook of this same window (left behind by someone who saved and
    put it back), which would pass everything back to us, for ever."""
    current = sys.unraisablehook
    if type(current) is types.MethodType and current.__self__ is hook:
        return None  # (None: the interpreter's own hook)
    return current
