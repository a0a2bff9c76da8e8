"""The guard: pytest's per-test hooks, in the order pytest calls them; each delegates.

Registered only when the guard is on, and not on the pytest-xdist
controller (``plugin.py``).  The work is elsewhere:

* ``windows.py``: the collection window around each test, and what it saw;
* ``judgement.py``: a test's own run, judged when its teardown report is made
  (the verdict itself: ``judging/judge.py``);
* ``rerun.py``: running a test again, and what the re-runs observed;
* ``audits.py``: heap audits;
* ``reporting/reporter.py``: the summary and the files.
"""

from __future__ import annotations

from collections.abc import Generator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from pytest_gcguard import extensions
from pytest_gcguard.audits import HeapAudits
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.sites import SiteFinder
from pytest_gcguard.engine.sites import Tracing
from pytest_gcguard.engine.window import GarbageWindow
from pytest_gcguard.engine.window import GcState
from pytest_gcguard.judgement import FirstRun
from pytest_gcguard.judgement import Judgement
from pytest_gcguard.judging.judge import Policy
from pytest_gcguard.markers import Allowances
from pytest_gcguard.options import Settings
from pytest_gcguard.pressure import pressure_key
from pytest_gcguard.reporting.reporter import Reporter
from pytest_gcguard.rerun import Rerun
from pytest_gcguard.windows import TestWindows


class GcGuard:
    """The per-test hooks; registered only when enabled, and never on the xdist controller."""

    def __init__(self, config: pytest.Config, settings: Settings, reporter: Reporter) -> None:
        self.config = config
        self.reporter = reporter
        self.state = GcState()
        self.window = GarbageWindow(self.state)
        self.windows = TestWindows(
            config, self.window, leaks=settings.leaks, pressure=config.stash.get(pressure_key, None)
        )
        # --gc-guard-trace: tracemalloc runs from configure (so objects made
        # at collection have sites too) to the end of the session.
        self._tracing = Tracing(settings.trace) if settings.trace else None
        self.allowances = Allowances()
        self.judgement = Judgement(
            Policy(
                settings.mode, settings.allow, frozenset(reporter.known), settings.update_baseline, settings.fail_on
            ),
            self.allowances,
            HeapAudits(self.window, self.windows.pause_stats, self.windows.resume_stats, self.windows.left_alive),
            repeat=settings.repeat,
            explainers=self.windows.explainers,
            running=self._running,
            traced=self.windows.traced,
        )
        self.windows.run = FirstRun(self.judgement)
        self._item: pytest.Item | None = None  # the running test (also during re-runs)
        self._function_scoped: dict[object, bool] = {}  # by fixture definition
        # pytest 8.0-8.3 put a hook of their own in sys.unraisablehook for each
        # test phase and the one before back after it (catch_unraisable_exception),
        # dropping the window's; pytest 8.4 installs one for the whole session
        # (pytest-dev/pytest#12958).
        self._rewatch_each_phase = pytest.version_tuple < (8, 4)

    def start_tracing(self) -> None:
        if self._tracing is not None:
            self._tracing.start()
            self.windows.sites = SiteFinder(self.windows.owners, self.config.rootpath)

    def restore(self) -> None:
        """Put the collector back as we found it (also after KeyboardInterrupt)."""
        self.window.detach()
        self.state.restore()
        if self._tracing is not None:
            self._tracing.stop()

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        test_files, test_names = extensions.test_modules(items)
        owners = CodeOwners(
            test_files, extensions.plugin_packages(self.config), str(self.config.rootpath), test_modules=test_names
        )
        self.windows.set_owners(owners, self.config.rootpath)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # The tests that will run: a bad marker on a test deselected by -k or -m stops nothing.
        self.allowances.read(session.items, stop_at_error=not hasattr(self.config, "workerinput"))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.allowances.error_of(item)
        self._item = item  # for the window (also during re-runs)
        self.windows.run.start(item)

    @pytest.hookimpl(tryfirst=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        if self.window.is_open:
            return  # (a higher-scoped fixture set up now leaves its garbage in this window)
        scoped = self._function_scoped.get(fixturedef)
        if scoped is None:  # looked up inline: this hook runs for every fixture of every test
            scoped = self._function_scoped[fixturedef] = fixturedef.scope == "function"
        if scoped:
            self.windows.open(self._item)  # before the test's first function-scoped fixture
        else:
            self.windows.between_windows = True  # its setup may leave garbage: free it before the next window

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        if not self.window.is_open:
            self.windows.open(self._item)  # a test without function-scoped fixtures
        elif self._rewatch_each_phase:
            self.window.rewatch()

    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        scoped = self._function_scoped.get(fixturedef)
        if scoped is None:
            scoped = self._function_scoped[fixturedef] = fixturedef.scope == "function"
        if not scoped:
            self.windows.between_windows = True
        elif self.window.is_open:
            self.windows.finished_fixtures.append(fixturedef.argname)

    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        self.windows.run.teardown(nextitem)
        if self._rewatch_each_phase:
            self.window.rewatch()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        if call.when == "teardown" and self.windows.unscanned:
            self.windows.scan_survivors(item)
        report = yield
        self.windows.run.report(item, call.when, report, call.duration)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        # Before pytest_unconfigure: pytest's unraisable plugin collects there
        # (pytest-dev/pytest#12958, #14499), and must see an unfrozen heap.
        if self.window.is_open:
            self.window.detach()  # interrupted inside a test
        if self.state.froze:
            self.judgement.audit(final=True)  # leaves the heap unfrozen; restore() makes sure
        self.restore()
        self.reporter.add_audits(self.judgement.audits.found)

    @contextmanager
    def _running(self, rerun: Rerun) -> Iterator[None]:
        """Make a re-run the current run; --gc-guard-stats does not count its collections."""
        first, self.windows.run = self.windows.run, rerun
        self.windows.pause_stats()
        try:
            yield
        finally:
            self.windows.resume_stats()
            self.windows.run = first
