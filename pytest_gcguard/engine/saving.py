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
        self.unsaved = 0  # cyclic garbage freed after the cap was reached: counted, not analysed
        # Warnings raised as errors (by the user's warning filters) in
        # finalizers of the window's garbage: "ResourceWarning: unclosed file <...>".
        self.warnings: list[str] = []
        # What the collector could not free (legacy tp_del finalizers, and what they reach).
        self.uncollectable: list[object] = []
        self.unfrozen = False  # an inner window saw our freeze sentinel: the heap was unfrozen

    def keep(self, batch: list[object]) -> None:
        """What one collection saved: kept, or -- past the cap -- released, and saving stops.

        The first batch is always kept, however large: one huge cycle -- a
        100,000-long ring -- is still explained.  A batch released is garbage
        again: the next collection frees it, and it is counted then.
        """
        if self.objects and len(self.objects) + len(batch) > self.cap:
            self.saving = False
        else:
            self.objects.extend(batch)

    def take_objects(self) -> list[object]:
        """The objects kept, handed over: the caller must drop them."""
        objects, self.objects = self.objects, []
        return objects
