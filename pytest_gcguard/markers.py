"""The ``allow_cycles`` and ``allow_leaks`` markers: registered, and read from the collected items.

The arguments are parsed by pure functions (``judging/allowance.py``); this
module only finds the markers and turns bad arguments into a usage error
that names the test.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import TypeVar

import pytest

from pytest_gcguard.judging.allowance import CycleAllowance
from pytest_gcguard.judging.allowance import LeakAllowance
from pytest_gcguard.judging.allowance import parse_leak_marker
from pytest_gcguard.judging.allowance import parse_marker


MARKER_LINES = (
    "allow_cycles(reason=None, *, types=None, max_objects=None): let this test leave "
    "reference cycles (only of the given classes or qualified names, and at most "
    "max_objects objects, when given). See pytest-gcguard's docs.",
    "allow_leaks(reason=None, *, types=None): let this test leak objects (only of the "
    "given classes or qualified names, when given). See pytest-gcguard's docs.",
)


@dataclass
class Allowances:
    """The collected tests' markers, parsed, by node id."""

    cycles: dict[str, CycleAllowance] = field(default_factory=dict)
    leaks: dict[str, LeakAllowance] = field(default_factory=dict)

    def read(self, items: Sequence[pytest.Item]) -> None:
        for item in items:
            cycles = _marker(item, "allow_cycles", parse_marker)
            if cycles is not None:
                self.cycles[item.nodeid] = cycles
            leaks = _marker(item, "allow_leaks", parse_leak_marker)
            if leaks is not None:
                self.leaks[item.nodeid] = leaks


_Allowance = TypeVar("_Allowance", CycleAllowance, LeakAllowance)


def _marker(
    item: pytest.Item, name: str, parse: Callable[[Sequence[Any], dict[str, Any]], _Allowance]
) -> _Allowance | None:
    """The item's marker, parsed; bad arguments are a usage error that names the test."""
    marker = item.get_closest_marker(name)
    if marker is None:
        return None
    try:
        return parse(marker.args, dict(marker.kwargs))
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"{item.nodeid}: invalid @pytest.mark.{name}: {exc}") from None
