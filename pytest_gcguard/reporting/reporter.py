"""The reporting plugin: the end-of-run summary, the JSON report, the baseline update, annotations, pictures.

Registered whenever the guard is on, and alone on the pytest-xdist
controller, which runs no tests: every test's verdict arrives there as the
payload on its teardown report (``report.gc_guard``), and each worker's heap
audits with the worker's output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from pytest_gcguard import __version__
from pytest_gcguard.engine.introspect import describe_error
from pytest_gcguard.engine.ownership import origin_file
from pytest_gcguard.judging import baseline as baseline_file
from pytest_gcguard.options import Settings
from pytest_gcguard.reporting import html
from pytest_gcguard.reporting.adoption import adoption_lines
from pytest_gcguard.reporting.graphs import GraphWriter
from pytest_gcguard.reporting.hints import finding_hint
from pytest_gcguard.reporting.json_report import build as build_report
from pytest_gcguard.reporting.results import Results
from pytest_gcguard.reporting.summary import Summary
from pytest_gcguard.reporting.text import plural


# The baseline file the adoption hint names when none is configured (as the docs do).
DEFAULT_BASELINE = "gcguard-baseline.json"


class Reporter:
    """Gathers every test's payload (from any process) and writes what the options ask for."""

    def __init__(self, config: pytest.Config, settings: Settings, known: dict[str, baseline_file.Entry]) -> None:
        self.config = config
        self.settings = settings
        self.known = known
        self.results = Results()
        self.summary = Summary()
        self.audits: list[dict[str, Any]] = []  # this process's heap audits (the guard hands them over)
        self.baseline_update: tuple[int, int, int, int] | None = None  # findings, new, pruned, kept
        self.report_written = False
        self.html_written = False
        self.write_errors: list[str] = []  # the report or baseline files that could not be written
        self.graphs: GraphWriter | None = None  # --gc-guard-graph: one for the run (one time budget for `dot`)
        self._is_worker = hasattr(config, "workerinput")

    def add_audits(self, audits: list[dict[str, Any]]) -> None:
        self.audits.extend(audits)
        for audit in audits:
            self.summary.add_audit(audit)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        settings = self.settings
        if settings.report is not None or settings.html is not None or settings.update_baseline or settings.annotations:
            self.results.add(report)
        payload = getattr(report, "gc_guard", None)
        if report.when == "teardown" and isinstance(payload, dict):
            self.summary.add(report.nodeid, payload)
            if settings.graph is not None and not self._is_worker:
                self._draw(settings.graph, report.nodeid, payload)

    def _draw(self, directory: Path, nodeid: str, payload: dict[str, Any]) -> None:
        """--gc-guard-graph: a picture can fail (a full disk, a broken or slow `dot`); the writer keeps the error."""
        if self.graphs is None:
            self.graphs = GraphWriter(directory)
        self.graphs.draw(nodeid, payload)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """pytest-xdist, on the controller: a worker's heap audits arrive with its output."""
        for audit in getattr(node, "workeroutput", {}).get("gc_guard_audits", ()):
            self.summary.add_audit(audit)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._is_worker:
            # The xdist controller writes the files, with every worker's data.
            self.config.workeroutput["gc_guard_audits"] = self.audits  # type: ignore[attr-defined]
            return
        settings = self.settings
        if settings.report is not None or settings.html is not None:
            document = build_report(
                self.results.tests(),
                plugin_version=__version__,
                pytest_version=pytest.__version__,
                settings=settings.as_json(),
                audits=self.summary.audits,
            )
            if settings.report is not None:
                self.report_written = self._write("report", settings.report, json.dumps(document, indent=2) + "\n")
            if settings.html is not None:
                dependencies = _dependencies(html.packages(document), self.config.rootpath)
                page = html.render(document, dependencies=dependencies, hint=finding_hint)
                self.html_written = self._write("HTML report", settings.html, page)
        if settings.update_baseline and settings.baseline is not None:
            self._update_baseline(settings.baseline)
        if self.write_errors and session.exitstatus == pytest.ExitCode.OK:
            # A file CI asked for and did not get fails the run; the summary says which and why.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _write(self, what: str, path: Path, text: str) -> bool:
        """Write one file; a failure (a removed directory, a full disk) costs that file only."""
        try:
            baseline_file.write_atomically(path, text)
        except OSError as exc:
            self.write_errors.append(f"could not write the {what} to {path}: {describe_error(exc)}")
            return False
        return True

    def _update_baseline(self, path: Path) -> None:
        # Entries of tests that did not run (-k, one file, --lf) are kept:
        # an update replaces only what this run could see.
        checked = self.results.checked()
        kept = [entry for entry in self.known.values() if entry.nodeid not in checked]
        entries = self.results.baseline_entries() + kept
        new = {e.fingerprint: e for e in entries}
        added, pruned = len(set(new) - set(self.known)), len(set(self.known) - set(new))
        if self._write("baseline", path, baseline_file.render(list(new.values()))):
            self.baseline_update = (len(new), added, pruned, len(kept))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self._is_worker:
            return  # xdist workers' output is not shown; the controller prints
        lines = self.summary.lines(verbose=self.config.get_verbosity() > 0) + self._file_lines()
        lines += self._adoption_lines()
        if lines or self.write_errors:
            terminalreporter.write_sep("=", "gc-guard summary", yellow=True, bold=False)
            for line in lines:
                terminalreporter.write_line(line)
            for error in self.write_errors:
                terminalreporter.write_line(f"ERROR: {error}", red=True, bold=True)
        if self.settings.annotations:
            for line in self.results.annotations():
                terminalreporter.write_line(line)

    def _adoption_lines(self) -> list[str]:
        """How to adopt gc-guard, when many tests fail (not while a baseline is being written)."""
        if self.settings.update_baseline:
            return []
        path = self.settings.baseline
        if path is None:
            shown = DEFAULT_BASELINE
        else:
            try:
                shown = str(path.relative_to(self.config.invocation_params.dir))
            except ValueError:
                shown = str(path)
        return adoption_lines(self.summary.payloads, shown)

    def _file_lines(self) -> list[str]:
        """What was written where."""
        settings = self.settings
        lines = []
        if self.report_written:
            lines.append(f"report written to {settings.report}")
        if self.html_written:
            lines.append(f"HTML report written to {settings.html}")
        if self.graphs is not None:
            lines.extend(self.graphs.summary_lines())
        if self.baseline_update is not None:
            total, added, pruned, kept = self.baseline_update
            of_others = f", {kept} kept of tests that did not run or were not judged" if kept else ""
            lines.append(
                f"baseline written to {settings.baseline}: {plural(total, 'finding')} "
                f"({added} new, {pruned} pruned{of_others})"
            )
        return lines


def _dependencies(packages: Iterable[str], rootpath: Path) -> set[str]:
    """Of the top-level packages the findings name, those installed (site-packages) and not under the rootdir."""
    root = os.path.realpath(rootpath) + os.sep
    found = set()
    for package in packages:
        filename = origin_file(package)
        if filename is not None and "-packages" + os.sep in filename and not filename.startswith(root):
            found.add(package)
    return found
