"""The gc_guard_allow list as a pure parser (judging/allowlist.py), and whose each cycle member is, in process."""

from __future__ import annotations

import abc
import functools
import sys

import pytest

from pytest_gcguard.engine.findings import CLASS_MEMBER
from pytest_gcguard.engine.findings import CODE_MEMBER
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.ownership import member_owner
from pytest_gcguard.judging.allowance import allow_cycles
from pytest_gcguard.judging.allowance import coverage_notes
from pytest_gcguard.judging.allowlist import AllowList
from pytest_gcguard.judging.allowlist import AllowListError


@pytest.mark.parametrize("entry", ["list", "builtins.list", "builtins", "cycles: dict", "leaks: ValueError"])
def test_an_entry_that_can_never_match_is_refused(entry: str) -> None:
    with pytest.raises(AllowListError, match="can never match"):
        AllowList.parse([entry])


def test_module_prefixes_and_class_names_are_kept_by_kind() -> None:
    allow = AllowList.parse(["networkx", "cycles: mylib.views.NodeView", "leaks: mylib.registry.Handler", "# note"])
    assert allow.cycles == ("networkx", "mylib.views.NodeView")
    assert allow.leaks == ("networkx", "mylib.registry.Handler")
    assert allow.covers_cycle([("networkx.classes.graph.Graph",)])
    assert not allow.covers_cycle([("networkx.classes.graph.Graph",), ("other.Thing",)])
    assert not allow.covers_cycle([])  # a cycle of plain containers names no class: never covered
    assert allow.covers_leak(["mylib.registry.Handler"]) and not allow.covers_leak(["mylib.views.NodeView"])


def test_classes_functions_and_frames_are_covered_by_their_module() -> None:
    """A class by its own name (or a base's), a function or frame by its module; a class entry covers no code."""
    allow = AllowList.parse(["mylib", "cycles: other.Widget"])
    assert allow.covers_cycle([(CLASS_MEMBER, "mylib.make.<locals>.C")])
    assert allow.covers_cycle([(CODE_MEMBER, "mylib.sub"), (CLASS_MEMBER, "pkg.C", "other.Widget")])
    assert not allow.covers_cycle([(CODE_MEMBER, "mylibrary")])
    assert not allow.covers_cycle([("other.Widget",), (CODE_MEMBER, "other")])  # a class entry is no module entry


def _function() -> object:
    return sys._getframe()


def test_member_owner_reads_whose_each_member_is() -> None:
    """Instances and classes by their MRO (not the metaclass's); code by the module whose namespace it runs in."""
    frame = _function()
    try:
        assert member_owner(frame) == (CODE_MEMBER, __name__)
    finally:
        del frame
    assert member_owner(_function) == (CODE_MEMBER, __name__)
    wrapped = functools.wraps(print)(lambda: None)  # __module__ copied from print: the code is still ours
    assert wrapped.__module__ == "builtins" and member_owner(wrapped) == (CODE_MEMBER, __name__)
    namespace: dict[str, object] = {"__name__": "templates/page.html"}
    exec("def generated(): pass", namespace)
    assert member_owner(namespace["generated"]) is None  # globals that are no loaded module's: no owner

    class Abstract(abc.ABC):
        @abc.abstractmethod
        def run(self) -> None: ...

    qualname = f"{__name__}.test_member_owner_reads_whose_each_member_is.<locals>.Abstract"
    assert member_owner(Abstract) == (CLASS_MEMBER, qualname, "abc.ABC")
    assert member_owner(AllowListError("x"))[:1] == ("pytest_gcguard.judging.allowlist.AllowListError",)  # type: ignore[index]
    ownerless: list[object] = [{}, [], ValueError("x"), (lambda: None).__code__, print]
    assert [member_owner(obj) for obj in ownerless] == [None] * len(ownerless)


def test_the_marker_s_types_match_instances_only() -> None:
    """allow_cycles(types=...) leaves classes, functions and frames aside, as it does plain containers."""
    hops = (Hop("Graph('a')", "lib.Graph", ".next"),)
    members = (("lib.Graph",), (CLASS_MEMBER, "lib.make.<locals>.C", "abc.ABC"), (CODE_MEMBER, "other"))
    marker = allow_cycles(types=["lib.Graph"])
    assert marker.covers(Cycle(CYCLE, hops, 1, 3, 0, member_types=members))
    assert not marker.covers(Cycle(CYCLE, hops, 1, 2, 0, member_types=members[1:]))  # no instance: nothing to match


def test_coverage_notes_name_the_members_left_out() -> None:
    """The marker's types are told about every failing cycle; the allow list only where it covers a part."""
    graph = Hop("Graph('g')", "lib.Graph", ".next")
    other = Hop("Other('o')", "lib.Other", ".graph")
    ring = Cycle(CYCLE, (graph, other), 1, 2, 0, member_types=(("lib.Graph",), ("lib.Other", "lib.Base")))
    containers = Cycle(CYCLE, (Hop("list", "list", "[0]"),), 1, 1, 0)
    marker = allow_cycles(types=["lib.Graph"])
    allow = AllowList.parse(["cycles: lib.Graph"])
    assert coverage_notes([ring], marker, AllowList()) == [
        "allow_cycles(types=['lib.Graph']) does not cover Other('o') (lib.Other)"
    ]
    assert coverage_notes([ring], None, allow) == ["gc_guard_allow does not cover Other('o') (lib.Other)"]
    assert coverage_notes([ring], None, AllowList.parse(["cycles: other"])) == []
    assert coverage_notes([containers], marker, allow) == [
        "allow_cycles(types=['lib.Graph']) cannot cover a cycle with no instance of a Python class "
        "(containers, classes, code and interpreter objects only)"
    ]
    # A member off the printed path is named by its class alone.
    off_path = Cycle(CYCLE, (graph,), 1, 2, 0, member_types=(("lib.Graph",), ("lib.Hidden",)))
    assert coverage_notes([off_path], None, allow) == ["gc_guard_allow does not cover lib.Hidden"]


def test_coverage_notes_name_classes_and_code_by_their_owner() -> None:
    """A class or a function left out is named as such (the allow list covers them by module since issue 14)."""
    graph = Hop("Graph('g')", "lib.Graph", ".make")
    members = (("lib.Graph",), (CLASS_MEMBER, "other.make.<locals>.C"), (CODE_MEMBER, "other"))
    ring = Cycle(CYCLE, (graph,), 1, 3, 0, member_types=members)
    assert coverage_notes([ring], None, AllowList.parse(["lib"])) == [
        "gc_guard_allow does not cover class other.make.<locals>.C, code of other"
    ]
    marker = allow_cycles(types=["lib.Graph"])
    assert coverage_notes([ring], marker, AllowList()) == []  # the marker's types match instances only
