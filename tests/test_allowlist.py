"""The gc_guard_allow list as a pure parser (judging/allowlist.py), and what an allowance leaves out, in process."""

from __future__ import annotations

import pytest

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
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
        "allow_cycles(types=['lib.Graph']) cannot cover a cycle with no member of a Python class "
        "(plain containers and interpreter objects only)"
    ]
    # A member off the printed path is named by its class alone.
    off_path = Cycle(CYCLE, (graph,), 1, 2, 0, member_types=(("lib.Graph",), ("lib.Hidden",)))
    assert coverage_notes([off_path], None, allow) == ["gc_guard_allow does not cover lib.Hidden"]
