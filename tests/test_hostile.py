"""Hostile objects in cycles: a clear report, never an INTERNALERROR (core-gate part of issue 7)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


HOSTILE = """
import weakref
from unittest import mock


class Bad:
    def __init__(self):
        self.me = self

class RaisingRepr(Bad):
    def __repr__(self):
        raise RuntimeError("no repr for you")

class NotStrRepr(Bad):
    def __repr__(self):
        return 42

class HugeRepr(Bad):
    def __repr__(self):
        return "x" * 10_000_000

class RaisingEq(Bad):
    def __eq__(self, other):
        raise RuntimeError("no eq")
    def __hash__(self):
        raise RuntimeError("no hash")

class LyingClass(Bad):
    @property
    def __class__(self):
        raise RuntimeError("lie")

class SideEffects(Bad):
    touched = []
    def __getattr__(self, name):
        SideEffects.touched.append(name)
        raise AttributeError(name)

class Slotted:
    __slots__ = ("peer",)

class WithMock:
    def __init__(self):
        self.m = mock.Mock()
        self.m.owner = self

class Dead:
    pass

class WithDeadProxy(Bad):
    def __init__(self):
        super().__init__()
        self.proxy = weakref.proxy(Dead())

def long_ring(n):
    first = node = Slotted()
    for _ in range(n - 1):
        nxt = Slotted()
        node.peer = nxt
        node = nxt
    node.peer = first

def huge_list_cycle():
    big = list(range(1_000_000))
    big.append(big)
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("lib.RaisingRepr()", "<RaisingRepr at 0x*> --.me--> <RaisingRepr at 0x*>"),
        ("lib.NotStrRepr()", "<NotStrRepr at 0x*> --.me--> <NotStrRepr at 0x*>"),
        ("lib.HugeRepr()", "xxxxxxxxxxxx*… --.me--> xxxxx*…"),
        ("lib.RaisingEq()", "RaisingEq --.me--> RaisingEq"),
        ("lib.LyingClass()", "LyingClass --.me--> LyingClass"),
        ("lib.SideEffects()", "SideEffects --.me--> SideEffects"),
        ("lib.WithMock()", "*WithMock --.m--> <Mock id=*> --.owner--> WithMock*"),
        ("lib.WithDeadProxy()", "WithDeadProxy --.me--> WithDeadProxy"),
        ("lib.long_ring(100_000)", "*Slotted --.peer--> Slotted*--…--> Slotted --.peer--> Slotted*"),
        ("lib.huge_list_cycle()", "list (len=1000001) --[[]1000000]--> list (len=1000001)"),
    ],
    ids=[
        "raising-repr",
        "non-str-repr",
        "huge-repr",
        "raising-eq-hash",
        "lying-class",
        "getattr-side-effects",
        "mock",
        "dead-weakproxy",
        "100k-ring",
        "1M-list",
    ],
)
def test_hostile_objects_in_a_cycle_get_a_clear_report(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], body: str, expected: str
) -> None:
    """The cycle is reported with safe labels; the run never shows an INTERNALERROR."""
    pytester.makepyfile(
        lib=HOSTILE, test_it=f"import lib\n\ndef test_it():\n    {body}\n\ndef test_after():\n    pass\n"
    )
    result = guarded()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([f"    {expected}"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_getattr_is_never_triggered_by_the_report(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A class whose __getattr__ records accesses sees none from the plugin."""
    pytester.makepyfile(
        lib=HOSTILE,
        test_it="""
import lib
import pytest

@pytest.mark.allow_cycles
def test_it():
    lib.SideEffects()

def test_check():
    assert lib.SideEffects.touched == []
""",
    )
    result = guarded()
    result.assert_outcomes(passed=2)


def test_a_raising_finaliser_is_reported_on_the_test_that_dropped_it(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """The window's collection runs the __del__ inside the test's teardown, so pytest attributes it there."""
    pytester.makepyfile(
        test_del="""
import pytest

class Finalised:
    def __init__(self):
        self.me = self
    def __del__(self):
        raise RuntimeError("finaliser failed")

@pytest.mark.allow_cycles(reason="on purpose")
def test_a_drops_it():
    Finalised()

def test_b_innocent():
    pass
"""
    )
    result = guarded("-W", "error::pytest.PytestUnraisableExceptionWarning")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_a_drops_it*"])
    result.stdout.no_fnmatch_line("*ERROR at *test_b_innocent*")
