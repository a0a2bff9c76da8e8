"""pytest hooks, options and markers of pytest-gcguard.

The plugin appears to pytest as ``gcguard`` (``-p no:gcguard`` disables it).
Off by default: with neither ``--gc-guard`` nor ini ``gc_guard = true``, only
the marker is registered and no per-test code of ours runs.  When on, a
``GcGuard`` object is registered; its autouse fixture opens the collection
window before the test's function-scoped fixtures are set up and closes it
after they are torn down -- inside pytest's teardown phase, so a failure
lands on the right test (and before pytest drains unraisable exceptions
for it: pytest-dev/pytest#5299).
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_gcguard.allowance import CycleAllowance
from pytest_gcguard.allowance import judge
from pytest_gcguard.allowance import parse_marker
from pytest_gcguard.explain import explain_garbage
from pytest_gcguard.findings import CYCLE
from pytest_gcguard.labels import Labeller
from pytest_gcguard.ownership import CodeOwners
from pytest_gcguard.render import format_test_report
from pytest_gcguard.summary import ALLOWED
from pytest_gcguard.summary import FAILED
from pytest_gcguard.summary import INFO
from pytest_gcguard.summary import NOT_JUDGED
from pytest_gcguard.summary import WARNED
from pytest_gcguard.summary import Summary
from pytest_gcguard.summary import make_payload
from pytest_gcguard.warning_types import GcGuardWarning
from pytest_gcguard.window import GarbageWindow
from pytest_gcguard.window import GcState


HELP_ENABLE = "check every test for reference cycles it leaves behind (pytest-gcguard)."
HELP_MODE = "what a finding does: 'fail' fails the test (default), 'warn' emits a GcGuardWarning."
MODES = ("fail", "warn")
MARKER_LINE = (
    "allow_cycles(reason=None, *, types=None, max_objects=None): let this test leave "
    "reference cycles (only of the given classes or qualified names, and at most "
    "max_objects objects, when given). See pytest-gcguard's docs."
)

guard_key = pytest.StashKey["GcGuard"]()
_payload_key = pytest.StashKey[dict[str, Any]]()
_judged_key = pytest.StashKey[bool]()


# -- initialization -------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gc-guard", "pytest-gcguard: reference cycles each test creates")
    group.addoption("--gc-guard", action="store_true", default=None, dest="gc_guard", help=HELP_ENABLE)
    group.addoption(
        "--no-gc-guard",
        action="store_false",
        dest="gc_guard",
        help="turn pytest-gcguard off even when the ini file turns it on.",
    )
    group.addoption("--gc-guard-mode", choices=MODES, default=None, dest="gc_guard_mode", help=HELP_MODE)
    parser.addini("gc_guard", HELP_ENABLE, type="bool", default=False)
    parser.addini("gc_guard_mode", HELP_MODE, default="fail")


def _enabled(config: pytest.Config) -> bool:
    option = config.getoption("gc_guard")
    if option is not None:
        return bool(option)
    try:
        return bool(config.getini("gc_guard"))
    except ValueError as exc:
        raise pytest.UsageError(f"gc_guard: invalid value in the ini file: {exc}") from None


def _mode(config: pytest.Config) -> str:
    option = config.getoption("gc_guard_mode")
    if option is not None:
        return str(option)
    value = str(config.getini("gc_guard_mode")).strip()
    if value not in MODES:
        raise pytest.UsageError(f"gc_guard_mode: expected one of {', '.join(MODES)} in the ini file, got {value!r}")
    return value


def pytest_configure(config: pytest.Config) -> None:
    # Registered even when off, so --strict-markers suites work without --gc-guard.
    config.addinivalue_line("markers", MARKER_LINE)
    if not _enabled(config):
        return
    guard = GcGuard(config, _mode(config))
    config.stash[guard_key] = guard
    config.pluginmanager.register(guard, "gcguard-guard")
    config.add_cleanup(guard.restore)


def pytest_report_header(config: pytest.Config) -> str | None:
    guard = config.stash.get(guard_key, None)
    if guard is None:
        return None
    return f"gc-guard: mode={guard.mode} (disable with -p no:gcguard)"


# -- the guard ----------------------------------------------------------------


class GcGuard:
    """Per-session state and the per-test hooks; registered only when enabled."""

    def __init__(self, config: pytest.Config, mode: str) -> None:
        self.config = config
        self.mode = mode
        self.state = GcState()
        self.window = GarbageWindow(self.state)
        self.summary = Summary()
        self._owners = CodeOwners()
        self._allowances: dict[str, CycleAllowance] = {}
        self._finished_fixtures: list[str] = []

    def restore(self) -> None:
        """Put the collector back as we found it (also after KeyboardInterrupt)."""
        self.window.detach()
        self.state.restore()

    # ---- collection

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        test_files = set()
        for item in items:
            if isinstance(item, pytest.Function):
                test_files.add(str(item.path))
            marker = item.get_closest_marker("allow_cycles")
            if marker is None:
                continue
            try:
                self._allowances[item.nodeid] = parse_marker(marker.args, dict(marker.kwargs))
            except (TypeError, ValueError) as exc:
                raise pytest.UsageError(f"{item.nodeid}: invalid @pytest.mark.allow_cycles: {exc}") from None
        self._owners = CodeOwners(test_files)

    # ---- the window around each test

    @pytest.fixture(autouse=True)
    def _gc_guard_window(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """Watch for cyclic garbage from here until the test's teardown."""
        self._finished_fixtures = []
        self.window.open()
        yield
        self._close_window(request.node)

    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        if self.window.is_open and fixturedef.scope == "function":
            self._finished_fixtures.append(fixturedef.argname)

    def _close_window(self, item: pytest.Item) -> None:
        # pytest releases function-scoped fixture values only after the
        # teardown phase (item.funcargs = None in runtestprotocol); drop the
        # ones already finalized now, so their cycles count for this test.
        funcargs = getattr(item, "funcargs", None)
        if isinstance(funcargs, dict):
            for name in self._finished_fixtures:
                funcargs.pop(name, None)
        self._finished_fixtures = []
        result = self.window.close()
        unjudgeable = result.heap_was_unfrozen
        error = None
        try:
            cycles = explain_garbage(result.garbage, self._owners, Labeller(_context_modules(item)))
        except Exception as exc:  # a bug of ours must not fail the user's test
            cycles = []
            error = f"{type(exc).__name__}: {exc}"
        finally:
            result.garbage.clear()
            del result
        self._judge(item, cycles, error, unjudgeable)

    def _judge(self, item: pytest.Item, cycles: list[Any], error: str | None, unjudgeable: bool) -> None:
        # A test that already failed keeps its own failure only; a test that
        # unfroze the heap let older garbage into its window.
        already_failed = item.stash.get(_judged_key, False) or unjudgeable
        verdict = judge(cycles, self._allowances.get(item.nodeid))
        failing = {id(c) for c in verdict.failing}
        allowed = {id(c) for c in verdict.allowed}
        fail_status = NOT_JUDGED if already_failed else (FAILED if self.mode == "fail" else WARNED)
        entries = []
        for cycle in cycles:
            if id(cycle) in failing:
                entries.append((cycle, fail_status))
            elif id(cycle) in allowed:
                entries.append((cycle, ALLOWED))
            else:
                entries.append((cycle, INFO if cycle.kind != CYCLE else ALLOWED))
        note = (
            "the test unfroze the heap (gc.unfreeze()): older garbage was collected with its own"
            if unjudgeable
            else None
        )
        item.stash[_payload_key] = make_payload(entries, error, note)
        if error is not None:
            warnings.warn(GcGuardWarning(f"gc-guard could not explain this test's garbage: {error}"), stacklevel=1)
        if not verdict.failing or already_failed:
            return
        extra = f"\n  ({verdict.exceeded})" if verdict.exceeded else ""
        text = format_test_report(list(verdict.failing)) + extra
        if self.mode == "fail":
            pytest.fail(text, pytrace=False)
        warnings.warn(GcGuardWarning(text), stacklevel=1)

    # ---- reporting

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when != "teardown":
            if report.failed or report.skipped:
                item.stash[_judged_key] = True
        else:
            payload = item.stash.get(_payload_key, None)
            if payload is not None:
                report.gc_guard = payload  # type: ignore[attr-defined]
                del item.stash[_payload_key]
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = getattr(report, "gc_guard", None)
        if report.when == "teardown" and isinstance(payload, dict):
            self.summary.add(report.nodeid, payload)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if hasattr(self.config, "workerinput"):
            return  # xdist workers' output is not shown; the controller prints
        lines = self.summary.lines(verbose=self.config.get_verbosity() > 0)
        if not lines:
            return
        terminalreporter.write_sep("=", "gc-guard summary", yellow=True, bold=False)
        for line in lines:
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self) -> None:
        # Before pytest_unconfigure: pytest's unraisable plugin collects there,
        # and must see an unfrozen heap.
        self.restore()


def _context_modules(item: pytest.Item) -> list[str]:
    """Modules whose code may name the test's attributes: the test module."""
    module = getattr(item, "module", None)
    name = getattr(module, "__name__", None)
    return [name] if isinstance(name, str) else []


__all__ = ["GcGuard", "pytest_addoption", "pytest_configure", "pytest_report_header"]
