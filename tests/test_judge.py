"""The verdict as pure functions (judging/judge.py): every status, and every input that changes it.

In process: findings are plain data, so no inner pytest session is needed.
"""

from __future__ import annotations

import dataclasses

import pytest

from pytest_gcguard.engine.chains import NO_REFERRER
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import INTERNAL
from pytest_gcguard.engine.findings import STDLIB
from pytest_gcguard.engine.findings import TEST_LOCAL
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import UNLOADED
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.judging.allowance import allow_cycles
from pytest_gcguard.judging.allowance import allow_leaks
from pytest_gcguard.judging.allowlist import AllowList
from pytest_gcguard.judging.baseline import fingerprint
from pytest_gcguard.judging.judge import ALLOWED
from pytest_gcguard.judging.judge import FAILED
from pytest_gcguard.judging.judge import INFO
from pytest_gcguard.judging.judge import KNOWN
from pytest_gcguard.judging.judge import NOT_JUDGED
from pytest_gcguard.judging.judge import ONE_TIME
from pytest_gcguard.judging.judge import WARNED
from pytest_gcguard.judging.judge import Observation
from pytest_gcguard.judging.judge import Policy
from pytest_gcguard.judging.judge import Verdict
from pytest_gcguard.judging.judge import decide
from pytest_gcguard.judging.judge import triage


NODE = "test_x.py::test_it"


def ring(name: str = "lib.Graph", kind: str = CYCLE, objects: int = 2) -> Cycle:
    hops = (Hop(f"{name}('a')", name, ".next"), Hop(f"{name}('b')", name, ".next"))
    return Cycle(kind=kind, path=hops, count=1, objects=objects, kept_alive=0, member_types=((name,),))


def leak(name: str = "lib.Entry", root: str = "module lib, global REGISTRY") -> Leak:
    return Leak(name, (1, 2, 3), Chain(root, (Hop("[...]", "list", "[0]"),)), (name,))


class Entry:
    """A suspect class (a Python class of this test module)."""


def judge(
    cycles: list[Cycle],
    observation: Observation | None = None,
    *,
    policy: Policy | None = None,
    not_judged: bool = False,
    window_note: str | None = None,
    walk_note: str | None = None,
    **allowances: object,
) -> Verdict:
    """triage then decide, as the judgement does; the observation stands for the re-run."""
    policy = policy or Policy()
    plan = triage(NODE, cycles, [], policy=policy, **allowances)  # type: ignore[arg-type]
    return decide(
        NODE,
        cycles,
        plan,
        observation,
        policy=policy,
        not_judged=not_judged,
        window_note=window_note,
        walk_note=walk_note,
    )


def statuses(verdict: Verdict) -> list[str]:
    return [status for _, status in verdict.cycles]


@pytest.mark.parametrize(("mode", "status"), [("fail", FAILED), ("warn", WARNED)])
def test_a_recurring_cycle_fails_or_warns_by_mode(mode: str, status: str) -> None:
    verdict = judge([ring()], Observation(runs=1), policy=Policy(mode=mode))
    assert statuses(verdict) == [status]
    assert verdict.has_failures and verdict.judged


def test_a_test_that_failed_on_its_own_is_not_judged() -> None:
    verdict = judge([ring()], not_judged=True)
    assert statuses(verdict) == [NOT_JUDGED]
    assert not verdict.judged


def test_a_window_that_cannot_be_judged_says_why() -> None:
    verdict = judge([ring()], not_judged=True, window_note="the test unfroze the heap")
    assert verdict.note == "the test unfroze the heap"


def test_survivors_not_walked_leave_the_cycles_judged_and_the_test_unjudged() -> None:
    """The leak side was cut short: its note shows, its cycles still fail, and its baseline entries stay."""
    verdict = judge([ring()], Observation(runs=1), walk_note="leaks not judged: cut short")
    assert verdict.note == "leaks not judged: cut short"
    assert statuses(verdict) == [FAILED]
    assert not verdict.judged


@pytest.mark.parametrize(
    ("kind", "status"), [(TEST_LOCAL, INFO), (INTERNAL, INFO), (UNLOADED, INFO), (STDLIB, FAILED), (CYCLE, FAILED)]
)
def test_only_the_code_under_test_s_cycles_fail(kind: str, status: str) -> None:
    """The standard library is code under test too (issue 14); its C implementation's own cycles are not."""
    assert statuses(judge([ring(kind=kind)], Observation(runs=1))) == [status]


@pytest.mark.parametrize(
    ("kind", "origin", "status"),
    [
        (CYCLE, "project", INFO),
        (CYCLE, "dependency", FAILED),
        (STDLIB, "stdlib", INFO),
        (STDLIB, "", INFO),  # a stdlib cycle's origin is the standard library, named or not
        (CYCLE, "", FAILED),  # whose it is nothing tells (builtin containers only): never hidden
    ],
)
def test_fail_on_chooses_the_origins_that_fail(kind: str, origin: str, status: str) -> None:
    cycle = dataclasses.replace(ring(kind=kind), origin=origin)
    policy = Policy(fail_on=frozenset({"dependency"}))
    assert statuses(judge([cycle], Observation(runs=1), policy=policy)) == [status]


def test_a_shape_that_did_not_recur_is_one_time() -> None:
    cycle = ring()
    verdict = judge([cycle], Observation(runs=1, one_time=frozenset({cycle.shape_key})))
    assert statuses(verdict) == [ONE_TIME]
    assert not verdict.has_failures


def test_the_marker_allows_its_types_only() -> None:
    graph, other = ring("lib.Graph"), ring("lib.Other")
    verdict = judge([graph, other], Observation(runs=1), cycle_allowance=allow_cycles(types=["lib.Graph"]))
    assert statuses(verdict) == [ALLOWED, FAILED]


def test_max_objects_exceeded_fails_every_cycle_and_says_so() -> None:
    verdict = judge([ring(objects=5)], Observation(runs=1), cycle_allowance=allow_cycles(max_objects=4))
    assert statuses(verdict) == [FAILED]
    assert verdict.exceeded == "allow_cycles(max_objects=4) exceeded: 5 objects in cycles"


def test_the_allow_list_covers_a_cycle_whose_members_it_names() -> None:
    allow = AllowList.parse(["lib.Graph"])
    verdict = judge([ring("lib.Graph"), ring("other.Node")], Observation(runs=1), policy=Policy(allow=allow))
    assert statuses(verdict) == [ALLOWED, FAILED]


def cut_short(member_types: tuple[tuple[str, ...], ...] = ()) -> Cycle:
    """A chain a window's sample cut short: plain dicts, no member naming an owner (networkx's edge dicts)."""
    hops = (Hop("{(0, True): {...}}", "dict", "[(0, True)]"), Hop("{'weight': 1}", "dict", ""))
    return Cycle(
        kind=CYCLE, path=hops, count=1, objects=34, kept_alive=0, member_types=member_types, traced=False, sampled=True
    )


@pytest.mark.parametrize(
    ("whole", "fragment"),
    [
        ([ring("lib.Graph")], ALLOWED),  # every whole cycle allowed: the fragment goes with them
        ([ring("lib.Graph"), ring("other.Node")], FAILED),  # one whole cycle fails: so does the fragment
        ([cut_short(member_types=(("lib.Graph",),))], ALLOWED),  # a chain naming its owner is as good
        ([], FAILED),  # nothing to go with: it fails, nothing tells it apart
    ],
)
def test_a_chain_the_sample_cut_short_goes_with_its_window_s_whole_cycles(whole: list[Cycle], fragment: str) -> None:
    allow = AllowList.parse(["lib"])
    verdict = judge([*whole, cut_short()], Observation(runs=1), policy=Policy(allow=allow))
    assert statuses(verdict)[-1] == fragment


def test_a_chain_the_sample_cut_short_goes_with_whole_cycles_the_marker_allows() -> None:
    verdict = judge(
        [ring("lib.Graph"), cut_short()], Observation(runs=1), cycle_allowance=allow_cycles(types=["lib.Graph"])
    )
    assert statuses(verdict) == [ALLOWED, ALLOWED]


def test_a_chain_the_sample_cut_short_does_not_go_with_test_local_cycles() -> None:
    verdict = judge([ring("t.Node", kind=TEST_LOCAL), cut_short()], Observation(runs=1))
    assert statuses(verdict) == [INFO, FAILED]


def test_a_baseline_fingerprint_makes_a_cycle_known() -> None:
    cycle = ring()
    known = frozenset({fingerprint(NODE, cycle.kind, cycle.shape)})
    assert statuses(judge([cycle], policy=Policy(known=known))) == [KNOWN]
    assert statuses(judge([ring("lib.Other")], Observation(runs=1), policy=Policy(known=known))) == [FAILED]


def test_recording_a_baseline_makes_everything_known() -> None:
    assert statuses(judge([ring()], policy=Policy(record_all=True))) == [KNOWN]


def test_what_a_re_run_must_decide() -> None:
    """Unsure: every failing cycle (its own re-run tells whether it recurs), never an uncollectable one."""
    fresh, stuck = ring("lib.A"), ring("lib.B", kind=UNCOLLECTABLE)
    plan = triage(NODE, [fresh, stuck], [], policy=Policy())
    assert plan.unsure == (fresh,)
    assert plan.failing == (fresh, stuck)


def test_suspects_allowed_are_not_checked() -> None:
    name = f"{__name__}.Entry"
    assert triage(NODE, [], [Entry], policy=Policy()).suspects == (Entry,)
    allow = Policy(allow=AllowList.parse([f"leaks: {name}"]))
    assert triage(NODE, [], [Entry], policy=allow).suspects == ()
    marker = allow_leaks(types=[name])
    assert triage(NODE, [], [Entry], policy=Policy(), leak_allowance=marker).suspects == ()


def test_leaks_fail_unless_known_also_when_only_c_code_holds_them() -> None:
    grown, known, held_by_c = leak("lib.A"), leak("lib.B"), leak("lib.C", root=f"{NO_REFERRER}: a registry")
    policy = Policy(known=frozenset({fingerprint(NODE, "leak", known.shape)}))
    verdict = judge([], Observation(runs=3, leaks=(grown, known, held_by_c)), policy=policy)
    assert verdict.leaks == ((grown, FAILED), (held_by_c, FAILED), (known, KNOWN))
    assert verdict.failing_leaks == (grown, held_by_c)
    assert verdict.note is None
    assert verdict.reruns == 3


def test_a_re_run_that_did_not_count_leaves_a_note_and_the_test_unjudged_for_the_baseline() -> None:
    verdict = judge([], Observation(unconfirmed="the re-run failed in call"))
    assert verdict.note == "a possible leak could not be confirmed: the re-run failed in call"
    assert not verdict.judged and not verdict.has_failures


class SubEntry(Entry):
    """A suspect whose base class, not itself, is on the allow list."""


def test_the_allow_list_covers_a_leak_through_its_mro() -> None:
    allow = Policy(allow=AllowList.parse([f"leaks: {__name__}.Entry"]))
    assert triage(NODE, [], [SubEntry, int], policy=allow).suspects == (int,)
    cycles_only = Policy(allow=AllowList.parse([f"cycles: {__name__}.Entry"]))
    assert triage(NODE, [], [SubEntry], policy=cycles_only).suspects == (SubEntry,)


def test_the_marker_within_max_objects_allows_and_says_nothing() -> None:
    verdict = judge([ring(objects=4)], Observation(runs=1), cycle_allowance=allow_cycles(max_objects=4))
    assert statuses(verdict) == [ALLOWED]
    assert verdict.exceeded is None and not verdict.has_failures


def test_an_uncollectable_cycle_fails_without_a_re_run_unless_known() -> None:
    stuck = ring(kind=UNCOLLECTABLE)
    assert statuses(judge([stuck])) == [FAILED]
    known = Policy(known=frozenset({fingerprint(NODE, UNCOLLECTABLE, stuck.shape)}))
    assert statuses(judge([stuck], policy=known)) == [KNOWN]


@pytest.mark.parametrize(
    ("mode", "not_judged", "status", "failing"),
    [("fail", False, FAILED, True), ("warn", False, WARNED, True), ("fail", True, NOT_JUDGED, False)],
)
def test_a_grown_leak_s_status(mode: str, not_judged: bool, status: str, failing: bool) -> None:
    grown = leak()
    verdict = judge([], Observation(runs=3, leaks=(grown,)), policy=Policy(mode=mode), not_judged=not_judged)
    assert verdict.leaks == ((grown, status),)
    assert verdict.failing_leaks == ((grown,) if failing else ())
    assert verdict.has_failures is failing


def test_a_leak_with_no_chain_at_all_is_unexplained() -> None:
    bare = Leak("lib.Blob", (1, 2, 3))
    verdict = judge([], Observation(runs=3, leaks=(bare,)))
    assert verdict.leaks == () and not verdict.has_failures
    assert verdict.note == "grew on every re-run, but no instance was left to search from (not failing): lib.Blob"


@pytest.mark.parametrize(
    ("window_note", "unconfirmed", "note"),
    [
        ("unfroze", "skipped", "unfroze"),
        (None, "skipped", "a possible leak could not be confirmed: skipped"),
        (None, None, "grew on every re-run, but no instance was left to search from (not failing): lib.C"),
    ],
)
def test_which_note_wins(window_note: str | None, unconfirmed: str | None, note: str) -> None:
    unexplained = Leak("lib.C", (1, 2, 3))
    observation = Observation(runs=3, unconfirmed=unconfirmed, leaks=(unexplained,))
    assert judge([], observation, window_note=window_note).note == note
