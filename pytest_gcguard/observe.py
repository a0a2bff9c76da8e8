"""What one window saw, as plain findings: its cyclic garbage explained, and its suspect survivors.

No pytest here: the guard passes in what it knows of the test (its class
instance, the extension hooks as callables).
"""

from __future__ import annotations

import dataclasses
import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from pytest_gcguard.engine.analysis import explain_garbage
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.introspect import describe_error
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.sites import Sites
from pytest_gcguard.engine.survivors import ClassVerdicts
from pytest_gcguard.engine.survivors import LiveTracker
from pytest_gcguard.engine.survivors import held_by
from pytest_gcguard.engine.survivors import suspect_classes
from pytest_gcguard.engine.window import WindowResult
from pytest_gcguard.engine.window import discard


@dataclass
class WindowFindings:
    """What one window saw. Live types only, never the objects themselves."""

    cycles: list[Cycle] = field(default_factory=list)
    suspects: dict[type, int] = field(default_factory=dict)
    error: str | None = None
    not_judged: str | None = None  # why the window's findings cannot be judged (the test unfroze the heap, ...)
    walk_note: str | None = None  # why its survivors were not looked at (too many: survivors.cut_short)
    unsaved: int = 0  # cyclic garbage freed past the window's cap: counted, not analysed
    sampled: int = 0  # the objects one collection found, of which the window analysed a sample (its cap)
    tracker: LiveTracker | None = None  # weak references to the suspects' survivors
    finalizer_warnings: list[str] = field(default_factory=list)  # warnings made errors, raised in finalizers
    # Threads the test started that still ran when the window closed (engine/threads.py):
    # what they hold was not garbage yet, so the window may have seen part of the test's cycles.
    threads_running: int = 0

    def is_clean(self) -> bool:
        return not (
            self.cycles
            or self.suspects
            or self.finalizer_warnings
            or self.error
            or self.not_judged
            or self.walk_note
            or self.unsaved
        )


# What a clean window saw: shared, never changed (a window with findings gets its own).
CLEAN = WindowFindings()


def has_findings(result: WindowResult) -> bool:
    """Whether a closed window saved anything to explain (most windows do not)."""
    return bool(
        result.garbage
        or result.uncollectable
        or result.not_judged is not None
        or result.unsaved
        or result.finalizer_warnings
    )


def explain_window(
    result: WindowResult,
    owners: CodeOwners,
    labeller: Labeller,
    sites: Sites | None,
    ignore: Callable[[object], bool] | None,
    *,
    shapes: frozenset[str] | None = None,
) -> WindowFindings:
    """Turn what a window saved into plain findings, and free it.

    ``shapes``: all that is wanted is whether cycles of these shape keys are
    among the garbage (a re-run's question, ``engine/shapes.py``): the cycles
    are explained for their shapes only, until all of them are found; an
    empty set explains nothing.
    """
    findings = WindowFindings(
        not_judged=result.not_judged,
        unsaved=result.unsaved,
        sampled=result.sampled,
        finalizer_warnings=result.finalizer_warnings,
    )
    try:
        if (result.garbage or result.uncollectable) and (shapes is None or shapes):
            only = shapes is not None
            stuck = explain_garbage(result.uncollectable, owners, labeller, sites, shapes_only=only)
            # Uncollectable objects are findings of their own kind: whoever's code made them, they are never freed.
            findings.cycles = [dataclasses.replace(cycle, kind=UNCOLLECTABLE) for cycle in stuck]
            if shapes is not None:
                shapes = shapes.difference(cycle.shape_key for cycle in findings.cycles)
            findings.cycles += explain_garbage(
                result.garbage,
                owners,
                labeller,
                sites,
                ignore,
                sampled=bool(result.sampled),
                shapes_only=only,
                until_found=shapes,
            )
    except Exception as exc:  # a bug of ours must not fail the user's test
        findings.error = describe_error(exc)
    finally:
        result.uncollectable.clear()
        discard(result)  # free the window's garbage now, not at the next window's start
    return findings


def find_suspects(
    young: list[object], instance: object, owners: CodeOwners, verdicts: ClassVerdicts
) -> tuple[dict[type, int], list[object]]:
    """Suspect types among what a window left alive (``young``), and the survivors worth tracking.

    ``instance``: the test's class instance, if any.
    """
    # What sits in gc.garbage (the user's own DEBUG_SAVEALL, objects the
    # collector could not free) is garbage, not a survivor.
    if gc.garbage:
        in_garbage = {id(obj) for obj in gc.garbage}
        young = [obj for obj in young if id(obj) not in in_garbage]
        del in_garbage
    suspects = suspect_classes(young, owners, verdicts)
    if not suspects:
        return suspects, young
    # Instances of classes made during the test belong to modules it
    # imported for the first time (numpy's, scipy's): module state, not
    # growth.  A leak of such a class shows in the next test that makes its
    # instances, once the class is older than the window.
    young_ids = {id(obj) for obj in young}
    suspects = {k: n for k, n in suspects.items() if id(k) not in young_ids}
    new_modules = [m for m in list(sys.modules.values()) if id(m) in young_ids]
    # Likewise what those modules' globals hold (a PytestTester per scipy
    # subpackage); and what setup_method stores on the test class's instance
    # lives as long as pytest keeps the item (pytest-dev/pytest#11374):
    # pytest's retention, not the code under test's.
    roots = new_modules if instance is None else [*new_modules, instance]
    if suspects and roots:
        kept_alive = held_by(roots, young, young_ids)
        young = [obj for obj in young if id(obj) not in kept_alive]
        kept = suspect_classes(young, owners, verdicts)
        suspects = {k: n for k, n in kept.items() if k in suspects}
    return suspects, young
