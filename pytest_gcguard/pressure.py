"""``--gc-guard-stats``: the collections each test triggered, on its report and in the summary.

Works with or without ``--gc-guard``.  With it, the guard pauses the counting
around its own collections and re-runs (``CollectionStats.pause()``), so a
test is charged only with the collections that ran for it.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from pytest_gcguard.engine.gcstats import CollectionCounts
from pytest_gcguard.engine.gcstats import CollectionStats
from pytest_gcguard.engine.gcstats import pressure_lines


pressure_key = pytest.StashKey["GcPressure"]()


class GcPressure:
    """Per-test collection counts; registered only with ``--gc-guard-stats``."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.stats = CollectionStats()
        self.tests: list[tuple[str, CollectionCounts]] = []  # from every xdist worker

    def start(self) -> None:
        self.stats.attach()

    def stop(self) -> None:
        self.stats.detach()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if not self.stats.paused:  # (a gc-guard re-run of the test is not counted)
            self.stats.reset()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        # Counted before the report is made: gc-guard re-runs the test while
        # making it, and those collections are gc-guard's.
        counts = self.stats.snapshot() if call.when == "teardown" and not self.stats.paused else None
        report = yield
        if counts is not None:
            report.gc_guard_stats = counts.to_dict()  # type: ignore[attr-defined]  # travels to the xdist controller
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "gc_guard_stats", None)
        if report.when == "teardown" and isinstance(data, dict):
            self.tests.append((report.nodeid, CollectionCounts.from_dict(data)))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if hasattr(self.config, "workerinput"):
            return  # the xdist controller prints
        lines = pressure_lines(self.tests)
        if lines:
            terminalreporter.write_sep("=", "gc-guard: gc pressure", yellow=True, bold=False)
            for line in lines:
                terminalreporter.write_line(line)
