"""The gc_guard_allow list as a pure parser (judging/allowlist.py), in process."""

from __future__ import annotations

import pytest

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
