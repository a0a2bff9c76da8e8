"""Heap audits: a full collection of the whole heap, frozen part included (docs/how-it-works.md, "The audit").

What an audit finds became garbage while the tests since the last audit ran
(or between them): cycles through objects older than a test, which the
frozen heap kept.  It is reported for that span of tests, never failing one
of them.  An audit costs a full collection, so audits are spaced to take at
most ``AUDIT_SHARE`` of the run's time; one more runs at the end.
"""

from __future__ import annotations

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


AUDIT_SHARE = 0.01
AUDIT_MIN_INTERVAL = 2.0


class HeapAudits:
    """When to audit, and what the audits found (plain data only)."""

    def __init__(self, window: GarbageWindow, pause: Callable[[], None], resume: Callable[[], None]) -> None:
        self._window = window
        self._pause = pause  # --gc-guard-stats counts the tests' collections, not ours
        self._resume = resume
        self.found: list[dict[str, Any]] = []
        self._span: tuple[str, str, int] | None = None  # first and last test since the last audit, how many
        self._next = time.monotonic() + AUDIT_MIN_INTERVAL
        self.last_took = 0.0

    def test_done(self, nodeid: str) -> bool:
        """Count a test's window; whether an audit is due now."""
        first, _, count = self._span or (nodeid, nodeid, 0)
        self._span = (first, nodeid, count + 1)
        return time.monotonic() >= self._next

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
        took = self.last_took = time.monotonic() - start
        self._next = time.monotonic() + max(took / AUDIT_SHARE, AUDIT_MIN_INTERVAL)

    def cheaper_than_a_rerun(self, duration: float) -> bool:
        """Whether an audit costs less than running a test of this duration again."""
        return 2 * self.last_took <= duration


def still_alive(suspects: Sequence[type], tracker: LiveTracker) -> list[type]:
    """The suspects that still have live instances (after an audit freed the frozen garbage)."""
    alive = tracker.counts(list(suspects), frozen=True)
    return [tp for tp, n in zip(suspects, alive) if n]
