"""The per-test collection window: which cyclic garbage became unreachable while a test ran.

The heap stays frozen between tests (``gc.freeze()``): a full collection after
a freeze walks only the objects created since, so a window costs what the
test allocated, not what the heap holds (docs/how-it-works.md; a 2 M-object
heap: ≈10 µs per window instead of ≈600 ms for two full collections).

``DEBUG_SAVEALL`` is switched on only *inside* a collection, by our own
``gc.callbacks`` entries, and what it saves is moved at once from
``gc.garbage`` to a private list.  Tests therefore never see the flag in
``gc.get_debug()`` nor our objects in ``gc.garbage``: both are exactly as
without the plugin -- and so do the other ``gc.callbacks`` entries, and the
finalizers that run during the collection.

A ``GarbageWindow`` opens and closes; its parts, one job each:

* ``callbacks.GcCallbacks``: the window's ``gc.callbacks`` entry -- kept
  first: at "stop" it takes the saved objects out and resets the flag
  before any other callback runs; at "start" it sets the flag itself when
  no other callback follows, else a second entry, appended for that
  collection only, sets it once every other callback ran -- and the
  collector's state around each collection: what it saved, told apart by
  identity from what its finalizers did to ``gc.garbage``.
* ``saving.SavedGarbage``: what the window keeps of it, up to its cap, and
  what it only counts.
* ``unraisable.UnraisableHook``: the ``sys.unraisablehook`` standing in
  front while the window is open -- finalizers' warnings, and signals whose
  handler raised in our callbacks, raised again (``signals``).

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
import itertools
import operator
import weakref
from dataclasses import dataclass
from dataclasses import field

from pytest_gcguard.engine import callbacks
from pytest_gcguard.engine.callbacks import OPEN
from pytest_gcguard.engine.callbacks import GcCallbacks
from pytest_gcguard.engine.callbacks import collect_unsaved
from pytest_gcguard.engine.callbacks import settle
from pytest_gcguard.engine.saving import AUDIT_SAVE_CAP
from pytest_gcguard.engine.saving import SAVE_CAP
from pytest_gcguard.engine.saving import SavedGarbage
from pytest_gcguard.engine.unraisable import UnraisableHook


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
    # A first batch larger than the cap was sampled (``saving.sample``): the
    # rest of it, held unanalysed until the garbage is dropped (``discard``),
    # and the batch's size.  Its paths may be cut short where the sample ends.
    unanalysed: list[object] = field(default_factory=list)
    sampled: int = 0

    @property
    def not_judged(self) -> str | None:
        """The note saying why this window's findings must not be judged, or None when they may be."""
        if self.heap_was_unfrozen:
            return UNFROZEN_NOTE
        if self.unwatched:
            return UNWATCHED_NOTE
        return None


def discard(result: WindowResult) -> None:
    """Drop a closed window's garbage and free it now, without any other window saving it.

    What ``DEBUG_SAVEALL`` saved is still cyclic garbage once dropped: the
    next collection frees it -- and, inside an enclosing window (a library
    call in a test under ``--gc-guard``), would save it again for that
    window, which would then report the inner block's cycles as its own.
    """
    dropped = len(result.garbage) + len(result.unanalysed)
    result.garbage.clear()
    result.unanalysed.clear()
    if dropped:
        collect_unsaved(dropped)


def _holds_sentinel(objects: list[object]) -> bool:
    """Whether ``objects`` holds a freeze sentinel: by identity of types, at C speed (millions, for a sample's rest)."""
    return any(map(operator.is_, map(type, objects), itertools.repeat(_FreezeSentinel)))


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
        self._saves = SavedGarbage(cap)
        self._entries = GcCallbacks(self._saves)
        self._hook = UnraisableHook(self._entries, self._saves)
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
            settle()  # (what finalizers bred too: it would be frozen below)
        if freeze:
            sentinel = _FreezeSentinel()
            sentinel.append(sentinel)
            del sentinel  # garbage now, frozen below
            gc.freeze()
            self._state.froze = True
        self._attach()
        self._entries.froze_heap = freeze

    def _attach(self) -> None:
        self._saves.reset()
        with callbacks.LOCK:
            self._entries.attach()
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
            self._hook.install()
        self.is_open = True

    def rewatch(self) -> None:
        """Put our unraisable hook back in front if something replaced it.

        For the start of each test phase on pytest < 8.4, which puts a hook
        of its own in place for the phase, and the one before back after it
        (pytest 8.4 sets one for the whole session: pytest-dev/pytest#12958).
        """
        if self.is_open:
            self._hook.rewatch()

    def audit(self) -> WindowResult:
        """Collect the whole heap, the frozen part too, and return what was saved; the heap is left unfrozen.

        The per-test windows cannot see a cycle that runs through an object
        older than the test: that object is frozen (docs/how-it-works.md,
        "The audit").  Nor is frozen garbage ever freed.  An audit unfreezes,
        collects with saving on, and -- once the caller has analysed what it
        saved -- frees that and freezes again (``end_audit``).  Called between windows.
        """
        # First free, unsaved, the garbage among the unfrozen objects: the last
        # window's, which it analysed and dropped (a dropped cycle stays garbage
        # until a collection frees it), and pytest's since.  Saved here, the
        # last test's cycles would be reported again, as cycles through old objects.
        settle()
        # state.froze stays set even without a refreeze: GcState.restore()
        # unfreezes once more, which CPython 3.12 needs: its collector moves
        # every immortal object it meets into the permanent generation
        # (update_refs in Modules/gcmodule.c, since immortal objects came in,
        # python/cpython#84436), so a collection after gc.unfreeze() puts a few
        # hundred startup tuples back there (375 on 3.12.1; none on 3.11, 3.13).
        gc.unfreeze()
        saves = self._saves
        cap, saves.cap = saves.cap, max(saves.cap, AUDIT_SAVE_CAP)
        self._attach()
        try:
            return self.close(settled=False)
        finally:
            saves.cap = cap

    def end_audit(self, result: WindowResult, *, refreeze: bool) -> None:
        """Drop what the audit saved, free it and what its finalizers bred, then freeze again (``refreeze``).

        Frozen while still held, the audit's garbage would stay frozen once
        dropped, and the next audit would report it again; what its
        finalizers bred, as a cycle through old objects of the tests since.
        """
        found = bool(result.garbage or result.unanalysed or result.unsaved)
        dropped = len(result.garbage) + len(result.unanalysed)
        result.garbage.clear()
        result.unanalysed.clear()
        if found:
            collect_unsaved(dropped)  # (the heap is unfrozen: a full collection of it)
        if refreeze:
            gc.freeze()
            self._state.froze = True

    def close(self, *, settled: bool = True) -> WindowResult:
        """Collect once more and return everything saved; the caller must drop it.

        ``settled``: until a collection finds nothing (``settle``), saving
        what the finalizers of the one before bred -- a test's finalizers
        are its code.  An audit collects once: what its finalizers breed is
        freed unsaved (``end_audit``), never reported as an old cycle.
        """
        entries, saves = self._entries, self._saves
        # If the test removed our entry from gc.callbacks, put it back first
        # (gc.get_objects below may start a collection): what is still
        # garbage is found now.  What collections freed while it was gone is
        # lost, and the test is not judged (GcCallbacks.rearm).
        unwatched = entries.rearm()
        with callbacks.LOCK:
            saves.give_back()
        # Everything made since a freeze is in the young generations unless a
        # collection in the window moved some of it further (or the test
        # unfroze the heap): then a collection of the young generations
        # finds all of the window's garbage, and spares what a full one does
        # besides -- emptying the interpreter's free lists, which pytest then
        # refills for every test.
        young_only = (
            entries.froze_heap and entries.oldest_seen < 1 and not gc.get_objects(2) and young_collections_suffice()
        )
        generation = 1 if young_only else 2
        try:
            # Settled: a batch released past the cap is garbage still, freed
            # (and counted) by the next collection, or it would look like
            # objects the test left alive; and what the test's finalizers bred
            # in the last collection is the test's too.
            if settled:
                settle(generation)
            else:
                gc.collect(generation)
            unwatched = unwatched or entries.unwatched
        finally:
            self.detach()
        garbage, unanalysed = self._take_saved()
        unfrozen = saves.unfrozen
        warnings, saves.warnings = saves.warnings, []
        uncollectable, saves.uncollectable = saves.uncollectable, []
        if OPEN:
            # An enclosing window (the plugin's, around a library call) did
            # not see these collections; what it must still know, it gets:
            # a finalizer warning fails its test, a collected sentinel means
            # the heap was unfrozen under it.
            outer = OPEN[-1].saves
            outer.warnings.extend(warnings)
            outer.unfrozen = outer.unfrozen or unfrozen
        return WindowResult(
            garbage, unfrozen, saves.unsaved, warnings, uncollectable, unwatched, unanalysed, saves.sampled
        )

    def _take_saved(self) -> tuple[list[object], list[object]]:
        """What the window's collections saved so far, and the rest of a sampled batch, handed over.

        Our freeze sentinels are left out: one saved means the heap was
        unfrozen (noted in ``saves.unfrozen``).
        """
        saves = self._saves
        saved, unanalysed = saves.take_objects()
        if not saved:
            return saved, unanalysed
        garbage = [obj for obj in saved if type(obj) is not _FreezeSentinel]
        if len(garbage) != len(saved) or _holds_sentinel(unanalysed):
            saves.unfrozen = True
        saved.clear()
        return garbage, unanalysed

    def saved_for_test(self) -> bool:
        """Whether this open window, innermost, holds garbage that its collections saved (cheap).

        Not while a collection is under way (a finalizer calling
        ``gc.collect()``, which returns 0 there): what it dropped could not
        be freed until a later collection, which would save it again.
        """
        entries = self._entries
        return bool(self._saves.objects) and self.is_open and bool(OPEN) and OPEN[-1] is entries and not entries.busy

    def release(self) -> WindowResult:
        """What the window saved so far, handed over while it stays open: the caller explains and drops it.

        For the test's own ``gc.collect()`` (``owncollect``): what the
        collection saved must be gone when it returns, as without gc-guard.
        Saving goes on, the cap counting what was handed over; what the
        window's close must still know (uncollectable objects, finalizers'
        warnings, a heap unfrozen, the counts) stays with it.
        """
        garbage, unanalysed = self._take_saved()
        return WindowResult(garbage, unanalysed=unanalysed, sampled=self._saves.sampled)

    def detach(self) -> None:
        """Remove our callbacks, flag and hook, whatever the test did to ``gc.callbacks``."""
        self.is_open = False
        with callbacks.LOCK:
            self._entries.detach()
            self._hook.remove()

    @staticmethod
    def heap_frozen_by_window() -> bool:
        """Whether an open window froze the heap (the plugin's, around the running test)."""
        return any(entries.froze_heap for entries in OPEN)
