"""The guard: per-test window, judging at the teardown report, re-runs, and reporting.

Registered as a plugin object only when the guard is on (``plugin.py``):

* its ``pytest_fixture_setup`` and ``pytest_runtest_call`` hooks open the
  collection window before the test's first function-scoped fixture is set
  up (or when it is called), and a finalizer on the item closes it after
  they are torn down, inside pytest's teardown phase -- so finalizers run by
  that collection are attributed to the right test (pytest-dev/pytest#5299);
* its ``pytest_runtest_makereport`` wrapper judges the findings when the
  teardown report is made, before it is logged: it re-runs a test whose
  survivors look like a leak, or whose cycles would fail it, and turns the
  teardown report into a failure (fail mode) or emits a warning (warn mode).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest

from pytest_gcguard import __version__
from pytest_gcguard import extensions
from pytest_gcguard.engine.analysis import explain_garbage
from pytest_gcguard.engine.chains import NO_REFERRER
from pytest_gcguard.engine.chains import referrer_chains
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.engine.labels import NameCache
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.sites import SiteFinder
from pytest_gcguard.engine.sites import Tracing
from pytest_gcguard.engine.survivors import KindVerdicts
from pytest_gcguard.engine.survivors import LiveTracker
from pytest_gcguard.engine.survivors import grows_every_time
from pytest_gcguard.engine.survivors import held_by
from pytest_gcguard.engine.survivors import still_growing
from pytest_gcguard.engine.survivors import suspect_kinds
from pytest_gcguard.engine.window import GarbageWindow
from pytest_gcguard.engine.window import GcState
from pytest_gcguard.engine.window import WindowResult
from pytest_gcguard.engine.window import discard
from pytest_gcguard.judging import baseline as baseline_file
from pytest_gcguard.judging.allowance import judge
from pytest_gcguard.judging.baseline import fingerprint
from pytest_gcguard.markers import Allowances
from pytest_gcguard.options import Settings
from pytest_gcguard.pressure import pressure_key
from pytest_gcguard.reporting.graphs import write_graphs
from pytest_gcguard.reporting.json_report import build as build_report
from pytest_gcguard.reporting.results import Results
from pytest_gcguard.reporting.results import junit_properties
from pytest_gcguard.reporting.summary import ALLOWED
from pytest_gcguard.reporting.summary import FAILED
from pytest_gcguard.reporting.summary import INFO
from pytest_gcguard.reporting.summary import KNOWN
from pytest_gcguard.reporting.summary import NOT_JUDGED
from pytest_gcguard.reporting.summary import ONE_TIME
from pytest_gcguard.reporting.summary import WARNED
from pytest_gcguard.reporting.summary import Summary
from pytest_gcguard.reporting.summary import make_payload
from pytest_gcguard.reporting.text import format_finalizer_warnings
from pytest_gcguard.reporting.text import format_leak_report
from pytest_gcguard.reporting.text import format_test_report
from pytest_gcguard.reporting.text import format_uncollectable_report
from pytest_gcguard.reporting.text import plural
from pytest_gcguard.rerun import run_again
from pytest_gcguard.rerun import run_failed
from pytest_gcguard.warning_types import GcGuardWarning


# How many times a kind must prove benign, or a cycle shape one-time, before
# gc-guard stops re-running tests to check it again.
PRESUMED = 3

# Heap audits (docs/how-it-works.md, "The audit"): one costs a full
# collection of the whole heap, so they are spaced to take at most this share
# of the run's time, and at least this many seconds apart; one more runs at
# the end of the session.  (Audits before a re-run come on top, see _still_alive.)
AUDIT_SHARE = 0.01
AUDIT_MIN_INTERVAL = 2.0
# --gc-guard-graph errors printed in the summary.
MAX_ERRORS_SHOWN = 5

guard_key = pytest.StashKey["GcGuard"]()
# The payload of every clean test, shared: payloads are never changed once
# made, and pytest keeps every report, so a clean test adds nothing of ours.
_CLEAN_PAYLOAD = make_payload(())


@dataclass
class WindowFindings:
    """What one window saw. Live types only, never the objects themselves."""

    cycles: list[Cycle] = field(default_factory=list)
    suspects: dict[type, int] = field(default_factory=dict)
    error: str | None = None
    unjudgeable: bool = False
    unsaved: int = 0  # cyclic garbage freed past the window's cap: counted, not analysed
    tracker: LiveTracker | None = None  # weak references to the suspects' survivors
    finalizer_warnings: list[str] = field(default_factory=list)  # warnings made errors, raised in finalizers


# What a clean window saw: shared, never changed (a window with findings gets its own).
_CLEAN_WINDOW = WindowFindings()


class GcGuard:
    """Per-session state and the per-test hooks; registered only when enabled."""

    def __init__(
        self, config: pytest.Config, settings: Settings, known: dict[str, baseline_file.Entry] | None = None
    ) -> None:
        self.config = config
        self.settings = settings
        self.known = known or {}
        self.results = Results()
        self.state = GcState()
        self.window = GarbageWindow(self.state)
        self.summary = Summary()
        self._owners = CodeOwners()
        self._names = NameCache()
        # --gc-guard-trace: tracemalloc runs from configure (so objects made
        # at collection have sites too) to the end of the session.
        self._tracing = Tracing(settings.trace) if settings.trace else None
        self._sites: SiteFinder | None = None
        self._kind_sites: dict[type, Counter[str]] = {}
        self.allowances = Allowances()
        self._finished_fixtures: list[str] = []
        # The running test (also during re-runs), and what its run needs
        # until its teardown report is judged.  One test runs at a time, so
        # these live here rather than on the item's stash (cheaper per test).
        self._item: pytest.Item | None = None
        self._failed = False  # its setup or call failed or skipped
        self._duration = 0.0  # of its call
        self._nextitem: pytest.Item | None = None
        # Whether a fixture definition is function-scoped, by definition.
        self._function_scoped: dict[object, bool] = {}
        # pytest 8.0-8.3 put a hook of their own in sys.unraisablehook for each
        # test phase and the one before back after it (catch_unraisable_exception),
        # dropping the window's; pytest 8.4 installs one for the whole session.
        self._rewatch_each_phase = pytest.version_tuple < (8, 4)
        # Whether garbage may have been made since the last window closed
        # (by a higher-scoped fixture): the next window frees it first.
        self._between_windows = True
        # The latest window's findings, until its survivors are looked at,
        # and until they are judged (not while re-running).
        self._unscanned: WindowFindings | None = None
        self._pending: WindowFindings | None = None
        # Whether instances of a class can be leak suspects, by class: decided
        # once per class (weakly: never keep a test's class alive).
        self._kind_verdicts = KindVerdicts()
        # While re-running: what each re-run's window saw, and one live
        # object per tracked kind from the latest re-run (for its chain).
        self._rerunning = False
        self._rerun_findings: WindowFindings | None = None
        self._tracker: LiveTracker | None = None
        self._samples: dict[type, object] = {}
        self._sibling_ids: dict[type, list[int]] = {}
        self.baseline_update: tuple[int, int, int, int] | None = None  # findings, new, pruned, kept
        self.graphs_written = 0  # --gc-guard-graph: files written (DOT and SVG)
        self.graph_errors: list[str] = []
        # Cycle shapes a re-run has shown to recur on every call: another test
        # making one needs no re-run to tell it from a one-time cycle.
        self._recurring: set[str] = set()
        # Verdicts remembered across tests: suspect kinds that did not grow
        # and cycle shapes that did not recur.  After PRESUMED of them, a
        # kind is no longer a suspect and a shape is presumed one-time: on
        # networkx, hundreds of tests lazily compile a decorator (one-time
        # cycles, and inspect.Signature survivors) and each would be re-run.
        self._benign_kinds: dict[str, int] = {}  # by qualified name: never hold a class
        self._one_time_shapes: dict[str, int] = {}
        # Heap audits: what they found (plain data), and the tests since the last one.
        self.audits: list[dict[str, Any]] = []
        self._audit_tests: tuple[pytest.Item, pytest.Item, int] | None = None  # first, last, how many
        self._next_audit = time.monotonic() + AUDIT_MIN_INTERVAL
        self._last_audit_took = 0.0
        pressure = config.stash.get(pressure_key, None)
        self._stats = pressure.stats if pressure is not None else None

    def start_tracing(self) -> None:
        if self._tracing is not None:
            self._tracing.start()
            self._sites = SiteFinder(self._owners, self.config.rootpath)

    def restore(self) -> None:
        """Put the collector back as we found it (also after KeyboardInterrupt)."""
        self.window.detach()
        self.state.restore()
        if self._tracing is not None:
            self._tracing.stop()

    # ---- collection

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.allowances.read(items)
        test_files = {str(item.path) for item in items if isinstance(item, pytest.Function)}
        self._owners = CodeOwners(test_files, extensions.plugin_packages(self.config))
        if self._sites is not None:
            self._sites = SiteFinder(self._owners, self.config.rootpath)

    # ---- the window around each test

    @pytest.hookimpl(tryfirst=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        if self.window.is_open:
            return  # (a higher-scoped fixture set up now leaves its garbage in this window)
        scoped = self._function_scoped.get(fixturedef)
        if scoped is None:
            scoped = self._learn_scope(fixturedef)
        if scoped:
            self._open_window()  # before the test's first function-scoped fixture
        else:
            self._between_windows = True  # its setup may leave garbage: free it before the next window

    def _learn_scope(self, fixturedef: pytest.FixtureDef[Any]) -> bool:
        """Whether the fixture is function-scoped, remembered.

        The two fixture hooks look in ``_function_scoped`` inline first: they
        run for every fixture of every test, and a call costs a microsecond.
        """
        scoped = self._function_scoped[fixturedef] = fixturedef.scope == "function"
        return scoped

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        if not self.window.is_open:
            self._open_window()  # a test without function-scoped fixtures
        elif self._rewatch_each_phase:
            self.window.rewatch()

    def _open_window(self) -> None:
        """Watch for cyclic garbage from here until the test's function-scoped fixtures are torn down.

        Opened by hooks, not by an autouse fixture: one more fixture is
        pytest's most expensive per-test cost we could add (≈30 µs).  The
        per-test path is written for speed: in a pytest session, every call
        into one more Python function costs a microsecond or two.
        """
        item = self._item
        if item is None or self.window.is_open:
            return
        self._unscanned = None
        # Drop what we hold of an earlier run *before* the heap is frozen:
        # released after the freeze it would be frozen garbage, never freed,
        # and would look alive (and growing) to the next count.
        if self._samples:
            self._samples = {}
        stats = self._stats
        if stats is not None:
            stats.pause()
        try:
            # Free what became garbage since the last window only when
            # something may have made some: a higher-scoped fixture's setup
            # or teardown, or the first window.  pytest's own objects between
            # two tests are rarely cyclic garbage; any that are, frozen, wait
            # for the next heap audit (which does not report pytest's cycles).
            # A re-run always collects: what the last run left as garbage
            # (its fixture values, released after its teardown), frozen,
            # would look alive -- and growing -- to the leak count.
            self.window.open(collect=self._between_windows or self._rerunning)
            self._between_windows = False
        finally:
            if stats is not None:
                stats.resume()
        # Finalizers run last-in, first-out: registered before any
        # function-scoped fixture's, this one runs after all of them, and
        # before a module's or class's own teardown.
        item.addfinalizer(functools.partial(self._close_window, item))

    # --gc-guard-stats counts the test's collections, not ours.  (The per-test
    # path, _open_window and _close_window, does the same inline.)
    def _pause_stats(self) -> None:
        if self._stats is not None:
            self._stats.pause()

    def _resume_stats(self) -> None:
        if self._stats is not None:
            self._stats.resume()

    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        scoped = self._function_scoped.get(fixturedef)
        if scoped is None:
            scoped = self._learn_scope(fixturedef)
        if not scoped:
            self._between_windows = True
        elif self.window.is_open:
            self._finished_fixtures.append(fixturedef.argname)

    def _close_window(self, item: pytest.Item) -> None:
        if not self.window.is_open:
            return  # closed already (a KeyboardInterrupt, the session's end)
        # pytest releases function-scoped fixture values only after the
        # teardown phase (item.funcargs = None in runtestprotocol); drop the
        # ones already finalized now, so their cycles count for this test.
        if self._finished_fixtures:
            funcargs = getattr(item, "funcargs", None)
            if isinstance(funcargs, dict):
                for name in self._finished_fixtures:
                    funcargs.pop(name, None)
            self._finished_fixtures = []
        stats = self._stats
        if stats is not None:
            stats.pause()
        try:
            result = self.window.close()
        finally:
            if stats is not None:
                stats.resume()
        if (
            result.garbage
            or result.uncollectable
            or result.heap_was_unfrozen
            or result.unsaved
            or result.finalizer_warnings
            or self._rerunning
        ):
            findings = self._findings(item, result)
        else:
            findings = _CLEAN_WINDOW  # nothing to judge unless survivors say otherwise
        del result
        if self.settings.leaks:
            self._unscanned = findings  # its survivors are looked at when the teardown report is made
        if self._rerunning:
            self._rerun_findings = findings  # only the latest: nothing of ours piles up
            return
        self._pending = findings
        first, _, count = self._audit_tests or (item, item, 0)
        self._audit_tests = (first, item, count + 1)
        if time.monotonic() >= self._next_audit:
            self.audit()

    def _findings(self, item: pytest.Item, result: WindowResult) -> WindowFindings:
        """Turn what a window saved into plain findings, and free it."""
        findings = WindowFindings(
            unjudgeable=result.heap_was_unfrozen, unsaved=result.unsaved, finalizer_warnings=result.finalizer_warnings
        )
        self._pause_stats()
        try:
            if result.garbage or result.uncollectable:
                labeller = extensions.labeller(self.config, self._names, item)
                findings.cycles = _uncollectable(
                    explain_garbage(result.uncollectable, self._owners, labeller, self._sites)
                ) + explain_garbage(
                    result.garbage, self._owners, labeller, self._sites, extensions.ignorer(self.config, item)
                )
        except Exception as exc:  # a bug of ours must not fail the user's test
            findings.error = f"{type(exc).__name__}: {exc}"
        finally:
            result.uncollectable.clear()
            discard(result)  # free the window's garbage now, not at the next window's start
            self._resume_stats()
        return findings

    def audit(self, *, final: bool = False) -> None:
        """Collect the whole heap, frozen part included; keep its cycles as plain data.

        What it finds became garbage while the tests since the last audit ran
        (or between them): it is reported for that window of tests, never
        failing one of them.
        """
        tests, self._audit_tests = self._audit_tests, None
        start = time.monotonic()
        self._pause_stats()
        try:
            result = self.window.audit(refreeze=not final)
        finally:
            self._resume_stats()
        try:
            cycles = explain_garbage(
                result.garbage,
                self._owners,
                extensions.labeller(self.config, self._names, None),
                self._sites,
                extensions.ignorer(self.config, None),
            )
            error = None
        except Exception as exc:  # a bug of ours must not fail the run
            cycles, error = [], f"{type(exc).__name__}: {exc}"
        finally:
            result.garbage.clear()
        own = [cycle.to_dict() for cycle in cycles if cycle.kind == CYCLE]
        if (own or error) and tests is not None:
            first, last, count = tests
            audit: dict[str, Any] = {"first": first.nodeid, "last": last.nodeid, "tests": count, "cycles": own}
            if error:
                audit["error"] = error
            self.audits.append(audit)
        del result, cycles
        took = self._last_audit_took = time.monotonic() - start
        self._next_audit = time.monotonic() + max(took / AUDIT_SHARE, AUDIT_MIN_INTERVAL)

    def _latest_rerun(self) -> WindowFindings | None:
        """What the last re-run's window saw (set when its window closes, during run_again)."""
        return self._rerun_findings

    def _scan_survivors(self, item: pytest.Item) -> None:
        """What the window left alive, looked at once pytest's teardown phase is over.

        Not when the window closes: then pytest's own machinery for the
        teardown phase is still running, and its context managers (instances
        of ``contextlib``'s classes) would need a closer look in every test.
        Objects made since the window closed are pytest's (the phase's
        ``CallInfo``), never suspects.
        """
        findings, self._unscanned = self._unscanned, None
        if findings is None:
            return
        if self._between_windows:
            # A module's or class's fixtures were torn down after the window
            # closed (the last test of its scope): free their garbage first,
            # or it would pass for this test's survivors.
            self._pause_stats()
            try:
                gc.collect()
            finally:
                self._resume_stats()
            self._between_windows = False
        young = gc.get_objects()
        try:
            # Nearly always, every survivor is an instance of a class that
            # is never a suspect (builtins, pytest's): one C-level subset test.
            if set(map(type, young)) <= self._kind_verdicts.never and not self._rerunning:
                return
            if findings is _CLEAN_WINDOW:
                findings = self._pending = WindowFindings()
            self._survivors(item, findings, young)
        except Exception as exc:  # a bug of ours must not fail the user's test
            if findings is _CLEAN_WINDOW:
                findings = self._pending = WindowFindings()
            findings.error = findings.error or f"{type(exc).__name__}: {exc}"
        finally:
            young.clear()

    def _survivors(self, item: pytest.Item, findings: WindowFindings, young: list[object]) -> None:
        """Suspect kinds among what the window left alive (``young``); while re-running, follow them."""
        # What sits in gc.garbage (the user's own DEBUG_SAVEALL, objects the
        # collector could not free) is garbage, not a survivor.
        if gc.garbage:
            in_garbage = {id(obj) for obj in gc.garbage}
            young = [obj for obj in young if id(obj) not in in_garbage]
            del in_garbage
        findings.suspects = suspect_kinds(young, self._owners, self._kind_verdicts)
        if findings.suspects:
            # Instances of classes made during the test belong to modules it
            # imported for the first time (numpy's, scipy's): module state,
            # not growth.  A leak of such a class shows in the next test that
            # makes its instances, once the class is older than the window.
            young_ids = {id(obj) for obj in young}
            findings.suspects = {k: n for k, n in findings.suspects.items() if id(k) not in young_ids}
            new_modules = [m for m in list(sys.modules.values()) if id(m) in young_ids]
            # Likewise what those modules' globals hold (a PytestTester per
            # scipy subpackage); and what setup_method stores on the test
            # class's instance lives as long as pytest keeps the item
            # (pytest-dev/pytest#11374): pytest's retention, not the code under test's.
            instance = getattr(item, "instance", None)
            roots = new_modules if instance is None else [*new_modules, instance]
            if findings.suspects and roots:
                kept_alive = held_by(roots, young, young_ids)
                young = [obj for obj in young if id(obj) not in kept_alive]
                kept = suspect_kinds(young, self._owners, self._kind_verdicts)
                findings.suspects = {k: n for k, n in kept.items() if k in findings.suspects}
            del young_ids, new_modules, roots
        tracker = self._tracker if self._rerunning else None
        if findings.suspects and not self._rerunning:
            tracker = findings.tracker = LiveTracker(findings.suspects)
        if tracker is not None:
            tracker.track(young)
        if self._rerunning and tracker is not None:
            self._sibling_ids = {}
            self._kind_sites = {}
            sites = self._sites
            for obj in young:
                kind = type(obj)
                if tracker.follows(kind):
                    self._samples[kind] = obj
                    self._sibling_ids.setdefault(kind, []).append(id(obj))
                    if sites is not None:
                        self._kind_sites.setdefault(kind, Counter())[sites.site(obj)] += 1
        young.clear()

    # ---- judging, when the teardown report is made

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._item = item  # for the window (also during re-runs)
        if not self._rerunning:
            self._pending = None
            # A new run of the protocol: pytest-rerunfailures runs it again for
            # a failed test, and that attempt is judged on its own outcome.
            self._failed = False
            self._duration = 0.0

    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        self._nextitem = nextitem
        if self._rewatch_each_phase:
            self.window.rewatch()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        if call.when == "teardown" and self._unscanned is not None:
            self._scan_survivors(item)
        report = yield
        if self._rerunning:
            return report
        when = call.when
        if when != "teardown":
            if report.outcome != "passed":  # failed, or skipped
                self._failed = True
            if when == "call":
                self._duration = call.duration
            return report
        findings, self._pending = self._pending, None
        if findings is None:
            return report
        if findings is _CLEAN_WINDOW:
            report.gc_guard = _CLEAN_PAYLOAD  # type: ignore[attr-defined]
            return report
        self._judge(item, report, findings)
        error = extensions.call_report_hook(item, report, report.gc_guard)
        if error is not None:
            self._warn(report, error)
        return report

    def _judge(self, item: pytest.Item, report: pytest.TestReport, findings: WindowFindings) -> None:
        if not (
            findings.cycles
            or findings.suspects
            or findings.finalizer_warnings
            or findings.error
            or findings.unjudgeable
            or findings.unsaved
        ):
            report.gc_guard = _CLEAN_PAYLOAD  # type: ignore[attr-defined]  # a clean test: nothing to judge
            return
        # A test that already failed keeps its own failure only; a test that
        # unfroze the heap let older garbage into its window.
        not_judged = self._failed or findings.unjudgeable or report.failed
        allow = self.settings.allow
        verdict = judge(findings.cycles, self.allowances.cycles.get(item.nodeid))
        allowed = {id(c) for c in verdict.allowed}
        allowed.update(id(c) for c in verdict.failing if allow.covers_cycle(c.member_types))
        known = {id(c) for c in verdict.failing if self._is_known(item.nodeid, c.kind, c.shape)}
        failing = [c for c in verdict.failing if id(c) not in allowed and id(c) not in known]
        leak_allowance = self.allowances.leaks.get(item.nodeid)
        suspects = []
        for kind in findings.suspects:
            mro = [type_name(k) for k in kind.__mro__]
            if (leak_allowance is None or not leak_allowance.covers(mro)) and not allow.covers_leak(mro):
                suspects.append(kind)
        leaks: list[Leak] = []
        reruns = 0
        unconfirmed = None
        suspects = [k for k in suspects if self._benign_kinds.get(type_name(k), 0) < PRESUMED]
        presumed = {c.fingerprint for c in failing if self._one_time_shapes.get(c.fingerprint, 0) >= PRESUMED}
        # (Uncollectable garbage stays for good, even made once: no re-run tells it apart.)
        unsure = [
            c
            for c in failing
            if c.kind == CYCLE and c.fingerprint not in self._recurring and c.fingerprint not in presumed
        ]
        one_time = set(presumed)
        if not not_judged and suspects and findings.tracker is not None:
            suspects = self._still_alive(item, suspects, findings.tracker)
        if not not_judged and (unsure or suspects):
            reruns, unconfirmed, rerun_one_time, leaks = self._rerun(item, unsure, suspects, findings.tracker)
            one_time |= rerun_one_time
            if unconfirmed is None:
                self._recurring.update(c.fingerprint for c in unsure if c.fingerprint not in one_time)
                for fingerprint_ in rerun_one_time:
                    self._one_time_shapes[fingerprint_] = self._one_time_shapes.get(fingerprint_, 0) + 1
                grown = {leak.kind for leak in leaks}
                for name in {type_name(kind) for kind in suspects} - grown:
                    self._benign_kinds[name] = self._benign_kinds.get(name, 0) + 1
        failing = [c for c in failing if c.fingerprint not in one_time]
        fail_status = NOT_JUDGED if not_judged else (FAILED if self.settings.mode == "fail" else WARNED)
        failing_ids = {id(c) for c in failing}
        entries = []
        for cycle in findings.cycles:
            if id(cycle) in failing_ids:
                status = fail_status
            elif cycle.fingerprint in one_time:
                status = ONE_TIME
            elif id(cycle) in known:
                status = KNOWN
            elif id(cycle) in allowed or cycle.kind in (CYCLE, UNCOLLECTABLE):
                status = ALLOWED
            else:
                status = INFO
            entries.append((cycle, status))
        known_leaks = [leak for leak in leaks if self._is_known(item.nodeid, "leak", leak.shape)]
        # Growth that no Python referrer explains (the search found no root
        # and no pytest structure) is reported, never failed: it is as likely
        # an artefact (objects pending collection, C-level caches) as a leak.
        unexplained = [leak for leak in leaks if leak.chain is None or leak.chain.root.startswith(NO_REFERRER)]
        leaks = [leak for leak in leaks if leak not in known_leaks and leak not in unexplained]
        note = None
        if findings.unjudgeable:
            note = "the test unfroze the heap (gc.unfreeze()): older garbage was collected with its own"
        elif unconfirmed:
            note = f"a possible leak could not be confirmed: {unconfirmed}"
        elif unexplained:
            kinds = ", ".join(leak.kind for leak in unexplained)
            note = f"grew on every re-run, but no Python referrer keeps it (not failing): {kinds}"
        leak_entries = [(leak, fail_status) for leak in leaks] + [(leak, KNOWN) for leak in known_leaks]
        # A warning that the user's filters make an error, raised by a
        # finalizer of the test's garbage, can only surface as "unraisable":
        # pytest reports it as a warning.  It fails the test, whatever the
        # mode: the filter asked for an error, gc-guard only says whose it is.
        finalizer = [] if not_judged else findings.finalizer_warnings
        payload = make_payload(
            entries,
            findings.error,
            note,
            leaks=leak_entries,
            reruns=reruns,
            unsaved=findings.unsaved,
            finalizer_warnings=finalizer,
            judged=not not_judged and unconfirmed is None,
        )
        report.gc_guard = payload  # type: ignore[attr-defined]
        report.user_properties.extend(junit_properties(payload))
        if findings.error is not None:
            self._warn(report, f"gc-guard could not explain this test's garbage: {findings.error}")
        if not_judged or not (failing or leaks or finalizer):
            return
        parts = []
        stuck = [c for c in failing if c.kind == UNCOLLECTABLE]
        if stuck:
            parts.append(format_uncollectable_report(stuck))
        if len(stuck) < len(failing):
            extra = f"\n  ({verdict.exceeded})" if verdict.exceeded else ""
            cycles = [c for c in failing if c.kind != UNCOLLECTABLE]
            parts.append(format_test_report(cycles, unsaved=findings.unsaved) + extra)
        if leaks:
            parts.append(format_leak_report(leaks))
        if finalizer:
            parts.append(format_finalizer_warnings(finalizer))
        text = "\n".join(parts)
        if self.settings.mode == "fail" or finalizer:
            _fail_report(report, text)
        else:
            self._warn(report, text)

    def _still_alive(self, item: pytest.Item, suspects: list[type], tracker: LiveTracker) -> list[type]:
        """The suspects that are still alive after a heap audit, when an audit costs less than a re-run.

        Survivors can be garbage: members of a cycle through an object older
        than the test, which the frozen heap keeps (networkx's held_karp tests
        leave such graphs).  Re-running would show them "growing"; an audit
        frees them, and names the cycle in its report.
        """
        if 2 * self._last_audit_took > self._duration:
            return suspects  # the test is quick: re-running it costs less
        self.audit()
        alive = tracker.counts(suspects, frozen=True)
        return [kind for kind, n in zip(suspects, alive) if n]

    def _is_known(self, nodeid: str, kind: str, shape: str) -> bool:
        """In the baseline -- or being recorded into it (--gc-guard-update-baseline)."""
        return self.settings.update_baseline or fingerprint(nodeid, kind, shape) in self.known

    def _warn(self, report: pytest.TestReport, text: str) -> None:
        try:
            warnings.warn(GcGuardWarning(text), stacklevel=1)
        except GcGuardWarning:
            # -W error::pytest_gcguard.GcGuardWarning: the warning is the failure.
            _fail_report(report, f"GcGuardWarning: {text}")

    def _rerun(
        self, item: pytest.Item, failing: list[Cycle], suspects: list[type], tracker: LiveTracker | None
    ) -> tuple[int, str | None, set[str], list[Leak]]:
        """Run the test again: do its cycles recur, do its suspects keep growing?"""
        nextitem = self._nextitem
        tracker = tracker if tracker is not None else LiveTracker(suspects)
        counts = [tracker.counts(suspects, frozen=True)] if suspects else []
        # `failing` holds only the cycles whose recurrence is not known yet.
        runs: list[WindowFindings] = []
        unconfirmed = None
        self._rerunning = True
        self._tracker = tracker
        self._rerun_findings = None
        self._pause_stats()
        try:
            # One re-run tells a one-time cycle; confirming growth takes
            # `repeat`, but stops as soon as no suspect kind grew (a lazy
            # first-time initialisation costs one re-run).
            for _ in range(self.settings.repeat if suspects else 1):
                reports = run_again(item, nextitem)
                unconfirmed = run_failed(reports)
                del reports
                if unconfirmed is not None:
                    break
                latest = self._latest_rerun()
                if latest is not None:
                    runs.append(latest)
                if suspects:
                    counts.append(tracker.counts(suspects, frozen=True))
                    if not any(still_growing([run[i] for run in counts]) for i in range(len(suspects))):
                        break
            one_time = set()
            if runs:
                recurring = {c.fingerprint for c in runs[0].cycles}
                one_time = {c.fingerprint for c in failing if c.fingerprint not in recurring}
            leaks = []
            if unconfirmed is None and suspects:
                grown = [(kind, tuple(run[i] for run in counts)) for i, kind in enumerate(suspects)]
                leaks = self._leaks(item, [(kind, series) for kind, series in grown if grows_every_time(series)])
        finally:
            self._resume_stats()
            self._rerunning = False
            self._tracker = None
            self._samples = {}
            self._sibling_ids = {}
            self._kind_sites = {}
            self._rerun_findings = None
        return len(counts) - 1 if suspects else len(runs), unconfirmed, one_time, leaks

    def _leaks(self, item: pytest.Item, grown: list[tuple[type, tuple[int, ...]]]) -> list[Leak]:
        """Leaks of the kinds that grew: one chain each, from one batched referrer search."""
        samples, self._samples = self._samples, {}
        try:
            ignore = extensions.ignorer(self.config, item)
            ignored = {kind for kind, _ in grown if kind in samples and ignore is not None and ignore(samples[kind])}
            kinds = [kind for kind, _ in grown if kind in samples and kind not in ignored]
            chains = referrer_chains(
                [samples[kind] for kind in kinds],
                self._owners,
                extensions.labeller(self.config, self._names, item),
                frozen=True,
                siblings=[frozenset(self._sibling_ids.get(kind, ())) for kind in kinds],
                ignore=frozenset({id(samples), id(self.__dict__)}),
            )
            chain_of = dict(zip(kinds, chains))
            sites = self._sites
            site_of = {kind: sites.site(samples[kind]) for kind in kinds} if sites is not None else {}
        finally:
            samples.clear()
        leaks = []
        for kind, series in grown:
            if kind in ignored:
                continue  # the pytest_gcguard_ignore hook said so
            chain = chain_of.get(kind)
            if chain is not None and chain.held_by_pytest:
                continue  # pytest's own bookkeeping grows per run, not the code under test
            site = site_of.get(kind, "")
            shares = self._kind_sites.get(kind, Counter())
            leaks.append(
                Leak(
                    type_name(kind),
                    series,
                    chain,
                    tuple(type_name(k) for k in kind.__mro__),
                    site=site,
                    site_share=shares[site] if site else 0,
                    site_total=sum(shares.values()) if site else 0,
                )
            )
        return leaks

    # ---- reporting

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # On the xdist controller too: the payload travels on the report.
        settings = self.settings
        if settings.report is not None or settings.update_baseline or settings.annotations:
            self.results.add(report)
        payload = getattr(report, "gc_guard", None)
        if report.when == "teardown" and isinstance(payload, dict):
            self.summary.add(report.nodeid, payload)
            if settings.graph is not None and not hasattr(self.config, "workerinput"):
                self._draw(settings.graph, report.nodeid, payload)

    def _draw(self, directory: Path, nodeid: str, payload: dict[str, Any]) -> None:
        """--gc-guard-graph: a picture can fail (a full disk, a broken `dot`); the run goes on."""
        try:
            self.graphs_written += len(write_graphs(directory, nodeid, payload))
        except (OSError, subprocess.SubprocessError) as exc:
            self.graph_errors.append(f"{nodeid}: {type(exc).__name__}: {exc}")

    def pytest_sessionfinish(self) -> None:
        # Before pytest_unconfigure: pytest's unraisable plugin collects there,
        # and must see an unfrozen heap.
        if self.window.is_open:
            self.window.detach()  # interrupted inside a test
        if self.state.froze:
            self.audit(final=True)  # leaves the heap unfrozen; restore() makes sure
        self.restore()
        for audit in self.audits:
            self.summary.add_audit(audit)
        if hasattr(self.config, "workerinput"):
            # The xdist controller writes the files, with every worker's data.
            self.config.workeroutput["gc_guard_audits"] = self.audits  # type: ignore[attr-defined]
            return
        settings = self.settings
        if settings.report is not None:
            document = build_report(
                self.results.tests(),
                plugin_version=__version__,
                pytest_version=pytest.__version__,
                settings=settings.as_json(),
                audits=self.summary.audits,
            )
            baseline_file.write_atomically(settings.report, json.dumps(document, indent=2) + "\n")
        if settings.update_baseline and settings.baseline is not None:
            # Entries of tests that did not run (-k, one file, --lf) are kept:
            # an update replaces only what this run could see.
            checked = self.results.checked()
            kept = [entry for entry in self.known.values() if entry.nodeid not in checked]
            entries = self.results.baseline_entries() + kept
            new = {e.fingerprint: e for e in entries}
            added, pruned = len(set(new) - set(self.known)), len(set(self.known) - set(new))
            self.baseline_update = (len(new), added, pruned, len(kept))
            baseline_file.write_atomically(settings.baseline, baseline_file.render(list(new.values())))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """pytest-xdist, on the controller: a worker's heap audits arrive with its output."""
        for audit in getattr(node, "workeroutput", {}).get("gc_guard_audits", ()):
            self.summary.add_audit(audit)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if hasattr(self.config, "workerinput"):
            return  # xdist workers' output is not shown; the controller prints
        lines = self.summary.lines(verbose=self.config.get_verbosity() > 0)
        settings = self.settings
        if settings.report is not None:
            lines.append(f"report written to {settings.report}")
        if settings.graph is not None and (self.graphs_written or self.graph_errors):
            lines.append(f"{plural(self.graphs_written, 'graph file')} written to {settings.graph}")
            lines.extend(f"could not draw {error}" for error in self.graph_errors[:MAX_ERRORS_SHOWN])
        if self.baseline_update is not None:
            total, added, pruned, kept = self.baseline_update
            of_others = f", {kept} kept of tests that did not run or were not judged" if kept else ""
            lines.append(
                f"baseline written to {settings.baseline}: {plural(total, 'finding')} "
                f"({added} new, {pruned} pruned{of_others})"
            )
        if lines:
            terminalreporter.write_sep("=", "gc-guard summary", yellow=True, bold=False)
            for line in lines:
                terminalreporter.write_line(line)
        if settings.annotations:
            for line in self.results.annotations():
                terminalreporter.write_line(line)


def _fail_report(report: pytest.TestReport, text: str) -> None:
    """Turn a passed teardown report into the gc-guard failure."""
    report.outcome = "failed"
    report.longrepr = text


def _uncollectable(cycles: list[Cycle]) -> list[Cycle]:
    """Findings of the kind ``uncollectable``: whoever's code made them, they are never freed."""
    return [dataclasses.replace(cycle, kind=UNCOLLECTABLE) for cycle in cycles]
