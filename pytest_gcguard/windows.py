"""The collection window around each test, and what it saw: its garbage explained, its survivors scanned.

``TestWindows`` opens a window before a test's first function-scoped
fixture (or when it is called) and closes it from an item finalizer after
they are torn down, inside pytest's teardown phase, so finalizers run by that
collection are attributed to the right test (pytest-dev/pytest#5299).  What
a window saw goes to the *current run*: the test's own
(``judgement.FirstRun``, judged when its teardown report is made) or a
re-run (``rerun.Rerun``, which returns what it observed).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Union

import pytest

from pytest_gcguard import extensions
from pytest_gcguard.engine import owncollect
from pytest_gcguard.engine.analysis import merge_cycles
from pytest_gcguard.engine.callbacks import quiet
from pytest_gcguard.engine.callbacks import settle
from pytest_gcguard.engine.introspect import describe_error
from pytest_gcguard.engine.labels import NameCache
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.sites import OWNER_FRAMES
from pytest_gcguard.engine.sites import KnownAllocations
from pytest_gcguard.engine.sites import SiteFinder
from pytest_gcguard.engine.sites import Tracing
from pytest_gcguard.engine.survivors import MAX_SURVIVORS
from pytest_gcguard.engine.survivors import ClassVerdicts
from pytest_gcguard.engine.survivors import cut_short
from pytest_gcguard.engine.threads import ThreadId
from pytest_gcguard.engine.threads import running_threads
from pytest_gcguard.engine.threads import wait_for_started
from pytest_gcguard.engine.window import GarbageWindow
from pytest_gcguard.engine.window import WindowResult
from pytest_gcguard.judgement import FirstRun
from pytest_gcguard.observe import CLEAN
from pytest_gcguard.observe import WindowFindings
from pytest_gcguard.observe import explain_window
from pytest_gcguard.observe import find_suspects
from pytest_gcguard.observe import has_findings
from pytest_gcguard.pressure import GcPressure
from pytest_gcguard.rerun import Explainers
from pytest_gcguard.rerun import Rerun


Run = Union[FirstRun, Rerun]


class TestWindows:
    """One window at a time, around the running test; its findings go to the current run."""

    __test__ = False  # not a test class, whatever pytest's name rules say

    run: Run  # set by the guard: the test's own run, or a re-run while one runs

    def __init__(
        self, config: pytest.Config, window: GarbageWindow, *, leaks: bool, pressure: GcPressure | None
    ) -> None:
        self.config = config
        self.window = window
        self.owners = CodeOwners()
        self.sites: SiteFinder | None = None  # --gc-guard-trace
        self._owner_sites: SiteFinder | None = None  # for a re-run traced to find owners (traced)
        self._tracing: Tracing | None = None  # while a re-run is traced
        self._rootpath = config.rootpath
        self._names = NameCache()
        self._leaks = leaks
        self._stats = pressure.stats if pressure is not None else None  # --gc-guard-stats: the tests' collections
        self.finished_fixtures: list[str] = []
        # Whether garbage may have been made since the last window closed
        # (by a higher-scoped fixture): the next window frees it first.
        self.between_windows = True
        self._unscanned: WindowFindings | None = None  # the latest window's, until its survivors are looked at
        self._left_alive = 0  # objects the scanned windows left alive, all told (the heap audits' growth estimate)
        self._type_verdicts = ClassVerdicts()  # whether a class's instances can be suspects, decided once per class
        self._item: pytest.Item | None = None  # the test whose window is open
        # What the test's own gc.collect() calls saved, explained at once (see _own_collect).
        self._early: WindowFindings | None = None
        # The threads running when the window opened (engine/threads.py): None when only the main one did.
        self._threads: frozenset[ThreadId] | None = None

    def set_owners(self, owners: CodeOwners, rootpath: Path) -> None:
        self.owners = owners
        self._rootpath = rootpath
        self._owner_sites = None
        if self.sites is not None:
            self.sites = SiteFinder(owners, rootpath)

    @contextmanager
    def traced(self) -> Iterator[None]:
        """tracemalloc for the window of a block: its cycles of plain containers are owned by who allocated them.

        For one re-run of a test whose cycle has no owner (``rerun.py``).
        With ``--gc-guard-trace`` every window has them already.  tracemalloc
        the user runs is used as it is, and left running; what this starts
        stops once the window's garbage is saved (``close``), or here.
        """
        if self.sites is not None:
            yield
            return
        tracing = self._tracing = Tracing(OWNER_FRAMES)
        tracing.start()
        try:
            yield
        finally:
            tracing.stop()  # (stops nothing when the window stopped it already)
            self._tracing = None

    @property
    def unscanned(self) -> bool:
        return self._unscanned is not None

    def open(self, item: pytest.Item | None) -> None:
        """Watch for cyclic garbage from here until the test's function-scoped fixtures are torn down.

        Opened by hooks, not by an autouse fixture: one more fixture is
        pytest's most expensive per-test cost we could add (≈30 µs).  The
        per-test path is written for speed: in a pytest session, every call
        into one more Python function costs a microsecond or two.
        """
        if item is None or self.window.is_open:
            return
        self._unscanned = None
        stats = self._stats
        if stats is not None:
            stats.pause()
        try:
            # Free what became garbage since the last window only when
            # something may have made some: a higher-scoped fixture's setup
            # or teardown, or the first window.  pytest's own objects between
            # two tests are rarely cyclic garbage; any that are, frozen, wait
            # for the next heap audit (which does not report pytest's cycles).
            self.window.open(freeze=self.run.freezes, collect=self.between_windows or self.run.always_collect)
            self.between_windows = False
        finally:
            if stats is not None:
                stats.resume()
        # Finalizers run last-in, first-out: registered before any
        # function-scoped fixture's, this one runs after all of them, and
        # before a module's or class's own teardown.
        item.addfinalizer(functools.partial(self.close, item))
        self._item, self._early = item, None
        self._threads = running_threads()
        owncollect.install(self._own_collect)

    def _own_collect(self) -> None:
        """After the test's own ``gc.collect()``: explain what the window saved now, and free it before it returns.

        Saved, the test's garbage would stay alive till the window closes,
        and ``gc.get_referrers()``, ``gc.get_objects()``, ``sys.getrefcount()``
        would see it, as they would not without gc-guard (engine/owncollect.py).
        The findings are the same: merged with what the close explains.
        Collections made meanwhile save nothing, and the test's
        ``gc.callbacks`` entries do not see them (``quiet``).
        """
        window = self.window
        if not window.saved_for_test():
            return  # (the usual: nothing saved, or a library API block's window is innermost)
        self.pause_stats()
        try:
            with quiet():
                result = window.release()
                explain = self.explainers(self._item)
                findings = explain_window(result, explain.owners, explain.labeller, explain.sites, explain.ignore)
                del result
        finally:
            self.resume_stats()
        self._early = _merged(self._early, findings)

    def close(self, item: pytest.Item) -> None:
        owncollect.uninstall()
        early, self._early, self._item = self._early, None, None
        if not self.window.is_open:
            return  # closed already (a KeyboardInterrupt, the session's end)
        # pytest releases function-scoped fixture values only after the
        # teardown phase (item.funcargs = None in runtestprotocol); drop the
        # ones already finalized now, so their cycles count for this test.
        if self.finished_fixtures:
            funcargs = getattr(item, "funcargs", None)
            if isinstance(funcargs, dict):
                for name in self.finished_fixtures:
                    funcargs.pop(name, None)
            self.finished_fixtures = []
        stats = self._stats
        if stats is not None:
            stats.pause()
        try:
            # What a thread the test started still holds is not garbage yet: wait a little for it to end.
            straggling = wait_for_started(self._threads)
            result = self.window.close()
            if has_findings(result) or self.run.explains_every_window or early is not None:
                explain = self.explainers(item)
                # A traced re-run (naming who allocated a cycle of plain containers) needs the
                # cycles' owners: the whole explanation, not the shape-only one.
                shapes = self.run.wanted_shapes() if self._tracing is None else None
                sites = explain.sites if self._tracing is None else self._allocations(result)
                findings = explain_window(
                    result, explain.owners, explain.labeller, sites, explain.ignore, shapes=shapes
                )
                findings = _merged(early, findings)
            else:
                findings = CLEAN  # nothing to judge unless survivors say otherwise
        finally:
            if stats is not None:
                stats.resume()
        del result
        if straggling:
            findings = dataclasses.replace(findings, threads_running=straggling)
        if self._leaks:
            self._unscanned = findings  # its survivors are looked at when the teardown report is made
        self.run.window_closed(item, findings)

    def _allocations(self, result: WindowResult) -> KnownAllocations:
        """Who allocated the garbage of a traced window; then tracing stops, before the analysis allocates."""
        if self._owner_sites is None:
            self._owner_sites = SiteFinder(self.owners, self._rootpath)
        tracing, self._tracing = self._tracing, None
        try:
            return KnownAllocations(self._owner_sites, [*result.garbage, *result.uncollectable])
        finally:
            if tracing is not None:
                tracing.stop()

    def scan_survivors(self, item: pytest.Item) -> None:
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
        if self.between_windows:
            # A module's or class's fixtures were torn down after the window
            # closed (the last test of its scope): free their garbage first,
            # or it would pass for this test's survivors.
            self.pause_stats()
            try:
                settle()  # (with what their finalizers bred: the next window would freeze it)
            finally:
                self.resume_stats()
            self.between_windows = False
        young = gc.get_objects()
        self._left_alive += len(young)
        try:
            if not self.run.follows_survivors:
                return
            # Nearly always, every survivor is an instance of a class that
            # is never a suspect (builtins, pytest's): one C-level subset test.
            if set(map(type, young)) <= self._type_verdicts.never and not self.run.explains_every_window:
                return
            findings = self.run.own(findings)
            if len(young) > MAX_SURVIVORS:
                findings.walk_note = cut_short(len(young))
                return
            findings.suspects, young = find_suspects(
                young, getattr(item, "instance", None), self.owners, self._type_verdicts
            )
            self.run.survivors(item, findings, young)
        except Exception as exc:  # a bug of ours must not fail the user's test
            findings = self.run.own(findings)
            findings.error = findings.error or describe_error(exc)
        finally:
            young.clear()

    def explainers(self, item: pytest.Item | None) -> Explainers:
        """The owners, the labeller and the ignore hook for a test's objects (None: the heap audit's)."""
        return Explainers(
            self.owners,
            extensions.labeller(self.config, self._names, item),
            extensions.ignorer(self.config, item),
            self.sites,
        )

    def left_alive(self) -> int:
        """How many objects the windows whose survivors were scanned left alive, all told."""
        return self._left_alive

    def pause_stats(self) -> None:
        if self._stats is not None:
            self._stats.pause()

    def resume_stats(self) -> None:
        if self._stats is not None:
            self._stats.resume()


def _merged(early: WindowFindings | None, findings: WindowFindings) -> WindowFindings:
    """A window's findings with what was explained of its garbage before it closed (``early``)."""
    if early is not None:
        findings.cycles = merge_cycles(early.cycles, findings.cycles)
        findings.error = findings.error or early.error
    return findings
