"""A test's own run, and its judgement when the teardown report is made.

``FirstRun`` is the guard's current run while pytest runs a test: it keeps
what the phases did and the window's findings.  When the teardown report is
made, ``Judgement.judge`` applies the pure verdict functions
(``judging/judge.py``), re-runs the test when they ask (``rerun.py``), and
puts the verdict on the report: its payload for every process and file, and
the failure (fail mode) or the warning (warn mode).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from pytest_gcguard import extensions
from pytest_gcguard.audits import HeapAudits
from pytest_gcguard.audits import still_alive
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.survivors import LiveTracker
from pytest_gcguard.judging.judge import Observation
from pytest_gcguard.judging.judge import Policy
from pytest_gcguard.judging.judge import Triage
from pytest_gcguard.judging.judge import Verdict
from pytest_gcguard.judging.judge import decide
from pytest_gcguard.judging.judge import triage
from pytest_gcguard.judging.judge import with_owners
from pytest_gcguard.markers import Allowances
from pytest_gcguard.observe import CLEAN
from pytest_gcguard.observe import WindowFindings
from pytest_gcguard.reporting.results import junit_properties
from pytest_gcguard.reporting.summary import make_payload
from pytest_gcguard.reporting.text import failure_text
from pytest_gcguard.rerun import Explainers
from pytest_gcguard.rerun import Rerun
from pytest_gcguard.warning_types import GcGuardWarning


# The payload of every clean test, shared: payloads are never changed once
# made, and pytest keeps every report, so a clean test adds nothing of ours.
CLEAN_PAYLOAD = make_payload(())


class Judgement:
    """Judges each test's findings at its teardown report; remembers verdicts across tests."""

    def __init__(
        self,
        policy: Policy,
        allowances: Allowances,
        audits: HeapAudits,
        *,
        repeat: int,
        explainers: Callable[[pytest.Item | None], Explainers],
        running: Callable[[Rerun], AbstractContextManager[None]],
        traced: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        self.policy = policy
        self.allowances = allowances
        self.audits = audits
        self._repeat = repeat
        self._explainers = explainers  # owners, labeller, hooks and sites for a test
        self._running = running  # makes a Rerun the guard's current run, for its duration
        self._traced = traced  # tracemalloc and allocation sites for one re-run (the owners of plain containers)

    def audit(self, *, final: bool = False) -> None:
        explain = self._explainers(None)
        self.audits.run(explain.owners, explain.labeller, explain.sites, explain.ignore, final=final)

    def judge(
        self,
        item: pytest.Item,
        report: pytest.TestReport,
        findings: WindowFindings,
        *,
        failed: bool,
        duration: float,
        nextitem: pytest.Item | None,
    ) -> None:
        # A test that already failed keeps its own failure only; a test that
        # unfroze the heap let older garbage into its window.
        not_judged = failed or findings.not_judged is not None or report.failed
        nodeid = item.nodeid
        plan = self._triage(nodeid, findings.cycles, list(findings.suspects))
        suspects = list(plan.suspects)
        tracker = findings.tracker
        if not not_judged and suspects and tracker is not None and self.audits.cheaper_than_a_rerun(duration):
            # Survivors can be garbage: members of a cycle through an object
            # older than the test, which the frozen heap keeps (networkx's
            # held_karp tests leave such graphs).  Re-running would show them
            # "growing"; an audit frees them, and names the cycle in its report.
            self.audit()
            suspects = still_alive(suspects, tracker)
        observation = None
        rerun_seconds = 0.0
        cycles = findings.cycles
        if not not_judged and (plan.unsure or suspects):
            started = time.perf_counter()
            # More garbage than a window keeps: tracing the re-run would hold a
            # trace for each of its objects, doubling the test's peak memory.
            huge = bool(findings.sampled or findings.unsaved)
            observation = self._rerun(item, nextitem, plan, suspects, tracker, trace=not huge)
            rerun_seconds = time.perf_counter() - started  # the summary says what re-runs cost
            if observation.owners:  # cycles of plain containers, now with the module that made them
                cycles = with_owners(cycles, observation)
                # The allow list may cover them now.  (The same suspects: the allowed ones say what decide drops.)
                plan = self._triage(nodeid, cycles, list(findings.suspects))
        verdict = decide(
            nodeid,
            cycles,
            plan,
            observation,
            policy=self.policy,
            not_judged=not_judged,
            window_note=findings.not_judged,
            walk_note=findings.walk_note,
        )
        traced = observation is not None and observation.traced
        tell(
            item,
            report,
            findings,
            verdict,
            not_judged=not_judged,
            mode=self.policy.mode,
            rerun_seconds=rerun_seconds,
            rerun_traced=traced,
        )

    def _triage(self, nodeid: str, cycles: list[Cycle], suspects: list[type]) -> Triage:
        return triage(
            nodeid,
            cycles,
            suspects,
            policy=self.policy,
            cycle_allowance=self.allowances.cycles.get(nodeid),
            leak_allowance=self.allowances.leaks.get(nodeid),
        )

    def _rerun(
        self,
        item: pytest.Item,
        nextitem: pytest.Item | None,
        plan: Triage,
        suspects: list[type],
        tracker: LiveTracker | None,
        *,
        trace: bool,
    ) -> Observation:
        rerun = Rerun(plan.unsure, suspects, tracker, allowed=plan.allowed_suspects if suspects else ())
        with self._running(rerun):
            return rerun.run(
                item,
                nextitem,
                self._repeat if suspects else 1,
                self._explainers(item),
                self.audit,
                self._traced if trace else None,
            )


def tell(
    item: pytest.Item,
    report: pytest.TestReport,
    findings: WindowFindings,
    verdict: Verdict,
    *,
    not_judged: bool,
    mode: str,
    rerun_seconds: float = 0.0,
    rerun_traced: bool = False,
) -> None:
    """Put the verdict on the teardown report: the payload, and the failure or the warning."""
    # A warning that the user's filters make an error, raised by a finalizer
    # of the test's garbage, can only surface as "unraisable": pytest reports
    # it as a warning.  It fails the test, whatever the mode: the filter asked
    # for an error, gc-guard only says whose it is.
    finalizer = [] if not_judged else findings.finalizer_warnings
    payload = make_payload(
        verdict.cycles,
        findings.error,
        verdict.note,
        leaks=verdict.leaks,
        reruns=verdict.reruns,
        rerun_seconds=rerun_seconds,
        rerun_traced=rerun_traced,
        unsaved=findings.unsaved,
        sampled=findings.sampled,
        finalizer_warnings=finalizer,
        judged=verdict.judged,
    )
    report.gc_guard = payload  # type: ignore[attr-defined]
    report.user_properties.extend(junit_properties(payload))
    if findings.error is not None:
        warn(item, report, f"gc-guard could not explain this test's garbage: {findings.error}")
    if not_judged or not (verdict.has_failures or finalizer):
        return
    text = failure_text(
        verdict.failing,
        verdict.failing_leaks,
        finalizer,
        unsaved=findings.unsaved,
        sampled=findings.sampled,
        exceeded=verdict.exceeded,
    )
    if mode == "fail" or finalizer:
        fail_report(report, text)
    else:
        warn(item, report, text)


def warn(item: pytest.Item, report: pytest.TestReport, text: str) -> None:
    """A GcGuardWarning at the test's own location (its file and line), never an error unless asked by name.

    Warn mode must not fail a run: a project's ``filterwarnings = error``
    turns every warning into an error, ours too, though nobody asked for
    gc-guard's verdicts to fail there.  Only a filter that names
    ``GcGuardWarning`` (or a subclass) with "error" turns it into the
    failure (``-W error::pytest_gcguard.GcGuardWarning``).
    """
    path, lineno, _ = item.location
    filename = str(item.config.rootpath / path)
    module = getattr(getattr(item, "module", None), "__name__", None) or "gc-guard"
    warning = GcGuardWarning(text)
    with warnings.catch_warnings():
        if not _named_as_an_error(warning, filename, (lineno or 0) + 1, module):
            warnings.simplefilter("default", GcGuardWarning)  # an error only by a catch-all filter: warn
        try:
            warnings.warn_explicit(warning, GcGuardWarning, filename, (lineno or 0) + 1, module=module)
        except GcGuardWarning:
            fail_report(report, f"GcGuardWarning: {text}")


def _named_as_an_error(warning: GcGuardWarning, filename: str, lineno: int, module: str) -> bool:
    """Whether the first warnings filter that applies says "error" and names GcGuardWarning itself."""
    text = str(warning)
    for action, message, category, mod, line in warnings.filters:
        if not issubclass(GcGuardWarning, category):
            continue
        if (message is not None and not message.match(text)) or (mod is not None and not mod.match(module)):
            continue
        if line and line != lineno:
            continue
        return action == "error" and isinstance(category, type) and issubclass(category, GcGuardWarning)
    return False


def fail_report(report: pytest.TestReport, text: str) -> None:
    """Turn a passed teardown report into the gc-guard failure."""
    report.outcome = "failed"
    report.longrepr = text


class FirstRun:
    """A test's own run (pytest-rerunfailures' attempts each count as one): judged at its teardown report."""

    always_collect = False  # the guard collects before a window only when garbage may wait
    freezes = True  # the window freezes the heap: its collections walk only what the test makes
    explains_every_window = False  # a clean window needs no analysis, survivors that cannot be suspects no look
    follows_survivors = True  # its survivors can be suspects

    def __init__(self, judgement: Judgement) -> None:
        self._judgement = judgement
        self.pending: WindowFindings | None = None  # the window's findings, until judged
        self._failed = False  # its setup or call failed or skipped
        self._duration = 0.0  # of its call
        self._nextitem: pytest.Item | None = None

    def start(self, item: pytest.Item) -> None:
        self.pending = None
        self._failed = False
        self._duration = 0.0

    def teardown(self, nextitem: pytest.Item | None) -> None:
        self._nextitem = nextitem

    def wanted_shapes(self) -> frozenset[str] | None:
        return None  # its findings are reported whole

    def window_closed(self, item: pytest.Item, findings: WindowFindings) -> None:
        self.pending = findings

    def survivors(self, item: pytest.Item, findings: WindowFindings, young: list[object]) -> None:
        if findings.suspects:
            findings.tracker = LiveTracker(findings.suspects)
            findings.tracker.track(young)

    def own(self, findings: WindowFindings) -> WindowFindings:
        """The window's findings, made its own to change (a clean window's are shared)."""
        if findings is CLEAN:
            findings = self.pending = WindowFindings()
        return findings

    def report(self, item: pytest.Item, when: str, report: pytest.TestReport, duration: float) -> None:
        if when != "teardown":
            if report.outcome != "passed":  # failed, or skipped
                self._failed = True
            if when == "call":
                self._duration = duration
            return
        findings, self.pending = self.pending, None
        if findings is None:
            return
        # In the audits' span before it is judged: an audit before its re-run covers it.
        audits = self._judgement.audits
        audits.count_test(item.nodeid)
        if findings.is_clean():
            report.gc_guard = CLEAN_PAYLOAD  # type: ignore[attr-defined]
        else:
            self._judgement.judge(
                item, report, findings, failed=self._failed, duration=self._duration, nextitem=self._nextitem
            )
            error = extensions.call_report_hook(item, report, report.gc_guard)
            if error is not None:
                warn(item, report, error)
        # A heap audit freezes the heap again when it ends, and with it what
        # the test left alive: only once the test is judged, or a test whose
        # audit fell due (after a slow test) would have no survivors to scan.
        if audits.due():
            self._judgement.audit()
