"""The verdict on one test's findings, as pure functions of the findings and the policy.

Judging happens in two steps, because a re-run may be needed in between:

1. ``triage`` applies the test's marker, the project's allow list and the
   baseline, and says what is still unsure: cycle shapes whose recurrence
   is unknown, and suspect types whose growth is unknown.  If any, the
   caller runs the test again and brings back an ``Observation``
   (``rerun.py``).
2. ``decide`` gives every finding its status and says whether the test
   fails (fail mode) or warns (warn mode).

A verdict depends on the test's own findings and re-runs only, never on
what earlier tests showed: remembered across tests, "this shape recurred in
another test" failed a test whose own cycle was one-time, or passed it, by
the order the tests ran in (docs/how-it-works.md, "Leaks").  Nothing here
touches pytest or the heap: the caller passes plain findings in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import FAIL_ON_CHOICES
from pytest_gcguard.engine.findings import STDLIB
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.engine.introspect import type_mro
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.engine.keepers import folded_leaks
from pytest_gcguard.judging.allowance import CycleAllowance
from pytest_gcguard.judging.allowance import LeakAllowance
from pytest_gcguard.judging.allowance import coverage_notes
from pytest_gcguard.judging.allowance import fails
from pytest_gcguard.judging.allowance import split_by_allowance
from pytest_gcguard.judging.allowlist import AllowList
from pytest_gcguard.judging.baseline import fingerprint


# Statuses of a finding.
FAILED = "failed"  # failed the test (fail mode)
WARNED = "warned"  # reported as a GcGuardWarning (warn mode)
ALLOWED = "allowed"  # exempted by @pytest.mark.allow_cycles or the gc_guard_allow list
NOT_JUDGED = "not-judged"  # the test had already failed or been skipped, or its window cannot be judged
INFO = "info"  # test-local, internal or unloaded cycles, and cycles of origins --gc-guard-fail-on leaves out
ONE_TIME = "one-time"  # made on the first run only (lazy initialisation): never fails
KNOWN = "known"  # in the baseline: reported, does not fail


@dataclass(frozen=True)
class Policy:
    """What the run asks: the mode, the allow list and the baseline."""

    mode: str = "fail"  # "fail" or "warn"
    allow: AllowList = field(default_factory=AllowList)
    known: frozenset[str] = frozenset()  # baseline fingerprints
    record_all: bool = False  # --gc-guard-update-baseline: every finding is being recorded as known
    fail_on: frozenset[str] = frozenset(FAIL_ON_CHOICES)  # --gc-guard-fail-on: the origins whose cycles fail

    def is_known(self, nodeid: str, kind: str, shape: str) -> bool:
        return self.record_all or fingerprint(nodeid, kind, shape) in self.known


@dataclass(frozen=True)
class Observation:
    """What re-running a test showed."""

    runs: int = 0
    unconfirmed: str | None = None  # why the re-runs do not count (the re-run failed or skipped)
    one_time: frozenset[str] = frozenset()  # shape keys of the unsure shapes that did not recur
    leaks: tuple[Leak, ...] = ()  # suspect types that grew on every run
    # Who allocated the cycles that had no owner (plain containers): shape key,
    # then ``Cycle.member_types``, ``origin`` and ``origin_name`` of the same
    # shape in the traced re-run.
    owners: tuple[tuple[str, tuple[tuple[str, ...], ...], str, str], ...] = ()
    traced: bool = False  # the first re-run ran under tracemalloc, to learn who allocated those cycles


@dataclass(frozen=True)
class Triage:
    """The findings after the marker, allow list and baseline: what is settled, what is not."""

    allowed: frozenset[int]  # id() of the cycles allowed (marker or allow list)
    known: frozenset[int]  # id() of the cycles in the baseline
    failing: tuple[Cycle, ...]  # cycles that fail unless a re-run shows them one-time
    unsure: tuple[Cycle, ...]  # of those, the ones a re-run must check
    suspects: tuple[type, ...]  # suspect types whose growth is still to be checked
    # Suspect types the marker or the allow list allows: never judged, but
    # followed by a re-run that happens anyway, so that the kinds they keep
    # alive are allowed with them (``rerun.Rerun``).
    allowed_suspects: tuple[type, ...] = ()
    # Why an allowance did not allow failing cycles, one line each: the marker's
    # max_objects exceeded, members its types or the allow list do not cover.
    exceeded: str | None = None


def triage(
    nodeid: str,
    cycles: Sequence[Cycle],
    suspects: Sequence[type],
    *,
    policy: Policy,
    cycle_allowance: CycleAllowance | None = None,
    leak_allowance: LeakAllowance | None = None,
) -> Triage:
    """Step 1: what the policy settles, and what a re-run must decide."""
    marked = split_by_allowance(cycles, cycle_allowance, policy.fail_on)
    allowed = {id(c) for c in marked.allowed}
    allowed.update(id(c) for c in marked.failing if policy.allow.covers_cycle(c.member_types))
    allowed.update(id(c) for c in _fragments_of_allowed_cycles(marked.failing, marked.allowed, allowed))
    known = {id(c) for c in marked.failing if policy.is_known(nodeid, c.kind, c.shape)}
    failing = tuple(c for c in marked.failing if id(c) not in allowed and id(c) not in known)
    notes = [marked.exceeded] if marked.exceeded else []
    notes += coverage_notes(failing, cycle_allowance, policy.allow)
    # (Uncollectable garbage stays for good, even made once: no re-run tells it apart.)
    unsure = tuple(c for c in failing if c.kind in (CYCLE, STDLIB))
    checked: list[type] = []
    allowed_suspects: list[type] = []
    for tp in suspects:
        mro = [type_name(k) for k in type_mro(tp)]
        covered = (leak_allowance is not None and leak_allowance.covers(mro)) or policy.allow.covers_leak(mro)
        (allowed_suspects if covered else checked).append(tp)
    return Triage(
        allowed=frozenset(allowed),
        known=frozenset(known),
        failing=failing,
        unsure=unsure,
        suspects=tuple(checked),
        allowed_suspects=tuple(allowed_suspects),
        exceeded="\n".join(notes) or None,
    )


def _root_allowed(leak: Leak, allow: AllowList) -> bool:
    """Whether the leak's chain starts at a global of a module the allow list covers."""
    root = leak.chain.module_global if leak.chain is not None else None
    return root is not None and allow.covers_leak([root[0]])


def _fragments_of_allowed_cycles(failing: Sequence[Cycle], marked: Sequence[Cycle], allowed: set[int]) -> list[Cycle]:
    """The chains a sample cut short, when everything else the window's sample shows is allowed.

    One collection that finds more than the window's cap is analysed as a
    sample (``saving.sample``); what the sample cut from its cycles is
    reported as chains cut short, some with nothing left in them that an
    allow entry could name: a graph's per-edge dicts, a library's
    ``ItemsView.__iter__`` generator.  Which cycle a chain belongs to the
    sample cannot tell, but it is the same garbage as the window's other
    findings: when each of those (cycles, or chains that still name their
    owner) is allowed, it goes with them (networkx's suite with
    ``gc_guard_allow = networkx``).  With nothing to go with, or one of
    them failing, it keeps failing: nothing tells it apart.
    """
    fragments = [c for c in failing if c.sampled and id(c) not in allowed]
    others = [c for c in (*failing, *marked) if not (c.sampled and id(c) not in allowed)]
    if fragments and others and all(id(c) in allowed for c in others):
        return fragments
    return []


def with_owners(cycles: Sequence[Cycle], observation: Observation | None) -> list[Cycle]:
    """The cycles, those that had no owner given the one a re-run found, and its origin (``Observation.owners``).

    The first run's cycle gets them: it is what the verdict and the report
    are about, and the allow list and ``--gc-guard-fail-on`` can now judge it
    (``triage`` again).
    """
    owners = {entry[0]: entry[1:] for entry in observation.owners} if observation is not None else {}
    found = []
    for c in cycles:
        owner = owners.get(c.shape_key) if not c.member_types else None
        if owner is not None:
            member_types, origin, origin_name = owner
            c = dataclasses.replace(c, member_types=member_types, origin=origin, origin_name=origin_name)
        found.append(c)
    return found


@dataclass(frozen=True)
class Verdict:
    """Every finding with its status, and what the test is told."""

    cycles: tuple[tuple[Cycle, str], ...]
    leaks: tuple[tuple[Leak, str], ...]
    failing: tuple[Cycle, ...]  # the cycles that fail or warn
    failing_leaks: tuple[Leak, ...]  # the leaks that fail or warn
    note: str | None = None
    reruns: int = 0
    exceeded: str | None = None
    judged: bool = True  # False: not judged (the test failed, its window cannot be judged), or a re-run did not count

    @property
    def has_failures(self) -> bool:
        return bool(self.failing or self.failing_leaks)


def decide(
    nodeid: str,
    cycles: Sequence[Cycle],
    triage: Triage,
    observation: Observation | None,
    *,
    policy: Policy,
    not_judged: bool,
    window_note: str | None = None,
    walk_note: str | None = None,
) -> Verdict:
    """Step 2: the status of every finding, given what a re-run observed (None: no re-run)."""
    seen = observation if observation is not None else Observation()
    one_time = seen.one_time
    failing = tuple(c for c in triage.failing if c.shape_key not in one_time)
    fail_status = NOT_JUDGED if not_judged else (FAILED if policy.mode == "fail" else WARNED)
    failing_ids = {id(c) for c in failing}
    entries = []
    for cycle in cycles:
        if id(cycle) in failing_ids:
            status = fail_status
        elif cycle.shape_key in one_time:
            status = ONE_TIME
        elif id(cycle) in triage.known:
            status = KNOWN
        elif id(cycle) in triage.allowed or fails(cycle, policy.fail_on):
            status = ALLOWED
        else:
            status = INFO
        entries.append((cycle, status))
    # An allowed kind (the re-runs followed it only to fold what it keeps), a
    # leak whose chain starts at a global of a module the allow list covers
    # (a stream's codec decoder that click's stream cache keeps), and the
    # kinds folded under either, are no finding.
    allowed_kinds = {type_name(tp) for tp in triage.allowed_suspects}
    allowed_kinds.update(leak.class_name for leak in seen.leaks if _root_allowed(leak, policy.allow))
    seen = dataclasses.replace(
        seen, leaks=tuple(leak for leak in seen.leaks if not {leak.class_name, leak.kept_by} & allowed_kinds)
    )
    known_leaks = [leak for leak in seen.leaks if policy.is_known(nodeid, "leak", leak.shape)]
    # Growth that survived a collection of the whole heap is a leak, also
    # when only C code holds it (codecs.register, sys.addaudithook,
    # atexit.register): its chain ends "held by C code".  Growth with no
    # chain at all (no instance was left to search from) is only reported.
    unexplained = [leak for leak in seen.leaks if leak.chain is None]
    # Kept by a thread the test started that still runs (a server thread the
    # test did not join): what it holds may be freed when it ends, which the
    # re-runs cannot wait for.  Reported, not judged.
    running = [leak for leak in seen.leaks if leak.running_thread and leak not in known_leaks]
    leaks = tuple(
        leak for leak in seen.leaks if leak not in known_leaks and leak not in unexplained and leak not in running
    )
    note = None
    if window_note is not None:
        note = window_note  # why the window cannot be judged (the test unfroze the heap, ...)
    elif walk_note is not None:
        note = walk_note  # why its survivors were not looked at (a walk cut short)
    elif seen.unconfirmed and triage.unsure and not triage.suspects:
        note = f"whether its cycles recur could not be told: {seen.unconfirmed}"
    elif seen.unconfirmed:
        note = f"a possible leak could not be confirmed: {seen.unconfirmed}"
    elif unexplained:
        names = ", ".join(leak.class_name for leak in unexplained)
        note = f"grew on every re-run, but no instance was left to search from (not failing): {names}"
    elif running:
        threads = ", ".join(sorted({leak.running_thread for leak in running}))
        groups = folded_leaks(running)
        names = ", ".join(sorted(head.class_name for head, _ in groups))
        kept = sum(len(kinds) for _, kinds in groups)
        more = f" (and {kept} more {'kind' if kept == 1 else 'kinds'} kept with them)" if kept else ""
        note = f"not judged: kept by thread {threads}, still running at the end of the test: {names}{more}"
    return Verdict(
        cycles=tuple(entries),
        leaks=tuple(
            [(leak, fail_status) for leak in leaks]
            + [(leak, NOT_JUDGED) for leak in running]
            + [(leak, KNOWN) for leak in known_leaks]
        ),
        failing=failing,
        failing_leaks=() if not_judged else leaks,
        note=note,
        reruns=seen.runs,
        exceeded=triage.exceeded,
        judged=not not_judged and seen.unconfirmed is None and walk_note is None,
    )
