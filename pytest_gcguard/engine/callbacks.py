"""A window's ``gc.callbacks`` entry, and the collector's state around each collection it sees.

Our entry runs first: at "stop" it takes the saved objects out of
``gc.garbage`` and resets ``DEBUG_SAVEALL`` before any other callback runs.
At "start" it sets the flag only if no other callback runs after it; else a
second entry of ours, appended for that collection, sets it once every
other callback ran.  One entry cannot do both: the collector calls the list
in order for both phases, and reads the flag between them (see
GcCallbacks._on_gc_last).  Our entry is moved, and the second one added,
only for the span of a collection's callbacks: ``gc.callbacks`` is as the
test left it between collections, and costs nothing more while no other
callback is there (the usual).

What a collection saved is told apart from what its finalizers did to
``gc.garbage`` by identity (``batch.batch_start``): the collector appends it last,
after every finalizer ran.  What is kept of it, and up to which cap, is
``saving.SavedGarbage``'s.

Only the innermost attached window's entry saves (``OPEN``): each
collection's garbage belongs to exactly one window, and two callbacks
setting and resetting ``DEBUG_SAVEALL`` in turn would undo each other.
"""

from __future__ import annotations

import gc
import os
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pytest_gcguard.engine.batch import batch_start
from pytest_gcguard.engine.saving import SavedGarbage
from pytest_gcguard.engine.signals import redeliver


# Orders our callback (on any thread) against attaching and detaching it.
# Re-entrant: an allocation inside detach() (a frame object on 3.9/3.10) can
# start a collection on the same thread, which calls us.  Made anew in a
# forked child: another thread may have held it at the fork, and the child's
# first collection would wait for it forever.
LOCK = threading.RLock()


def _new_lock_after_fork() -> None:
    global LOCK
    LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_after_fork)


# The collector's own lists, as the gc module had them at import.  The module
# attributes can be rebound (``gc.garbage = []``), the collector's pointers
# cannot (gcstate->garbage and gcstate->callbacks in CPython): it goes on
# appending to, and calling, these.
_GARBAGE: list[Any] = gc.garbage
_CALLBACKS: list[Any] = gc.callbacks
# The collector's own collect, as the gc module had it at import: while a
# window is open, ``gc.collect`` is the test's stand-in (``owncollect``).
_COLLECT = gc.collect


# Entries attached now, innermost last.  The collector is one per process, so
# this stack is too: a collection in any thread is seen by the innermost window.
OPEN: list[GcCallbacks] = []
# Collections no window saves (see collect_unsaved), when above zero.
_muted = 0


def collect_unsaved(dropped: int | None = None) -> None:
    """Full collections that no window saves anything of (window.discard), settled (``settle``).

    ``dropped``: how many saved objects the caller just let go of.  A first
    collection that frees exactly that many freed only them, and their
    finalizers ran when they were saved (once, PEP 442; weak references
    were cleared then too): nothing can have bred, and the second
    collection ``settle`` would make to be sure is spared -- a full one
    after every heap audit, one of the young generations after every
    window that saved garbage.
    """
    global _muted
    _muted += 1
    try:
        settle(expected=dropped)
    finally:
        _muted -= 1


@contextmanager
def quiet() -> Iterator[None]:
    """Collections no window saves, and that only our entries see: gc-guard's own, in the middle of a test.

    The test's ``gc.callbacks`` entries are out of the list meanwhile (put
    back as they were, in place): a callback counting the test's
    collections counts none of ours.
    """
    global _muted
    _muted += 1
    theirs = _CALLBACKS[:]
    _CALLBACKS[:] = [entry for entry in theirs if _is_ours(entry)]
    try:
        yield
    finally:
        _CALLBACKS[:] = theirs
        del theirs
        _muted -= 1


def _is_ours(callback: object) -> bool:
    return type(callback) is types.MethodType and type(callback.__self__) is GcCallbacks


# How many collections ``settle`` runs at most: a finalizer may breed garbage
# whose finalizer breeds more, for ever.
SETTLE_ROUNDS = 4


def settle(generation: int = 2, *, expected: int | None = None) -> int:
    """Collect until a collection finds nothing (at most SETTLE_ROUNDS times); how many objects they found.

    Finalizers run by a collection (``__del__``, weak references'
    callbacks) may make new cyclic garbage, which only the next collection
    finds.  Left behind by one of gc-guard's own collections, it would be
    frozen with the heap when the next window opens, and a heap audit would
    report it as a cycle through objects older than the test.
    ``expected``: a first collection that finds exactly this many is the
    last (``collect_unsaved``).
    """
    found = 0
    for _ in range(SETTLE_ROUNDS):
        collected = _COLLECT(generation)
        found += collected
        if not collected or collected == expected:
            break
        expected = None
    return found


def is_our_callback(callback: object, entries: GcCallbacks) -> bool:
    """Whether a gc.callbacks entry is one of ``entries``': by identity, never ``==``
    (a test's callback may have a raising ``__eq__``)."""
    return (
        type(callback) is types.MethodType
        and callback.__self__ is entries
        and (callback.__func__ is GcCallbacks._on_gc or callback.__func__ is GcCallbacks._on_gc_last)
    )


def _index(callbacks: list[Any], entry: object) -> int | None:
    """Where ``entry`` is in ``callbacks`` (its first place), by identity."""
    for i in range(len(callbacks)):
        if callbacks[i] is entry:
            return i
    return None


class GcCallbacks:
    """Our ``gc.callbacks`` entry (and the second one some collections need), what it notes of each collection;
    the kept objects go to ``saves``."""

    def __init__(self, saves: SavedGarbage) -> None:
        self.saves = saves
        self._saving_now = False  # DEBUG_SAVEALL is on for the collection under way, for us
        self._set_flag = False  # ... and we switched it on (not the user)
        # The ids in gc.garbage at the collection's start.  A tuple, () when
        # empty: no list of ours is made and dropped per collection (one made
        # before a freeze would be frozen, and its release would change the
        # freeze count a test sees).
        self._garbage_before: tuple[int, ...] = ()
        # Our entry, and the second one some collections need (module
        # docstring), held while attached only: held always, they would make
        # this object a reference cycle (self -> bound method -> self),
        # garbage for an enclosing window when a library call's window is dropped.
        self._first: Any = None
        self._last: Any = None
        self._first_home: int | None = None  # where _first was before it moved to the front, for one collection
        self.oldest_seen = 0  # the oldest generation a collection in the window examined
        self.unwatched = False  # a collection ran that this window should have saved, and did not
        # The info dict of the collection under way's "start" (one dict for
        # all the callbacks of a phase), from our entry's "start" to its "stop".
        self._begun_with: Any = None
        # A collection runs our callback on whichever thread triggers it.  If
        # the test's thread detaches us while another thread's collection is
        # between its "start" and "stop" (its finalizers run Python code, so
        # threads switch), that "stop" never comes: LOCK and these flags let
        # detach() put the debug flags back itself.
        self._attached = False
        self.in_collection = False  # this window saves the collection under way
        self._armed = False  # ... and the flag was decided for it (_arm)
        self.froze_heap = False  # the window opened with a freeze: everything older is frozen while attached

    @property
    def busy(self) -> bool:
        """Whether a collection is under way (between our entry's "start" and its "stop")."""
        return self._begun_with is not None

    def attach(self) -> None:
        """Our entry into gc.callbacks, in front; this window innermost."""
        self.oldest_seen = 0
        self.unwatched = False
        self._begun_with = None
        with LOCK:
            self._attached = True
            self._first, self._last = self._on_gc, self._on_gc_last
            self._first_home = None
            _CALLBACKS.insert(0, self._first)
            OPEN.append(self)

    def detach(self) -> None:
        """Remove our entries and flag, whatever the test did to ``gc.callbacks``."""
        self.froze_heap = False
        with LOCK:
            self._attached = False
            callbacks = _CALLBACKS
            for i in range(len(callbacks) - 1, -1, -1):
                if is_our_callback(callbacks[i], self):
                    del callbacks[i]
            self._first = self._last = None
            for i in range(len(OPEN) - 1, -1, -1):
                if OPEN[i] is self:
                    del OPEN[i]
            self._begun_with = None
            if self.in_collection:
                # Another thread's collection is under way and will not call
                # us at its end: it frees its garbage as without us.
                self.in_collection = False
                self._clear_flag()

    def rearm(self) -> bool:
        """Put our entry back if the test removed it from gc.callbacks; whether it had to.

        What collections freed while it was gone is lost.  (Whether any ran
        is not known: the collector's count, gc.get_stats(), would cost
        every window two calls of ~10,000 instructions, a fifth of what a
        window costs.  So a test that removes the entry and puts it back is
        judged as usual: a documented limit.)
        """
        callbacks = _CALLBACKS
        if callbacks and callbacks[0] is self._first:
            return False  # (the usual)
        with LOCK:
            if self._first is None or _index(callbacks, self._first) is not None:
                return False  # detached already, or there
            callbacks.insert(0, self._first)
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
            with LOCK:
                if phase != "start":
                    self.stop(info)
                    return
                # A collection starts.  (Inline: this runs in every collection of every test.)
                if self._begun_with is not None:
                    self.stop({})  # the last collection's "stop" never reached us
                self._begun_with = info
                generation = info.get("generation", 2)
                if generation > self.oldest_seen:
                    self.oldest_seen = generation
                # Only the innermost open window saves (see the module's docstring).
                if self._attached and not _muted and OPEN and OPEN[-1] is self:
                    self.in_collection = True
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
            with LOCK:
                if phase != "start":
                    self.stop(info)  # (already done by our first entry, unless a signal cut that short)
                    self._first_back_home()
                elif info is self._begun_with and self.in_collection and not self._armed:
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
        if self.saves.saving:
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

    def stop(self, info: dict[str, Any]) -> None:
        """Put the flag and gc.garbage back, keep what was saved; safe to call twice, or for a collection not ours."""
        if self._begun_with is None:
            return  # not begun, ended already (by our other entry, or detach()), or the start was cut short
        self._begun_with = None
        if not self.in_collection:
            return  # another window saves this collection, or none does
        self.in_collection = False
        garbage = _GARBAGE
        before, self._garbage_before = self._garbage_before, ()
        if not self._armed:
            # The flag was never decided (a signal handler raised on entry to
            # our second entry): the collector freed the garbage unseen.
            self.unwatched = True
            return
        uncollectable = int(info.get("uncollectable", 0))
        if not self._saving_now:
            # Past the cap: the collector freed the garbage, we count it.  It
            # appended the objects it could not free (with a legacy tp_del).
            saves = self.saves
            if uncollectable:
                saves.uncollectable.extend(garbage[max(len(garbage) - uncollectable, len(before)) :])
            saves.unsaved += int(info.get("collected", 0))
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
            start = batch_start(garbage, before, None if collected is None else int(collected) + uncollectable)
            # The collector appends what it could not free after what
            # DEBUG_SAVEALL saved ("uncollectable" counts them: Modules/gcmodule.c,
            # handle_legacy_finalizers): they stay in gc.garbage, as without us.
            end -= min(uncollectable, end - start)
            if end < len(garbage):
                self.saves.uncollectable.extend(garbage[end:])
            new = garbage[start:end]
            self.saves.keep(new)
            del new
        finally:
            # (Again here: a signal handler's exception may have cut the above short.)
            self._clear_flag()
            if ours:
                # The user did not ask for DEBUG_SAVEALL: keep gc.garbage as they see it.
                del garbage[start:end]

    def interrupted(self, exc: BaseException) -> None:
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
            self.stop({})
        elif frame.f_code is ON_GC_CODES[0] and self._begun_with is None and OPEN and OPEN[-1] is self:
            self.unwatched = self.unwatched or not _muted


ON_GC_CODES = (GcCallbacks._on_gc.__code__, GcCallbacks._on_gc_last.__code__)
