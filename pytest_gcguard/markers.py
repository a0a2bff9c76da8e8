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
    """The selected tests' markers, parsed, by node id; and what was wrong with the bad ones."""

    cycles: dict[str, CycleAllowance] = field(default_factory=dict)
    leaks: dict[str, LeakAllowance] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def read(self, items: Sequence[pytest.Item], *, stop_at_error: bool) -> None:
        """Parse the markers of the tests that will run (``session.items``, after ``-k`` and ``-m``).

        ``stop_at_error``: a bad marker is a usage error (exit code 4) naming
        the test.  Not on a pytest-xdist worker: an exception raised during a
        worker's collection reaches the controller as an INTERNALERROR that
        hides the message (pytest-dev/pytest-xdist#714 is of that family), so
        there the test errors at setup with the message instead (``error_of``).
        """
        for item in items:
            try:
                cycles = _marker(item, "allow_cycles", parse_marker)
                leaks = _marker(item, "allow_leaks", parse_leak_marker)
            except pytest.UsageError as exc:
                if stop_at_error:
                    raise
                self.errors[item.nodeid] = str(exc)
                continue
            if cycles is not None:
                self.cycles[item.nodeid] = cycles
            if leaks is not None:
                self.leaks[item.nodeid] = leaks

    def error_of(self, item: pytest.Item) -> None:
        """Fail the test's setup if its marker was bad (on an xdist worker)."""
        error = self.errors.get(item.nodeid)
        if error is not None:
            pytest.fail(error, pytrace=False)


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
