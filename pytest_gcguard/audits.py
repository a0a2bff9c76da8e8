"""Heap audits: a full collection of the whole heap, frozen part included (docs/how-it-works.md, "The audit").

What an audit finds became garbage while the tests since the last audit ran
(or between them): cycles through objects older than a test, which the
frozen heap kept.  It is reported for that span of tests, never failing one
of them.  An audit costs a full collection of the heap, so one runs when
something may hide there: when the frozen heap has grown by a quarter since
the last audit (and by at least ``AUDIT_MIN_GROWTH`` objects), and once more
at the end.  Counting objects, not seconds, keeps the audits -- and the spans
of tests they report -- the same on every run of the same suite: a clock made
them depend on how fast the machine was (issue 17).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from pytest_gcguard.engine.analysis import explain_garbage
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.introspect import describe_error
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.sites import SiteFinder
from pytest_gcguard.engine.survivors import LiveTracker
from pytest_gcguard.engine.window import GarbageWindow


# The same rule as CPython's own full collections (Modules/gcmodule.c, "long_lived_pending
# < long_lived_total / 4"): auditing when the frozen heap grew by a quarter makes the audits'
# total cost proportional to what the tests left frozen, not to their number.
AUDIT_GROWTH = 0.25
AUDIT_MIN_GROWTH = 100_000
# gc.get_freeze_count() walks the frozen heap (a list walk on CPython 3.9-3.13: 10 ms for a
# suite's million objects), far too slow for every test.  Between counts, the growth is
# estimated from the objects the tests' windows left alive (counted anyway when survivors
# are scanned); the frozen heap is counted again every AUDIT_RECOUNT tests.
AUDIT_RECOUNT = 1_000


class HeapAudits:
    """When to audit, and what the audits found (plain data only)."""

    def __init__(
        self,
        window: GarbageWindow,
        pause: Callable[[], None],
        resume: Callable[[], None],
        left_alive: Callable[[], int] = lambda: 0,
    ) -> None:
        self._window = window
        self._pause = pause  # --gc-guard-stats counts the tests' collections, not ours
        self._resume = resume
        self._left_alive = left_alive  # a running count of what windows left alive (frozen at the next window)
        self.found: list[dict[str, Any]] = []
        self._span: tuple[str, str, int] | None = None  # first and last test since the last audit, how many
        # Set by the first test: what collection imported is frozen by then, and no audit's business.
        self._due_at: int | None = None
        self._counted = (0, 0)  # the frozen heap's size when last counted, and left_alive() then
        self._uncounted = 0  # tests since
        self.last_took = 0.0

    def _count(self) -> int:
        frozen = gc.get_freeze_count()
        self._counted, self._uncounted = (frozen, self._left_alive()), 0
        return frozen

    @staticmethod
    def _due(frozen: int) -> int:
        """The frozen heap's size at which the next audit falls due."""
        return frozen + max(AUDIT_MIN_GROWTH, int(frozen * AUDIT_GROWTH))

    def count_test(self, nodeid: str) -> None:
        """Add a test to the span of tests the next audit covers (before it is judged: a re-run may audit)."""
        first, _, count = self._span or (nodeid, nodeid, 0)
        self._span = (first, nodeid, count + 1)

    def due(self) -> bool:
        """Whether an audit is due now: the frozen heap grew enough since the last one.

        What a test leaves alive is frozen when the next window opens; the
        estimate counts it from the scan of its survivors (leaks on), the
        recount only once the next window froze it.
        """
        if self._due_at is None:
            self._due_at = self._due(self._count())
            return False
        self._uncounted += 1
        if self._uncounted >= AUDIT_RECOUNT:
            frozen = self._count()
        else:
            counted, alive = self._counted
            frozen = counted + self._left_alive() - alive
        return frozen >= self._due_at

    def run(
        self,
        owners: CodeOwners,
        labeller: Labeller,
        sites: SiteFinder | None,
        ignore: Callable[[object], bool] | None,
        *,
        final: bool = False,
    ) -> None:
        """Collect the whole heap; keep its cycles as plain data.  ``final``: leave the heap unfrozen."""
        span, self._span = self._span, None
        start = time.monotonic()
        self._pause()
        try:
            # Left unfrozen: what the audit saves is held until it is
            # explained, and frozen then it would be frozen garbage again --
            # alive to every live count, the leak confirmation's included.
            # end_audit frees it, then freezes the heap again.
            result = self._window.audit()
        finally:
            self._resume()
        try:
            cycles = explain_garbage(result.garbage, owners, labeller, sites, ignore, sampled=bool(result.sampled))
            error = None
        except Exception as exc:  # a bug of ours must not fail the run
            cycles, error = [], describe_error(exc)
        finally:
            self._pause()
            try:
                self._window.end_audit(result, refreeze=not final)
            finally:
                self._resume()
        own = [cycle.to_dict() for cycle in cycles if cycle.kind == CYCLE]
        if (own or error) and span is not None:
            first, last, count = span
            audit: dict[str, Any] = {"first": first, "last": last, "tests": count, "cycles": own}
            if error:
                audit["error"] = error
            self.found.append(audit)
        del result, cycles
        self.last_took = time.monotonic() - start
        self._due_at = self._due(self._count())

    def cheaper_than_a_rerun(self, duration: float) -> bool:
        """Whether an audit costs less than running a test of this duration again."""
        return 2 * self.last_took <= duration


def still_alive(suspects: Sequence[type], tracker: LiveTracker) -> list[type]:
    """The suspects that still have live instances (after an audit freed the frozen garbage)."""
    alive = tracker.counts(list(suspects), frozen=True)
    return [tp for tp, n in zip(suspects, alive) if n]
