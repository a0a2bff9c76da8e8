"""The per-test collection window: which cyclic garbage became unreachable while a test ran.

The heap stays frozen between tests (``gc.freeze()``): a full collection after
a freeze walks only the objects created since, so a window costs what the
test allocated, not what the heap holds (docs/how-it-works.md; a 2 M-object
heap: ≈10 µs per window instead of ≈600 ms for two full collections).

``DEBUG_SAVEALL`` is switched on only *inside* a collection, by our own
``gc.callbacks`` entry, and what it saves is moved at once from
``gc.garbage`` to a private list.  Tests therefore never see the flag in
``gc.get_debug()`` nor our objects in ``gc.garbage``: both are exactly as
without the plugin -- and so do the other ``gc.callbacks`` entries, and the
finalizers that run during the collection.  Our entry runs first: at "stop"
it takes the saved objects out and resets the flag before any other
callback runs.  At "start" it sets the flag only if no other callback runs
after it; else a second entry of ours, appended for that collection, sets
it once every other callback ran.  One entry cannot do both: the collector
calls the list in order for both phases, and reads the flag between them
(see _on_gc_last).  Our entry is moved, and the second one added, only for
the span of a collection's callbacks: ``gc.callbacks`` is as the test left
it between collections, and costs nothing more while no other callback is
there (the usual).

What a collection saved is told apart from what its finalizers did to
``gc.garbage`` by identity (_batch_start): the collector appends it last,
after every finalizer ran.

A test that removes our entry (``gc.callbacks.clear()``) blinds the
window: if it is gone when the window closes, it is put back for the last
collection, and the test is reported not judged (``unwatched``) rather than
passed.

Windows nest: the library API (``api.py``) opens one inside a test that the
plugin's window is watching.  Only the innermost open window saves what a
collection finds -- each collection's garbage belongs to exactly one window,
and two callbacks setting and resetting ``DEBUG_SAVEALL`` in turn would
undo each other -- and a closing window hands to the one around it what
that one must still know: finalizer warnings, and that the heap was unfrozen.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import types
import weakref
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import cast

from pytest_gcguard.engine.introspect import describe_error
from pytest_gcguard.engine.introspect import signal_handler_on


class GcState:
    """Global collector state that we change, and put back."""

    def __init__(self) -> None:
        self.froze = False

    def restore(self) -> None:
        # gc.unfreeze() releases every frozen object: the public API cannot
        # release ours only.  So objects frozen before the session are
        # released too -- CPython 3.12 itself freezes a few hundred at start
        # (immortal objects its collector met: see GarbageWindow.audit).
        # Leaving the heap frozen would be worse: pytest's own end-of-session
        # collection (unraisable plugin) would not see its garbage.
        if self.froze:
            gc.unfreeze()
        self.froze = False


class _FreezeSentinel(list[object]):
    """A self-cycle left frozen as garbage at each window's start.

    If a collection in the window finds one, the heap was unfrozen during
    the test (by the test itself): garbage from before the window was
    collected too, so what the window found cannot all be the test's.
    (A list that holds itself: made without a call into Python code.)
    """

    __slots__ = ()


# Why a window's findings cannot be judged: the report's note (see WindowResult.not_judged).
UNFROZEN_NOTE = "the test unfroze the heap (gc.unfreeze()): older garbage was collected with its own"


UNWATCHED_NOTE = (
    "the test removed gc-guard's entry from gc.callbacks (or a signal handler interrupted it): "
    "collections ran unwatched, and the cycles they freed were not checked"
)


@dataclass
class WindowResult:
    garbage: list[object] = field(default_factory=list)
    heap_was_unfrozen: bool = False  # older garbage may be mixed in: do not judge
    unsaved: int = 0  # cyclic garbage freed after the cap was reached: counted, not analysed
    # Warnings raised as errors (by the user's warning filters) in finalizers
    # of the window's garbage: "ResourceWarning: unclosed file <...>".
    finalizer_warnings: list[str] = field(default_factory=list)
    # What the collector could not free (objects with a legacy tp_del
    # finalizer, and what they reach): it put them in gc.garbage, where they
    # stay, as without gc-guard.
    uncollectable: list[object] = field(default_factory=list)
    # Collections may have run without our gc.callbacks entry (the test
    # removed it, or a signal handler cut our "start" short):
    # whatever garbage they freed went unseen, so an empty window proves
    # nothing -- do not judge.
    unwatched: bool = False

    @property
    def not_judged(self) -> str | None:
        """The note saying why this window's findings must not be judged, or None when they may be."""
        if self.heap_was_unfrozen:
            return UNFROZEN_NOTE
        if self.unwatched:
            return UNWATCHED_NOTE
        return None


# Windows open now, innermost last.  The collector is one per process, so
# this stack is too: a collection in any thread is seen by the innermost window.
_OPEN: list[GarbageWindow] = []
# Collections no window saves (see discard), when above zero.
_muted = 0


def discard(result: WindowResult) -> None:
    """Drop a closed window's garbage and free it now, without any other window saving it.

    What ``DEBUG_SAVEALL`` saved is still cyclic garbage once dropped: the
    next collection frees it -- and, inside an enclosing window (a library
    call in a test under ``--gc-guard``), would save it again for that
    window, which would then report the inner block's cycles as its own.
    """
    global _muted
    had_garbage = bool(result.garbage)
    result.garbage.clear()
    if not had_garbage:
        return
    _muted += 1
    try:
        gc.collect()
    finally:
        _muted -= 1


# Objects saved per window before saving stops.  DEBUG_SAVEALL keeps what it
# saves alive, and every later collection in the window walks it again: a test
# that drops a million cycles would hold them all and slow down quadratically.
# Past the cap the collector frees garbage as usual and we only count it
# (the "cap" strategy of docs/how-it-works.md; it works the same on every
# collector: generational, incremental and free-threaded).
SAVE_CAP = 4_000
# An audit collects what many tests left frozen; saving more of it at once
# spares a second full collection (of the whole heap) in most audits.
AUDIT_SAVE_CAP = 20_000


# Orders our callback (on any thread) against attaching and detaching it.
# Re-entrant: an allocation inside detach() (a frame object on 3.9/3.10) can
# start a collection on the same thread, which calls us.  Made anew in a
# forked child: another thread may have held it at the fork, and the child's
# first collection would wait for it forever.
_LOCK = threading.RLock()


def _new_lock_after_fork() -> None:
    global _LOCK
    _LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_after_fork)


# The collector's own lists, as the gc module had them at import.  The module
# attributes can be rebound (``gc.garbage = []``), the collector's pointers
# cannot (gcstate->garbage and gcstate->callbacks in CPython): it goes on
# appending to, and calling, these.
_GARBAGE: list[Any] = gc.garbage
_CALLBACKS: list[Any] = gc.callbacks


def _is_our_callback(callback: object, window: GarbageWindow) -> bool:
    """Whether a gc.callbacks entry is one of ``window``'s: by identity, never ``==``
    (a test's callback may have a raising ``__eq__``)."""
    return (
        type(callback) is types.MethodType
        and callback.__self__ is window
        and (callback.__func__ is GarbageWindow._on_gc or callback.__func__ is GarbageWindow._on_gc_last)
    )


def _index(callbacks: list[Any], entry: object) -> int | None:
    """Where ``entry`` is in ``callbacks`` (its first place), by identity."""
    for i in range(len(callbacks)):
        if callbacks[i] is entry:
            return i
    return None


def _batch_start(garbage: list[Any], before: tuple[int, ...], counted: int | None) -> int:
    """Where, in ``garbage`` at a collection's "stop", what that collection appended begins.

    ``before``: the ids of gc.garbage's items at its "start"; ``counted``:
    the collection's ``collected + uncollectable``, or None if unknown.
    The collector appends what it saves after every finalizer of the
    collection ran (delete_garbage, then handle_legacy_finalizers, both after
    finalize_garbage in CPython's gc_collect_main), so it is a tail of the
    list.  But finalizers may have appended to, removed from or cleared
    gc.garbage before it, and ``collected`` also counts the weak references
    freed after their callbacks ran (handle_weakrefs' return value is added
    to it), so neither the length at "start" nor the count places the tail
    by itself: they only bound it, and _closed_tail finds it by identity.
    """
    end = len(garbage)
    known = len(before)
    low = 0 if counted is None else max(0, end - counted)  # (the count is never too small)
    if end >= known and all(id(garbage[i]) == before[i] for i in range(known)):
        low = max(low, known)  # what was there is still there: what follows was appended
    return _closed_tail(garbage, low, set(before))


def _closed_tail(garbage: list[Any], low: int, before: set[int]) -> int:
    """The start of the longest tail of ``garbage[low:]`` that only gc.garbage and itself refer to.

    What a collection saved was unreachable: every reference to one of its
    objects came from another of them (CPython counts them with the same
    tp_traverse that gc.get_referents uses), and it has gained only the one
    from gc.garbage since -- no Python code runs between the collector's
    appends and our first entry's "stop".  What a finalizer appended,
    or what was there before, is referred to from elsewhere, or sits in
    ``before``.  (Only an object that a finalizer put in gc.garbage and
    nothing else refers to -- one it resurrected there -- can pass for the
    collection's, and only when the count leaves room for it: when weak
    references with callbacks were freed in the same collection.)
    Linear in the tail: about 0.5 µs an object, less than analysing it.
    """
    tail = garbage[low:]
    n = len(tail)
    if not n:
        return low
    position: dict[int, int] = {}
    out = -1  # the last position that cannot be the collection's
    for i in range(n):
        key = id(tail[i])
        seen = position.get(key)
        if key in before or seen is not None:
            out = i  # (an object the collection saved is in gc.garbage once)
        position[key] = i
    # References we hold ourselves (gc.garbage or its stand-in, `tail`, the
    # loop's variable, getrefcount's argument), measured on an object held
    # just like the others, since the count differs between versions.
    calibration = object()
    stand_in = [calibration]
    tail.append(calibration)
    del calibration
    counts = [0] * (n + 1)
    for i in range(n + 1):
        obj = tail[i]
        counts[i] = sys.getrefcount(obj)
    del obj, stand_in
    ours = counts[n]
    inside = [0] * n
    first = list(range(n))  # the first position whose object refers to this one (itself at the latest)
    for i in range(n):
        for referent in gc.get_referents(tail[i]):
            j = position.get(id(referent))
            if j is not None:
                inside[j] += 1
                if i < first[j]:
                    first[j] = i
    tail.clear()
    for i in range(out + 1, n):
        if counts[i] - ours != inside[i]:
            out = i  # referred to from outside the tail
    start = n
    earliest = n
    for i in range(n - 1, out, -1):
        earliest = min(earliest, first[i])
        if earliest >= i:
            start = i  # garbage[low + i:] refers only to itself
    return low + start


def redeliver(exc: BaseException) -> None:
    """Send again, from another thread in 10 ms, the signal whose handler raised ``exc``.

    What a gc callback raises, CPython only reports as unraisable: a
    pytest-timeout alarm handled in our callback would be lost, and a test
    hanging in an allocation loop would hang for good.  Sent again once the
    collection is over, the handler raises in the test's own code (or, if it
    lands in our callback again, comes back here).
    """
    send_again(_signal_of(exc))


def send_again(signum: int | None) -> None:
    """Send ``signum`` to the main thread in 10 ms, from another thread (nothing for None)."""
    pthread_kill = getattr(signal, "pthread_kill", None)
    while signum is not None and pthread_kill is not None:
        try:
            timer = threading.Timer(0.01, pthread_kill, (threading.main_thread().ident, signum))
            timer.daemon = True
            timer.start()
            return
        except BaseException as again:
            # The signal sent came back while still in here (the timer thread
            # was slow to start): the one outstanding is spent, send another.
            signum = _signal_of(again)


def _signal_of(exc: BaseException) -> int | None:
    """The signal whose Python handler is on ``exc``'s traceback (SIGINT for a bare KeyboardInterrupt).

    (Only our own code runs in the callback: a KeyboardInterrupt there is Ctrl-C's.)
    """
    found = signal_handler_on(exc)
    if found is None and issubclass(type(exc), KeyboardInterrupt):
        return int(signal.SIGINT)
    return found


def _raised_by_our_callback(unraisable: Any, exc: BaseException, window: GarbageWindow) -> bool:
    """Whether what reached sys.unraisablehook came out of ``window``'s gc callback.

    CPython up to 3.13 passes the callback as ``unraisable.object``; 3.14
    passes None (PyErr_FormatUnraisable, the callback's repr in ``err_msg``:
    python/cpython#129354, and #134732 which keeps it so), so there the
    callback is told by the traceback's outermost frame.
    """
    obj = getattr(unraisable, "object", None)
    if obj is not None:
        return _is_our_callback(obj, window)
    tb = exc.__traceback__
    if tb is None or tb.tb_frame.f_code not in _ON_GC_CODES:
        return False
    return tb.tb_frame.f_locals.get("self") is window


def _hook_before_ours(window: GarbageWindow) -> Any:
    """The unraisable hook ours passes on to: the current one -- unless that is
    an earlier hook of this same window (left behind by someone who saved and
    put it back), which would pass everything back to us, for ever."""
    current = sys.unraisablehook
    if type(current) is types.MethodType and current.__self__ is window:
        return None  # (None: the interpreter's own hook)
    return current


_young_collections_suffice: bool | None = None


class _Probe:
    __slots__ = ("__weakref__", "me")

    me: object


def young_collections_suffice() -> bool:
    """Whether this collector keeps the classic three generations (decided once, by trying).

    That is: what survives a generation-0 collection moves to generation 1,
    and a generation-1 collection finds it there when it becomes garbage.
    So after a freeze, with no collection of generation 1 or more since, a
    generation-1 collection examines everything made since the freeze.
    CPython 3.9-3.13 behave so; the incremental collector of 3.14.0-3.14.4
    and free-threaded builds need not, and get full collections
    (docs/how-it-works.md, "Python versions": decided by behaviour, not by
    version).
    """
    global _young_collections_suffice
    if _young_collections_suffice is None:
        _young_collections_suffice = _try_young_collections()
    return _young_collections_suffice


def _try_young_collections() -> bool:
    try:
        probe = _Probe()
        probe.me = probe
        alive = weakref.ref(probe)
        holder = [probe]
        del probe
        gc.collect(0)  # the probe survives it: held by holder
        target = alive()
        moved = any(obj is target for obj in gc.get_objects(1)) and not any(obj is target for obj in gc.get_objects(0))
        del target, holder  # the probe is garbage now, in generation 1
        gc.collect(1)
        return moved and alive() is None
    except Exception:  # pragma: no cover - any surprise: full collections
        return False


class GarbageWindow:
    """Saves the cyclic garbage found by every collection between ``open`` and ``close``."""

    def __init__(self, state: GcState, cap: int = SAVE_CAP) -> None:
        self._state = state
        self._cap = cap
        self._saved: list[object] = []
        self._saving = True
        self._saving_now = False  # DEBUG_SAVEALL is on for the collection under way, for us
        self._set_flag = False  # ... and we switched it on (not the user)
        self._unsaved = 0
        # The ids in gc.garbage at the collection's start.  A tuple, () when
        # empty: no list of ours is made and dropped per collection (one made
        # before a freeze would be frozen, and its release would change the
        # freeze count a test sees).
        self._garbage_before: tuple[int, ...] = ()
        self._warnings: list[str] = []
        self._uncollectable: list[object] = []
        self._hook_before: Any = None
        # Our sys.unraisablehook while the window is open: one bound method,
        # compared by identity below.  Held only then: held always, it would
        # make every window a reference cycle (window -> bound method ->
        # window), garbage for an enclosing window when a library call's
        # window is dropped.
        self._hook: Any = None
        # Our gc.callbacks entry, and the second one some collections need
        # (module docstring); held while attached only, like _hook.
        self._first: Any = None
        self._last: Any = None
        self._first_home: int | None = None  # where _first was before it moved to the front, for one collection
        self._oldest_seen = 0
        self._unwatched = False  # a collection ran that this window should have saved, and did not
        # The info dict of the collection under way's "start" (one dict for
        # all the callbacks of a phase), from our entry's "start" to its "stop".
        self._begun_with: Any = None
        # A collection runs our callback on whichever thread triggers it.  If
        # the test's thread detaches us while another thread's collection is
        # between its "start" and "stop" (its finalizers run Python code, so
        # threads switch), that "stop" never comes: _LOCK and these flags let
        # detach() put the debug flags and unraisablehook back itself.
        self._attached = False
        self._in_collection = False  # this window saves the collection under way
        self._armed = False  # ... and the flag was decided for it (_arm)
        self._unfrozen = False  # an inner window saw our sentinel
        self.froze_heap = False  # opened with a freeze: everything older is frozen while open
        self.is_open = False

    def open(self, *, freeze: bool = True, collect: bool = True) -> None:
        """Start watching.  ``freeze=False``: leave the heap as it is (the library API).

        Without a freeze, every collection in the window walks the whole
        (unfrozen) heap, and garbage made of objects older than the window
        counts too; with one, only objects made since.  ``collect=False``:
        the caller knows that nothing became garbage since the last window
        closed, or accepts that such garbage is frozen with the rest (the
        next audit frees it); it saves a collection.
        """
        # Free what became garbage since the last window (pytest's own
        # between-test objects) before we start watching, then freeze: every
        # object alive now is "old" and invisible to the collections below.
        if freeze:
            young_collections_suffice()  # decided once, here: before anything is watched
        if collect:
            gc.collect()
        if freeze:
            sentinel = _FreezeSentinel()
            sentinel.append(sentinel)
            del sentinel  # garbage now, frozen below
            gc.freeze()
            self._state.froze = True
        self._attach()
        self.froze_heap = freeze

    def _attach(self) -> None:
        self._oldest_seen = 0  # the oldest generation a collection in the window examined
        self._saved = []
        self._saving = True
        self._unsaved = 0
        self._warnings = []
        self._uncollectable = []
        self._unfrozen = False
        self._unwatched = False
        self._begun_with = None
        with _LOCK:
            self._attached = True
            self._first, self._last = self._on_gc, self._on_gc_last
            self._first_home = None
            _CALLBACKS.insert(0, self._first)
            _OPEN.append(self)
            # Our unraisable hook stays for the whole window, not only while a
            # collection runs: a signal handler (pytest-timeout's alarm,
            # Ctrl-C) that raises on entry to our "start" callback -- the
            # first Python code after an allocation that triggered the
            # collection -- is reported to whatever hook is in place, and
            # dropped.  Installed only by that callback, it came too late: a
            # test hanging in an allocation loop then hung for good (the
            # timeout test of tests/test_plugins.py: once in 60 runs here).
            # (Put in front of a test phase's hook only -- at the window's
            # start and by rewatch() -- never between phases: pytest < 8.4
            # would then keep ours as the hook to put back after a phase.
            # pytest 8.4 sets one hook for the session: pytest-dev/pytest#12958.)
            self._hook_before = _hook_before_ours(self)
            self._hook = sys.unraisablehook = self._on_unraisable
        self.is_open = True

    def rewatch(self) -> None:
        """Put our unraisable hook back in front if something replaced it.

        For the start of each test phase on pytest < 8.4, which puts a hook
        of its own in place for the phase, and the one before back after it
        (pytest 8.4 sets one for the whole session: pytest-dev/pytest#12958).
        """
        if self.is_open and sys.unraisablehook is not self._hook:
            with _LOCK:
                self._hook_before = _hook_before_ours(self)
                sys.unraisablehook = self._hook

    def audit(self, refreeze: bool = True) -> WindowResult:
        """Collect the whole heap, the frozen part too, and return what was saved.

        The per-test windows cannot see a cycle that runs through an object
        older than the test: that object is frozen (docs/how-it-works.md,
        "The audit").  Nor is frozen garbage ever freed.  An audit unfreezes,
        collects with saving on, and freezes again.  Called between windows.
        """
        # First free, unsaved, the garbage among the unfrozen objects: the last
        # window's, which it analysed and dropped (a dropped cycle stays garbage
        # until a collection frees it), and pytest's since.  Saved here, the
        # last test's cycles would be reported again, as cycles through old objects.
        gc.collect()
        # state.froze stays set even without a refreeze: GcState.restore()
        # unfreezes once more, which CPython 3.12 needs: its collector moves
        # every immortal object it meets into the permanent generation
        # (update_refs in Modules/gcmodule.c, since immortal objects came in,
        # python/cpython#84436), so a collection after gc.unfreeze() puts a few
        # hundred startup tuples back there (375 on 3.12.1; none on 3.11, 3.13).
        gc.unfreeze()
        cap, self._cap = self._cap, max(self._cap, AUDIT_SAVE_CAP)
        self._attach()
        try:
            result = self.close()
        finally:
            self._cap = cap
        if refreeze:
            gc.freeze()
            self._state.froze = True
        return result

    def close(self) -> WindowResult:
        """Collect once more and return everything saved; the caller must drop it."""
        # If the test removed our entry from gc.callbacks, put it back first
        # (gc.get_objects below may start a collection): what is still
        # garbage is found now.  What collections freed while it was gone is
        # lost, and the test is not judged.  (Whether any ran is not known:
        # the collector's count, gc.get_stats(), would cost every window two
        # calls of ~10,000 instructions, a fifth of what a window costs.)
        callbacks = _CALLBACKS
        unwatched = (not (callbacks and callbacks[0] is self._first) and self._rearm()) or self._unwatched
        # Everything made since a freeze is in the young generations unless a
        # collection in the window moved some of it further (or the test
        # unfroze the heap): then a collection of the young generations
        # finds all of the window's garbage, and spares what a full one does
        # besides -- emptying the interpreter's free lists, which pytest then
        # refills for every test.
        young_only = self.froze_heap and self._oldest_seen < 1 and not gc.get_objects(2) and young_collections_suffice()
        generation = 1 if young_only else 2
        try:
            gc.collect(generation)
            if not self._saving:
                # Saving stopped during a collection: what it released is
                # garbage still; free (and count) it now, or it would look
                # like objects the test left alive.
                gc.collect(generation)
        finally:
            self.detach()
        saved, self._saved = self._saved, []
        if saved:
            garbage = [obj for obj in saved if type(obj) is not _FreezeSentinel]
            unfrozen = len(garbage) != len(saved) or self._unfrozen
            saved.clear()
        else:
            garbage, unfrozen = saved, self._unfrozen
        warnings, self._warnings = self._warnings, []
        uncollectable, self._uncollectable = self._uncollectable, []
        if _OPEN:
            # An enclosing window (the plugin's, around a library call) did
            # not see these collections; what it must still know, it gets:
            # a finalizer warning fails its test, a collected sentinel means
            # the heap was unfrozen under it.
            outer = _OPEN[-1]
            outer._warnings.extend(warnings)
            outer._unfrozen = outer._unfrozen or unfrozen
        return WindowResult(garbage, unfrozen, self._unsaved, warnings, uncollectable, unwatched)

    def detach(self) -> None:
        """Remove our callback and flag, whatever the test did to ``gc.callbacks``."""
        self.is_open = False
        self.froze_heap = False
        with _LOCK:
            self._attached = False
            callbacks = _CALLBACKS
            for i in range(len(callbacks) - 1, -1, -1):
                if _is_our_callback(callbacks[i], self):
                    del callbacks[i]
            self._first = self._last = None
            for i in range(len(_OPEN) - 1, -1, -1):
                if _OPEN[i] is self:
                    del _OPEN[i]
            self._begun_with = None
            if self._in_collection:
                # Another thread's collection is under way and will not call
                # us at its end: it frees its garbage as without us.
                self._in_collection = False
                self._clear_flag()
            self._unhook()

    @staticmethod
    def heap_frozen_by_window() -> bool:
        """Whether an open window froze the heap (the plugin's, around the running test)."""
        return any(window.froze_heap for window in _OPEN)

    def _rearm(self) -> bool:
        """Put our entry back if the test removed it from gc.callbacks; whether it had to."""
        with _LOCK:
            if self._first is None or _index(_CALLBACKS, self._first) is not None:
                return False  # detached already, or there
            _CALLBACKS.insert(0, self._first)
            return True

    # Our gc.callbacks entries.  They run inside the collector: they must
    # never raise, and cannot collect.  What they catch is a signal handler's
    # exception (pytest-timeout's signal method, Ctrl-C, a test's own alarm
    # raising TimeoutError): a signal that arrives during a collection is
    # handled in the first Python code after it, often one of these.  It must
    # reach the test, not vanish.  Anything else (a bug of ours) is dropped.

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        """Our entry, kept first: begins the collection; at "stop", puts all back before any other callback runs."""
        try:
            with _LOCK:
                if phase != "start":
                    self._stop(info)
                    return
                # A collection starts.  (Inline: this runs in every collection of every test.)
                if self._begun_with is not None:
                    self._stop({})  # the last collection's "stop" never reached us
                self._begun_with = info
                generation = info.get("generation", 2)
                if generation > self._oldest_seen:
                    self._oldest_seen = generation
                # Only the innermost open window saves (see the module's docstring).
                if self._attached and not _muted and _OPEN and _OPEN[-1] is self:
                    self._in_collection = True
                    self._armed = self._saving_now = self._set_flag = False
                    garbage = _GARBAGE
                    self._garbage_before = tuple([id(obj) for obj in garbage]) if garbage else ()
                    callbacks = _CALLBACKS
                    if callbacks and callbacks[0] is self._first and callbacks[-1] is self._first:
                        self._arm()  # the usual: no other callback to run after this one
                    else:
                        self._take_places()
        except BaseException as exc:
            redeliver(exc)

    def _on_gc_last(self, phase: str, info: dict[str, Any]) -> None:
        """Our second entry, last, for one collection: switches ``DEBUG_SAVEALL`` on once every other callback ran.

        Neither earlier, nor on and off again within "start": the collector
        reads the flag only after the last "start" callback returned.
        CPython calls invoke_gc_callback(tstate, "start", ...), then collects,
        then invoke_gc_callback(tstate, "stop", ...) (gc_collect_with_callback
        in Modules/gcmodule.c up to 3.11, gc_collect_main in Python/gc.c from
        3.12 on); in between, delete_garbage tests ``gcstate->debug &
        DEBUG_SAVEALL`` to append each unreachable object to gcstate->garbage
        instead of clearing it, and handle_legacy_finalizers tests it too.
        (Tried on 3.9, 3.11 and 3.13: a flag set and reset within "start"
        saves nothing.)  It leaves the list at the end of "start", or at the
        end of "stop" when it has our first entry to put back home there
        (_take_places).
        """
        try:
            with _LOCK:
                if phase != "start":
                    self._stop(info)  # (already done by our first entry, unless a signal cut that short)
                    self._first_back_home()
                elif info is self._begun_with and self._in_collection and not self._armed:
                    self._arm()
                    if self._first_home is not None:
                        return  # needed at "stop" too
                callbacks = _CALLBACKS
                if callbacks and callbacks[-1] is self._last:
                    del callbacks[-1]  # (the last to run: no callback is left to skip)
        except BaseException as exc:
            redeliver(exc)

    def _arm(self) -> None:
        """Switch DEBUG_SAVEALL on for the collection that starts (unless the user did, or the cap was reached)."""
        self._armed = True
        if self._saving:
            flags = gc.get_debug()
            if not flags & gc.DEBUG_SAVEALL:  # (else the user's own: their garbage stays theirs)
                gc.set_debug(flags | gc.DEBUG_SAVEALL)
                self._set_flag = True
            self._saving_now = True

    def _take_places(self) -> None:
        """Other callbacks are in gc.callbacks: ours runs first, and a second entry of ours last, for this collection.

        Called by our entry at "start", so that the others see neither our
        flag nor our objects, wherever they were added: our entry goes in
        front when the window opens, but a test may insert a callback before
        it, and one added after it (``append``) runs after it at "start".  So
        our entry moves to the front, and the second entry (_on_gc_last) is
        appended: it sets the flag, and leaves at the end of "start" -- or,
        when our first entry moved, at the end of "stop", having put it back
        where the test had it (_first_back_home).  Between collections the
        list is as the test left it.  invoke_gc_callback walks the list by
        index, reading it afresh for each call: moving the entry running now
        to the front, or adding or removing one after it, leaves the ones
        still to run after it, so none is skipped and none runs twice.
        """
        callbacks, first, last = _CALLBACKS, self._first, self._last
        if not callbacks:
            return  # (emptied since we were called)
        if callbacks[0] is not first:
            here = _index(callbacks, first)
            if here is not None:
                del callbacks[here]
                callbacks.insert(0, first)
                self._first_home = here
        stray = _index(callbacks, last)
        if stray is not None:
            del callbacks[stray]  # left by a collection whose "stop" it did not end (after this one: none skipped)
        callbacks.append(last)

    def _first_back_home(self) -> None:
        """At "stop", by our second entry: our first one back where the test had it (see _take_places)."""
        home, self._first_home = self._first_home, None
        if home is None:
            return
        callbacks = _CALLBACKS
        here = _index(callbacks, self._last)
        # Every entry up to this one has run: taking the first one out and
        # putting it back at or before this place skips none, repeats none.
        if here is not None and home <= here and callbacks[0] is self._first:
            del callbacks[0]
            callbacks.insert(home, self._first)

    def _clear_flag(self) -> None:
        """Switch off the DEBUG_SAVEALL we switched on (only that flag)."""
        if self._set_flag:
            gc.set_debug(gc.get_debug() & ~gc.DEBUG_SAVEALL)
            self._set_flag = False

    def _stop(self, info: dict[str, Any]) -> None:
        """Put the flag and gc.garbage back, keep what was saved; safe to call twice, or for a collection not ours."""
        if self._begun_with is None:
            return  # not begun, ended already (by our other entry, or detach()), or the start was cut short
        self._begun_with = None
        if not self._in_collection:
            return  # another window saves this collection, or none does
        self._in_collection = False
        garbage = _GARBAGE
        before, self._garbage_before = self._garbage_before, ()
        if not self._armed:
            # The flag was never decided (a signal handler raised on entry to
            # our second entry): the collector freed the garbage unseen.
            self._unwatched = True
            return
        uncollectable = int(info.get("uncollectable", 0))
        if not self._saving_now:
            # Past the cap: the collector freed the garbage, we count it.  It
            # appended the objects it could not free (with a legacy tp_del).
            if uncollectable:
                self._uncollectable.extend(garbage[max(len(garbage) - uncollectable, len(before)) :])
            self._unsaved += int(info.get("collected", 0))
            return
        self._saving_now = False
        ours = self._set_flag
        collected = info.get("collected")
        if collected == 0 and not uncollectable:
            if ours:  # nothing found (an idle test's last collection): the flag off, and done
                gc.set_debug(gc.get_debug() & ~gc.DEBUG_SAVEALL)
                self._set_flag = False
            return
        start = end = len(garbage)
        try:
            self._clear_flag()
            start = _batch_start(garbage, before, None if collected is None else int(collected) + uncollectable)
            # The collector appends what it could not free after what
            # DEBUG_SAVEALL saved ("uncollectable" counts them: Modules/gcmodule.c,
            # handle_legacy_finalizers): they stay in gc.garbage, as without us.
            end -= min(uncollectable, end - start)
            if end < len(garbage):
                self._uncollectable.extend(garbage[end:])
            new = garbage[start:end]
            if self._saved and len(self._saved) + len(new) > self._cap:
                # (The first batch is always kept, however large: one huge
                # cycle -- a 100,000-long ring -- is still explained.)
                # Stop saving.  This batch is released unsaved: it is garbage
                # again, and the next collection frees it and counts it.
                self._saving = False
            else:
                self._saved.extend(new)
            del new
        finally:
            # (Again here: a signal handler's exception may have cut the above short.)
            self._clear_flag()
            if ours:
                # The user did not ask for DEBUG_SAVEALL: keep gc.garbage as they see it.
                del garbage[start:end]

    # Finalizers (__del__, a file's close) of the garbage run inside the
    # collection; what they raise Python hands to sys.unraisablehook.  pytest's
    # hook turns it into a PytestUnraisableExceptionWarning -- never an error
    # for a warning made an error by a filter (-W error::ResourceWarning),
    # because it cannot propagate.  We note those, then pass everything on.
    # The same hook sends again a signal whose handler raised in our callback.

    def _unhook(self) -> None:
        """Put back the unraisable hook that was there before ours, if ours is still the one in place."""
        if sys.unraisablehook is self._hook:
            sys.unraisablehook = self._hook_before
        self._hook_before = self._hook = None

    def _interrupted(self, exc: BaseException) -> None:
        """A signal handler raised on entry to one of our entries: none of it ran.

        (CPython reports what a gc callback raises here, and drops it; inside
        the entry, its own ``except`` hands it to redeliver.)  The entry's
        frame, outermost on the traceback, still tells the phase.  At "stop",
        finish now, before any other callback runs: take what was saved, put
        the flag back.  At our first entry's "start", nothing began: the
        collection frees its garbage unseen.  (At our second entry's, the
        flag was never set: our first entry's "stop" says so.)
        """
        frame = exc.__traceback__.tb_frame if exc.__traceback__ is not None else None
        if frame is None or frame.f_locals.get("phase") != "start":
            self._stop({})
        elif frame.f_code is _ON_GC_CODES[0] and self._begun_with is None and _OPEN and _OPEN[-1] is self:
            self._unwatched = self._unwatched or not _muted

    def _on_unraisable(self, unraisable: Any) -> None:
        exc = getattr(unraisable, "exc_value", None)
        # By type: isinstance() asks exc.__class__, which may raise, and then
        # the exception would never reach the hook after us (pytest's).
        signalled = issubclass(type(exc), BaseException) and _raised_by_our_callback(
            unraisable, cast(BaseException, exc), self
        )
        signum = _signal_of(cast(BaseException, exc)) if signalled else None
        if signum is not None:
            with _LOCK:
                self._interrupted(cast(BaseException, exc))
            send_again(signum)
            return
        # Only what a collection's finalizers raise is ours to note; the rest
        # of the window (refcounting's finalizers) is pytest's, as without us.
        if self._in_collection and issubclass(type(exc), Warning):
            # warnings.warn raises only when a filter says "error".
            self._warnings.append(describe_error(cast(BaseException, exc))[:500])
        del exc
        forward = self._hook_before if self._hook_before is not None else sys.__unraisablehook__
        forward(unraisable)


_ON_GC_CODES = (GarbageWindow._on_gc.__code__, GarbageWindow._on_gc_last.__code__)
