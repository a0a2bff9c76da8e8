"""Each checked test's outcome and payload, from pytest's test reports (on the xdist controller too), for files and CI.

Works on the attributes pytest's reports carry across processes (node id,
phase, outcome, location and the ``gc_guard`` payload); it never needs the
test items.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from typing import Protocol

from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.judging import baseline as baseline
from pytest_gcguard.judging.judge import FAILED
from pytest_gcguard.judging.judge import INFO
from pytest_gcguard.judging.judge import KNOWN
from pytest_gcguard.judging.judge import WARNED
from pytest_gcguard.reporting.text import format_cycle_path


# Statuses recorded into a baseline: what would fail (or warn) without it.
_BASELINED = (FAILED, WARNED, KNOWN)
# Outcomes of a test whose setup, call and teardown all passed.
_PASSED = ("passed", "xpassed")


class Report(Protocol):
    """What we read of a pytest report (read-only, so pytest's own types match)."""

    @property
    def nodeid(self) -> str: ...
    @property
    def when(self) -> str | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def location(self) -> tuple[str, int | None, str] | None: ...


class Results:
    """Outcome and payload of every checked test, in the order they finished."""

    def __init__(self) -> None:
        self._outcomes: dict[str, str] = {}
        self._payloads: dict[str, dict[str, Any]] = {}
        self._locations: dict[str, tuple[str, int | None]] = {}
        self._gc_stats: dict[str, dict[str, Any]] = {}  # --gc-guard-stats

    def add(self, report: Report) -> None:
        nodeid, when, outcome = report.nodeid, report.when, report.outcome
        xfail = hasattr(report, "wasxfail")
        if when == "setup" and outcome != "passed":
            self._outcomes[nodeid] = "error" if outcome == "failed" else ("xfailed" if xfail else "skipped")
        elif when == "call":
            if outcome == "passed":
                self._outcomes[nodeid] = "xpassed" if xfail else "passed"
            elif outcome == "skipped":
                self._outcomes[nodeid] = "xfailed" if xfail else "skipped"
            else:
                self._outcomes[nodeid] = "failed"
        elif when == "teardown":
            if outcome == "failed" and self._outcomes.get(nodeid) in (None, "passed", "xpassed"):
                self._outcomes[nodeid] = "error"
            gc_stats = getattr(report, "gc_guard_stats", None)
            if isinstance(gc_stats, dict):
                self._gc_stats[nodeid] = gc_stats
            payload = getattr(report, "gc_guard", None)
            if isinstance(payload, dict):
                self._payloads[nodeid] = payload
                location = report.location
                if location is not None:
                    self._locations[nodeid] = (location[0], location[1])

    def tests(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for nodeid, payload in self._payloads.items():
            gc_stats = self._gc_stats.get(nodeid)
            if gc_stats is not None:
                payload = {**payload, "gc_stats": gc_stats}  # (payloads are shared: never changed)
            yield nodeid, self._outcomes.get(nodeid, "passed"), payload

    def checked(self) -> set[str]:
        """Node ids of the tests that passed and whose findings gc-guard judged in this run.

        Only these replace their baseline entries.  A test that failed on its
        own, was skipped, or could not be judged (it unfroze the heap, a re-run
        failed) tells nothing of its findings: a flaky test failing once during
        an update must not lose its known findings, nor record those of its failure.
        """
        return {
            nodeid
            for nodeid, payload in self._payloads.items()
            if self._outcomes.get(nodeid) in _PASSED and payload.get("judged", True)
        }

    def baseline_entries(self) -> list[baseline.Entry]:
        """What a baseline written from this run holds of the checked tests: every finding that would fail."""
        checked = self.checked()
        entries = []
        for nodeid, payload in self._payloads.items():
            if nodeid not in checked:
                continue
            for data in payload.get("cycles", ()):
                if data.get("status") in _BASELINED:
                    cycle = Cycle.from_dict(data)
                    fp = baseline.fingerprint(nodeid, cycle.kind, cycle.shape)
                    entries.append(baseline.Entry(nodeid, cycle.kind, fp, cycle.shape))
            for data in payload.get("leaks", ()):
                if data.get("status") in _BASELINED:
                    leak = Leak.from_dict(data)
                    fp = baseline.fingerprint(nodeid, "leak", leak.shape)
                    entries.append(baseline.Entry(nodeid, "leak", fp, leak.shape))
        return entries

    def annotations(self) -> Iterator[str]:
        """GitHub Actions workflow commands, one per failing finding, pointing at the test."""
        for nodeid, payload in self._payloads.items():
            path, line = self._locations.get(nodeid, (nodeid.split("::", 1)[0], None))
            where = f"file={_escape_property(path)}" + (f",line={line + 1}" if line is not None else "")
            for message in _failing_messages(payload):
                yield f"::error {where},title=gc-guard::{_escape_data(f'{nodeid}: {message}')}"


def _failing_messages(payload: dict[str, Any]) -> Iterator[str]:
    for data in payload.get("cycles", ()):
        if data.get("status") == FAILED:
            cycle = Cycle.from_dict(data)
            yield f"reference cycle ({cycle.objects} objects): {format_cycle_path(cycle)}"
    for data in payload.get("leaks", ()):
        if data.get("status") == FAILED:
            leak = Leak.from_dict(data)
            root = leak.chain.root if leak.chain else "?"
            yield f"leaks {leak.per_run} {leak.class_name} per run, kept alive by {root}"


def junit_properties(payload: dict[str, Any]) -> list[tuple[str, object]]:
    """``<property>`` entries for --junitxml: counts and the one-line path of each finding."""
    properties: list[tuple[str, object]] = []
    for data in payload.get("cycles", ()):
        if data.get("status") == INFO:
            continue
        cycle = Cycle.from_dict(data)
        properties.append(
            (
                "gc_guard.cycle",
                f"{data.get('status')}: {cycle.count} x {cycle.objects // max(cycle.count, 1)} objects: "
                f"{format_cycle_path(cycle)}",
            )
        )
    for data in payload.get("leaks", ()):
        leak = Leak.from_dict(data)
        root = leak.chain.root if leak.chain else "?"
        deltas = ", ".join(f"+{d}" for d in leak.deltas)
        properties.append(
            ("gc_guard.leak", f"{data.get('status')}: {leak.class_name} ({deltas}), kept alive by {root}")
        )
    if properties:
        properties.insert(0, ("gc_guard.findings", len(properties)))
    return properties


def _escape_data(text: str) -> str:
    # https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts (escapeData)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
