"""The end-of-run summary of all tests' findings (from every xdist worker), grouped by shape; statuses and payloads.

A test's payload (``make_payload``) is what its teardown report carries: its
findings, each with its status, as plain data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

from pytest_gcguard.engine.findings import CLASS_MEMBER
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import INTERNAL
from pytest_gcguard.engine.findings import STDLIB
from pytest_gcguard.engine.findings import TEST_LOCAL
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import UNLOADED
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.engine.findings import chain_shape
from pytest_gcguard.engine.findings import cycle_shape
from pytest_gcguard.engine.findings import is_tagged
from pytest_gcguard.engine.findings import owner_names
from pytest_gcguard.engine.keepers import folded_leaks
from pytest_gcguard.judging.judge import FAILED
from pytest_gcguard.judging.judge import INFO
from pytest_gcguard.reporting.html import type_module
from pytest_gcguard.reporting.text import HARNESS_MADE
from pytest_gcguard.reporting.text import distinct_sites
from pytest_gcguard.reporting.text import format_cycle_path
from pytest_gcguard.reporting.text import kept_kinds_line
from pytest_gcguard.reporting.text import made_by
from pytest_gcguard.reporting.text import made_by_harness


# Test ids printed per shape before "... and N more".
MAX_TESTS_SHOWN = 3
# The most top-level lines (one per origin module) a section has without -v:
# past it, the first modules and one line for the rest.  A large suite's
# cycles come from dozens of modules, and the reader wants the few that most
# tests share first (networkx.algorithms: 4,000 tests, 22 modules).
MAX_GROUPS_SHOWN = 10
# The group of shapes no member of which has an owner (lists, dicts, builtin
# exceptions, cells...): no module to name.
NO_OWNER = "(plain containers)"

PAYLOAD_VERSION = 2  # 2: a hop's type is "type", a leak's class "type", the 12-digit hash "shape_key"

# A class defined in a function: its qualified name's path up to the last <locals>, and its name.
_LOCAL_CLASS_PATH = re.compile(r"[\w.<>]*<locals>\.[\w<>]+$")
# A function or frame defined in a function: the path only (its name is its code's, not a test's choice).
_LOCAL_CODE_PATH = re.compile(r"[\w.<>]*<locals>\.")
# A class object's own name in its type token ("class:attr._make.CAttributes").
_CLASS_NAME = re.compile(r"^(class:(?:[\w<>]+\.)+)[\w<>]+$")


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``1 test``, ``1,587 findings``: a count with what it counts (the summary's counts can be large)."""
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def summary_shape(cycle: Cycle) -> str:
    """The shape the summary groups by: a class defined in a function is named ``<locals>.Name``.

    Tests that each define their own schema class (in the test function) make
    the same cycle with classes of different qualified names
    (``tests.test_a.test_x.<locals>.MySchema``, ``...test_y.<locals>.Sch``):
    one shape for the reader, its classes named ``<locals>.*``.
    Classes themselves (a class object in the cycle, as in ``class <->
    __mro__``) are named by where they are made only: a library that
    generates a class per test (``CAttributes``, ``BaseAttributes``, ...)
    makes one shape, not one per name.
    The baseline and the JSON report keep the exact shape.
    """
    if "<locals>" not in cycle.shape and "class:" not in cycle.shape:
        return cycle.shape
    path = tuple(replace(hop, type_token=_summary_token(hop.type_token)) for hop in cycle.path)
    return cycle_shape(path) if cycle.traced else chain_shape(path, sampled=cycle.sampled)


def _summary_token(token: str) -> str:
    if token.startswith(("function:", "frame:")):
        return _LOCAL_CODE_PATH.sub("<locals>.", token)
    return _CLASS_NAME.sub(r"\1*", _LOCAL_CLASS_PATH.sub("<locals>.*", token))


def origin_module(cycle: Cycle) -> str:
    """The module the summary groups a shape under: the owner of the first member its path shows, else its first owner.

    A cycle's members can be more than its printed path: werkzeug's
    ``Request .environ -> dict -> Request`` has the request's
    ``EnvironHeaders`` in it too, and ``Cycle.member_types`` is sorted, so
    the first owner alone put the shape under ``werkzeug.datastructures``, a
    module no hop of the line under it names.  So the owners of the path's
    objects come first, in the path's order (the canonical rotation: the
    same for every run), then the rest as sorted.

    An instance's or a class's owner is a qualified name, whose module part
    is taken (``lib.graph.Node`` -> ``lib.graph``, ``lib.make.<locals>.C`` ->
    ``lib``); any other tagged owner (code, an allocating module) is a module
    name already.  A shape with no owner is ``NO_OWNER``'s.
    """
    hops = {hop.type_token.removeprefix("class:"): i for i, hop in reversed(list(enumerate(cycle.path)))}
    late = len(hops)

    def shown_at(entry: tuple[str, ...]) -> int:
        names = owner_names(entry)
        shown = bool(names) and (not is_tagged(entry) or entry[0] == CLASS_MEMBER)
        return hops.get(names[0], late) if shown else late

    for entry in sorted(cycle.member_types, key=shown_at):  # (stable: the rest keep their sorted order)
        names = owner_names(entry)
        if not names:
            continue
        module = (
            names[0] if is_tagged(entry) and entry[0] != CLASS_MEMBER else type_module(names[0], (cycle.origin_name,))
        )
        if module:
            return module
    return NO_OWNER


def summary_leak_shape(leak: Leak) -> str:
    """The shape the summary groups a leak by: a class defined in a function is named ``<locals>.Name``."""
    return _LOCAL_CLASS_PATH.sub("<locals>.", leak.shape)


def once(lines: Iterable[str]) -> list[str]:
    """Each line once, in order, a repeated one with its count: ``... (3×)``."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    return [line if n == 1 else f"{line} ({n}×)" for line, n in counts.items()]


def make_payload(
    entries: Iterable[tuple[Cycle, str]],
    error: str | None = None,
    note: str | None = None,
    *,
    leaks: Iterable[tuple[Leak, str]] = (),
    reruns: int = 0,
    rerun_seconds: float = 0.0,
    rerun_traced: bool = False,
    unsaved: int = 0,
    sampled: int = 0,
    finalizer_warnings: list[str] | None = None,
    judged: bool = True,
) -> dict[str, Any]:
    """What travels on the teardown report (builtins only, for pytest-xdist).

    ``judged`` is False when gc-guard could not judge the test's findings (it
    had failed, unfroze the heap, or a re-run failed): its baseline entries stay.
    """
    payload: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "cycles": [dict(cycle.to_dict(), status=status) for cycle, status in entries],
        "leaks": [dict(leak.to_dict(), status=status) for leak, status in leaks],
        "reruns": reruns,
    }
    if rerun_seconds:
        payload["rerun_seconds"] = round(rerun_seconds, 3)  # what the re-runs cost (not in the JSON report)
    if rerun_traced:
        payload["rerun_traced"] = True  # why they cost it (the summary's re-run line; not in the JSON report)
    if error:
        payload["error"] = error
    if note:
        payload["note"] = note
    if unsaved:
        payload["unsaved"] = unsaved
    if sampled:
        payload["sampled"] = sampled
    if finalizer_warnings:
        payload["finalizer_warnings"] = list(finalizer_warnings)
    if not judged:
        payload["judged"] = False
    return payload


@dataclass
class LeakStats:
    exemplar: Leak
    tests: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)  # the kinds it keeps (Leak.kept_by), in any test


@dataclass
class ShapeStats:
    kind: str
    exemplar: Cycle
    tests: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # findings (tests with the shape) by status
    _counted: set[tuple[str, str]] = field(default_factory=set)

    def add(self, nodeid: str, status: str) -> None:
        """A test's finding of this shape: two exact shapes one entry shows count once per test and status."""
        if nodeid not in self.tests:
            self.tests.append(nodeid)
        if (nodeid, status) not in self._counted:
            self._counted.add((nodeid, status))
            self.statuses[status] = self.statuses.get(status, 0) + 1


@dataclass
class AuditShape:
    """A shape the heap audits found: how many cycles of it, made during which windows of tests."""

    exemplar: Cycle
    windows: list[str] = field(default_factory=list)
    cycles: int = 0


class Summary:
    """Collects payloads as reports arrive, in any process order."""

    def __init__(self) -> None:
        # Each test's latest payload: pytest-rerunfailures runs a failed test
        # again and logs every attempt; the attempt whose outcome stands is the
        # last, and its findings are the test's (once, whatever the attempts).
        self._latest: dict[str, dict[str, Any]] = {}
        self.audits: list[dict[str, Any]] = []
        self._tally()

    def _tally(self) -> None:
        """Count the latest payload of every test, afresh."""
        # By kind and summary_shape; shapes that print alike share one entry.
        self.shapes: dict[str, ShapeStats] = {}
        self._printed: dict[str, ShapeStats] = {}  # by kind and printed path: one entry per line shown
        self.leaks: dict[str, LeakStats] = {}
        self.errors: list[tuple[str, str]] = []
        self.notes: list[tuple[str, str]] = []
        self.finalizer_warnings: list[tuple[str, str]] = []
        self.tests_rerun = 0
        self.reruns = 0
        self.rerun_seconds = 0.0
        self.traced_tests = 0
        self.unsaved_tests = 0
        self.unsaved = 0
        for nodeid, payload in self._latest.items():
            self._count(nodeid, payload)

    def add(self, nodeid: str, payload: dict[str, Any]) -> None:
        """A test's payload; a later one of the same test replaces it."""
        self._latest[nodeid] = payload

    @property
    def payloads(self) -> Mapping[str, dict[str, Any]]:
        """Each test's latest payload, by node id."""
        return self._latest

    def _count(self, nodeid: str, payload: dict[str, Any]) -> None:
        if payload.get("error"):
            self.errors.append((nodeid, str(payload["error"])))
        if payload.get("note"):
            self.notes.append((nodeid, str(payload["note"])))
        for text in payload.get("finalizer_warnings", ()):
            self.finalizer_warnings.append((nodeid, str(text)))
        unsaved = int(payload.get("unsaved", 0))
        if unsaved:
            self.unsaved_tests += 1
            self.unsaved += unsaved
        reruns = int(payload.get("reruns", 0))
        if reruns:
            self.tests_rerun += 1
            self.reruns += reruns
            self.rerun_seconds += float(payload.get("rerun_seconds", 0.0))
            self.traced_tests += bool(payload.get("rerun_traced"))
        if not payload.get("leaks") and not payload.get("cycles"):
            return  # (most tests: nothing more to count)
        leaks = [Leak.from_dict(data) for data in payload.get("leaks", ())]
        status_of = {id(leak): str(data.get("status", FAILED)) for leak, data in zip(leaks, payload.get("leaks", ()))}
        for leak, kept in folded_leaks(leaks):  # one group per leak that keeps the others (engine/keepers.py)
            key = summary_leak_shape(leak)
            leak_stats = self.leaks.get(key)
            if leak_stats is None:
                leak_stats = self.leaks[key] = LeakStats(leak)
            if nodeid not in leak_stats.tests:
                leak_stats.tests.append(nodeid)
            status = status_of[id(leak)]
            leak_stats.statuses[status] = leak_stats.statuses.get(status, 0) + 1
            leak_stats.kept.update(k.class_name for k in kept)
        for data in payload.get("cycles", ()):
            cycle = Cycle.from_dict(data)
            self._shape_stats(cycle).add(nodeid, str(data.get("status", INFO)))

    def _shape_stats(self, cycle: Cycle) -> ShapeStats:
        key = f"{cycle.kind}|{summary_shape(cycle)}"
        stats = self.shapes.get(key)
        if stats is None:
            # Another shape may print as this one (classes of one name in two
            # test modules): the reader could not tell them apart, so one entry.
            printed = f"{cycle.kind}|{format_cycle_path(cycle)}"
            stats = self._printed.get(printed)
            if stats is None:
                stats = self._printed[printed] = ShapeStats(cycle.kind, cycle)
            self.shapes[key] = stats
        return stats

    def add_audit(self, audit: dict[str, Any]) -> None:
        """What a heap audit found, for the window of tests it covers (from any worker)."""
        self.audits.append(audit)

    def _of_kind(self, kind: str) -> list[ShapeStats]:
        found = [s for s in self._printed.values() if s.kind == kind]
        # Shapes that failed tests first, then the most widespread.
        return sorted(found, key=_failing_first)

    def lines(self, verbose: bool) -> list[str]:
        """The summary section's lines; empty when there is nothing to say."""
        self._tally()
        # Cycles and standard-library cycles: failing, or of an origin --gc-guard-fail-on leaves out.
        made = sorted(self._of_kind(CYCLE) + self._of_kind(STDLIB), key=_failing_first)
        own = [s for s in made if set(s.statuses) != {INFO}]
        unchosen = [s for s in made if set(s.statuses) == {INFO}]
        internal = self._of_kind(INTERNAL)
        local = self._of_kind(TEST_LOCAL)
        harness = [s for s in local if made_by_harness(s.exemplar)]
        local = [s for s in local if not made_by_harness(s.exemplar)]
        stuck = self._of_kind(UNCOLLECTABLE)
        unloaded = self._of_kind(UNLOADED)
        found = (
            own
            or local
            or harness
            or unchosen
            or internal
            or stuck
            or unloaded
            or self.leaks
            or self.finalizer_warnings
            or self.audits
        )
        if not (found or self.errors or self.notes or self.unsaved):
            return []
        lines = self._own_lines(own, verbose) + self._stuck_lines(stuck, verbose)
        lines += self._not_failing_lines(local, "test-local cycles (made by the test's own code; not failing)", verbose)
        lines += self._not_failing_lines(
            harness, f"cycles made by the test harness ({HARNESS_MADE}; not failing)", verbose
        )
        lines += self._not_failing_lines(
            unchosen, "cycles of origins --gc-guard-fail-on leaves out (not failing)", verbose
        )
        lines += self._not_failing_lines(
            internal, "cycles of the standard library's own implementation (not failing on any Python)", verbose
        )
        lines += self._not_failing_lines(
            unloaded, "cycles of modules unloaded by the test (removed from sys.modules; not failing)", verbose
        )
        lines += self._leak_lines() + self._finalizer_lines()
        if self.audits:
            lines.extend(self._audit_lines(verbose))
        lines += self._note_lines()
        if lines and self.tests_rerun:
            # Tracing is most of what a re-run costs where it is needed (marshmallow's
            # list rings: 4.3 s traced, 1.1 s untraced; docs/performance.md): say so.
            traced = f"; {self.traced_tests} of them traced, to name who allocated cycles of plain containers"
            lines.append(
                f"re-ran {counted(self.tests_rerun, 'test')} ({counted(self.reruns, 'run')}, "
                f"{self.rerun_seconds:.1f} s) to confirm leaks and tell one-time cycles"
                + (traced if self.traced_tests else "")
            )
        return lines

    def _own_lines(self, own: list[ShapeStats], verbose: bool) -> list[str]:
        if not own:
            return []
        statuses: dict[str, int] = {}
        for s in own:
            for status, n in s.statuses.items():
                statuses[status] = statuses.get(status, 0) + n
        # A finding is a shape in a test: the statuses count findings, not tests.
        detail = ", ".join(f"{n:,} {status}" for status, n in sorted(statuses.items()))
        findings = counted(sum(statuses.values()), "finding")
        lines = [
            f"{counted(len(_tests_of(own)), 'test')} created reference cycles: "
            f"{counted(len(own), 'shape')}, {findings} ({detail})"
        ]
        return lines + self._grouped_lines(own, verbose)

    def _stuck_lines(self, stuck: list[ShapeStats], verbose: bool) -> list[str]:
        if not stuck:
            return []
        lines = [
            f"{counted(len(_tests_of(stuck)), 'test')} left objects the collector cannot free "
            f"(in gc.garbage for good): {counted(len(stuck), 'shape')}"
        ]
        return lines + self._grouped_lines(stuck, verbose)

    def _not_failing_lines(self, shapes: list[ShapeStats], what: str, verbose: bool) -> list[str]:
        if not shapes:
            return []
        hint = "" if verbose else "; -v lists them"
        lines = [f"{counted(len(_tests_of(shapes)), 'test')} with {what}: {counted(len(shapes), 'shape')}{hint}"]
        return lines + self._grouped_lines(shapes, verbose) if verbose else lines

    def _grouped_lines(self, shapes: list[ShapeStats], verbose: bool) -> list[str]:
        """Shapes under their origin module; past ``MAX_GROUPS_SHOWN`` lines (-v: any number), one for the rest.

        The modules with failing shapes come first, then those most tests
        share; a module's shapes keep the order they come in.
        """
        groups: dict[str, list[ShapeStats]] = {}
        for stats in shapes:
            groups.setdefault(origin_module(stats.exemplar), []).append(stats)
        ordered = sorted(
            groups.items(),
            key=lambda item: (all(FAILED not in s.statuses for s in item[1]), -len(_tests_of(item[1])), item[0]),
        )
        shown = ordered if verbose or len(ordered) <= MAX_GROUPS_SHOWN else ordered[: MAX_GROUPS_SHOWN - 1]
        lines: list[str] = []
        for module, group in shown:
            lines.append(f"{module} — {_tests_and_shapes(group)}")
            for stats in group:
                lines.extend(self._shape_lines(stats))
        if len(shown) < len(ordered):
            rest = [stats for _, group in ordered[len(shown) :] for stats in group]
            more = counted(len(ordered) - len(shown), "more module")
            lines.append(f"… {more} ({_tests_and_shapes(rest)}); -v lists them")
        return lines

    def _leak_lines(self) -> list[str]:
        if not self.leaks:
            return []
        leaks = sorted(self.leaks.values(), key=lambda s: (-len(s.tests), s.exemplar.shape))
        tests = {t for s in leaks for t in s.tests}
        kept = {name for s in leaks for name in s.kept}
        more = f" (and {counted(len(kept), 'more kind')} kept with them)" if kept else ""
        lines = [f"{counted(len(tests), 'test')} leaked objects: {counted(len(leaks), 'kind')}{more}"]
        for leak_stats in leaks:
            leak = leak_stats.exemplar
            where = leak.chain.root if leak.chain else "?"
            tag = _status_tag(leak_stats.statuses, len(leak_stats.tests))
            kind = leak.class_name.rsplit(".", 1)[-1]
            lines.append(f"  [{tag}] {kind} (+{leak.per_run} per run), kept alive by {where}")
            if leak_stats.kept:
                lines.append(f"      {kept_kinds_line(sorted(leak_stats.kept))}")
            if leak.site:
                lines.append(f"      allocated at {leak.site}")
            lines.append(f"      {_test_ids(leak_stats.tests)}")
        return lines

    def _finalizer_lines(self) -> list[str]:
        if not self.finalizer_warnings:
            return []
        tests = {nodeid for nodeid, _ in self.finalizer_warnings}
        lines = [
            f"{counted(len(tests), 'test')} left garbage whose finalizers raised warnings "
            "that the warning filters make errors:"
        ]
        for nodeid, text in self.finalizer_warnings[:MAX_TESTS_SHOWN]:
            lines.append(f"  {nodeid}: {text}")
        if len(self.finalizer_warnings) > MAX_TESTS_SHOWN:
            lines.append(f"  ... and {len(self.finalizer_warnings) - MAX_TESTS_SHOWN} more")
        return lines

    def _note_lines(self) -> list[str]:
        lines = once(f"{nodeid}: {note}" for nodeid, note in self.notes)
        lines += once(f"could not explain the garbage of {nodeid}: {error}" for nodeid, error in self.errors)
        if self.unsaved:
            lines.append(
                f"{counted(self.unsaved_tests, 'test')} made more cyclic garbage than gc-guard keeps per test: "
                f"{counted(self.unsaved, 'more object')} were freed without being analysed"
            )
        return lines

    def _audit_shapes(self) -> list[AuditShape]:
        """Heap audits' cycles by shape (as ``_shape_stats`` groups them), the most widespread first."""
        by_shape: dict[str, AuditShape] = {}
        by_line: dict[str, AuditShape] = {}
        for audit in self.audits:
            window = audit["first"] if audit["tests"] == 1 else f"{audit['first']} ... {audit['last']}"
            window = f"during {counted(audit['tests'], 'test')}: {window}"
            for data in audit["cycles"]:
                cycle = Cycle.from_dict(data)
                entry = by_shape.get(summary_shape(cycle))
                if entry is None:
                    entry = by_line.setdefault(format_cycle_path(cycle), AuditShape(cycle))
                    by_shape[summary_shape(cycle)] = entry
                entry.cycles += cycle.count
                if window not in entry.windows:
                    entry.windows.append(window)
        return sorted(by_line.values(), key=lambda entry: -len(entry.windows))

    def _audit_lines(self, verbose: bool) -> list[str]:
        """Heap audits' cycles grouped by shape, each with the windows of tests it was made in."""
        ordered = self._audit_shapes()
        count = sum(entry.cycles for entry in ordered)
        errors = [audit["error"] for audit in self.audits if audit.get("error")]
        lines = [
            f"heap audit: {counted(count, 'reference cycle')} through objects older than the test that dropped "
            f"them, in {counted(len(ordered), 'shape')} (not failing; each was made during the tests shown):"
        ]
        shown = ordered if verbose else ordered[:MAX_TESTS_SHOWN]
        for entry in shown:
            lines.append(f"  [{counted(entry.cycles, 'cycle')}] {format_cycle_path(entry.exemplar)}")
            windows = entry.windows
            for window in windows if verbose else windows[:MAX_TESTS_SHOWN]:
                lines.append(f"      {window}")
            if not verbose and len(windows) > MAX_TESTS_SHOWN:
                lines.append(f"      ... and {len(windows) - MAX_TESTS_SHOWN:,} more windows")
        if len(shown) < len(ordered):
            lines.append(f"  ... and {counted(len(ordered) - len(shown), 'more shape')}; -v lists them")
        lines.extend(once(f"  could not explain an audit's garbage: {error}" for error in errors))
        return lines

    def _shape_lines(self, stats: ShapeStats) -> list[str]:
        tag = _status_tag(stats.statuses, len(stats.tests))
        lines = [f"  [{tag}] {format_cycle_path(stats.exemplar)}"]
        origin = made_by(stats.exemplar)
        if origin:
            lines.append(f"      {origin}")
        sites = distinct_sites(stats.exemplar.path)
        if sites:
            more = f", ... and {len(sites) - MAX_TESTS_SHOWN} more" if len(sites) > MAX_TESTS_SHOWN else ""
            lines.append(f"      allocated at {', '.join(sites[:MAX_TESTS_SHOWN])}{more}")
        lines.append(f"      {_test_ids(stats.tests)}")
        return lines


def _tests_of(shapes: Iterable[ShapeStats]) -> set[str]:
    return {t for s in shapes for t in s.tests}


def _tests_and_shapes(shapes: list[ShapeStats]) -> str:
    """``2,650 tests, 16 shapes``."""
    return f"{counted(len(_tests_of(shapes)), 'test')}, {counted(len(shapes), 'shape')}"


def _failing_first(stats: ShapeStats) -> tuple[bool, int, str]:
    """Shapes that failed tests first, then the most widespread."""
    return FAILED not in stats.statuses, -len(stats.tests), stats.exemplar.shape


def _test_ids(tests: list[str]) -> str:
    shown = ", ".join(tests[:MAX_TESTS_SHOWN])
    more = f", ... and {len(tests) - MAX_TESTS_SHOWN} more" if len(tests) > MAX_TESTS_SHOWN else ""
    return shown + more


def _status_tag(statuses: dict[str, int], tests: int) -> str:
    """``3 tests`` when all failed (or are informational), else ``3 tests: 2 failed, 1 one-time``."""
    judged = {status: n for status, n in statuses.items() if status != INFO}
    if not judged or set(judged) == {FAILED}:
        return counted(tests, "test")
    if len(judged) == 1:
        return f"{counted(tests, 'test')}, {next(iter(judged))}"
    return f"{counted(tests, 'test')}: " + ", ".join(f"{n:,} {status}" for status, n in sorted(judged.items()))
