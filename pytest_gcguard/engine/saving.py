"""What one window keeps of the garbage its collections saved, up to its cap, and what it only counts."""

from __future__ import annotations


# Objects saved per window before saving stops.  DEBUG_SAVEALL keeps alive what it
# saves, and every later collection in the window walks it again: a test
# that drops a million cycles would hold them all and slow down quadratically.
# Past the cap the collector frees garbage as usual and we only count it
# (the "cap" strategy of docs/how-it-works.md; it works the same on every
# collector: generational, incremental and free-threaded).
SAVE_CAP = 4_000
# An audit collects what many tests left frozen; saving more of it at once
# spares a second full collection (of the whole heap) in most audits.
AUDIT_SAVE_CAP = 20_000


class SavedGarbage:
    """A window's bookkeeping: the objects kept, the count of those freed unsaved, what finalizers raised."""

    def __init__(self, cap: int = SAVE_CAP) -> None:
        self.cap = cap
        self.reset()

    def reset(self) -> None:
        """Empty, and saving: for a window opening."""
        self.objects: list[object] = []
        self.saving = True  # False once the cap is reached: the collector frees garbage as usual
        # Cyclic garbage freed after the cap was reached, or left out of a sample: counted, not analysed.
        self.unsaved = 0
        # Warnings raised as errors (by the user's warning filters) in
        # finalizers of the window's garbage: "ResourceWarning: unclosed file <...>".
        self.warnings: list[str] = []
        # What the collector could not free (legacy tp_del finalizers, and what they reach).
        self.uncollectable: list[object] = []
        self.unfrozen = False  # an inner window saw our freeze sentinel: the heap was unfrozen
        # A first batch larger than the cap: its size, and all of it (the
        # sample in ``objects`` too), held until the window's garbage is dropped.
        self.sampled = 0
        self.unanalysed: list[object] = []
        # Objects kept, then handed over before the window closed (``take_objects``
        # in the middle of a test: its own gc.collect()): they count for the cap.
        self.released = 0
        # ids of the objects ``give_back`` dropped, till the next batch saves them again.
        self._given_back: frozenset[int] = frozenset()

    def keep(self, batch: list[object]) -> None:
        """What one collection saved: kept, sampled, or -- past the cap -- released, and saving stops.

        A batch that would take the objects kept past the cap is released: it
        is garbage again, the next collection frees it, and it is counted then.
        The first batch is never released: a window that saved nothing else
        still has something to explain.  When it is larger than the cap (one
        huge cycle -- a million-long ring, a list of ten million hangers-on
        holding itself), a sample of it is kept (``sample``), and the rest held
        unanalysed till the window's garbage is dropped: counted exactly, and
        no collection in between frees (and counts again) or saves it.
        """
        given, self._given_back = self._given_back, frozenset()
        if given and self.released + len(batch) > self.cap:
            # Past the cap: what was kept before is kept, the rest released,
            # as if nothing had been given back.
            self.objects = [obj for obj in batch if id(obj) in given]
            self.saving = False
        elif self.objects or self.released or given:
            if self.released + len(self.objects) + len(batch) > self.cap:
                self.saving = False
            else:
                self.objects.extend(batch)
        elif len(batch) <= self.cap:
            self.objects.extend(batch)
        else:
            self.objects = sample(batch, self.cap)
            self.unanalysed = batch
            self.sampled = len(batch)
            self.unsaved += len(batch) - len(self.objects)
            self.saving = False

    def give_back(self) -> None:
        """Drop the objects kept, for the window's last collection to save again with what only they kept alive.

        What a collection in the middle of a test saved is held by us, and
        holds what it refers to: a frame of a traceback saved while the test
        ran points back (``f_back``) to the test's frame, and once the test
        returned, that frame and its locals (the app its fixtures made) are
        kept alive by the saved garbage alone.  No later collection finds
        them, so whether they were reported depended on whether the collector
        happened to run before the test returned.  Dropped, the kept objects
        are cyclic garbage again (every one is in a cycle or referred to by
        one), and the window's last collection saves them with the rest.
        Not once saving stopped or a batch was sampled: those are cut short
        on purpose (the cap).  The batch that saves them again is not a first
        batch to sample: past the cap, what was kept before is kept and the
        rest released, as without giving back (``keep``).
        """
        if self.saving and not self.unanalysed and self.objects:
            self._given_back = frozenset(map(id, self.objects))
            self.objects = []

    def take_objects(self) -> tuple[list[object], list[object]]:
        """The objects kept, and the rest of a sampled batch, handed over: the caller must drop them."""
        self.released += len(self.objects)
        objects, self.objects = self.objects, []
        unanalysed, self.unanalysed = self.unanalysed, []
        return objects, unanalysed


def sample(batch: list[object], size: int) -> list[object]:
    """``size`` objects of one collection's garbage to analyse: its first and its last.

    The collector saves what it found in the order of its generation lists
    (CPython's move_unreachable keeps it): oldest first.  A structure's root
    is mostly made first or last -- the list a comprehension fills, the
    first node of a ring, a container made to hold what was built before
    it -- and the objects made next to it are its neighbours: a ring's
    sample is a stretch of it, whose path is printed cut short where the
    sample ends; a list holding itself and millions of hangers-on is
    sampled with itself, its cycle whole.  No choice is right for every
    shape without walking all of the batch, which is what the cap avoids.
    """
    head = size // 2
    return batch[:head] + batch[len(batch) - (size - head) :]
