"""A leak is growth of live objects: growth that survives a collection of the whole heap.

Objects that became garbage because the test replaced them (a registry slot,
``sys.last_traceback``) stay frozen garbage between runs and must not count.
"""

from __future__ import annotations

import pytest


REPLACED_SLOTS = """
import sys

class Opts:
    pass

class Payload:
    pass

REGISTRY = {}

def register(cls):
    REGISTRY[cls.__name__] = cls  # the newest replaces the older one
    return cls

def test_defines_a_registered_class():
    @register
    class MySchema:
        opts = Opts()

FIRST = {}
LATEST = {}

class Field:
    pass

def register_twice(cls):
    FIRST.setdefault(cls.__name__, cls)  # the first class of a name, for good
    LATEST[cls.__name__] = cls  # and the newest (marshmallow's class_registry)
    return cls

def test_keeps_the_first_and_the_latest():
    @register_twice
    class Form:
        a, b, c = Field(), Field(), Field()

def test_stores_a_cyclic_traceback():
    payload = Payload()
    try:
        raise ValueError("boom")
    except ValueError as exc:
        kept = exc  # the frame holds its own exception: frame -> exc -> traceback -> frame
        sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, exc.__traceback__
"""

GROWING = """
class Entry:
    pass

GROWING = []

def test_appends_to_a_registry():
    GROWING.append(Entry())
"""


def test_replaced_slots_are_not_leaks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_slots=REPLACED_SLOTS)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*test leaks*")


def test_a_registry_that_only_grows_still_leaks_with_its_chain(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_growing=GROWING)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test leaks 1 Entry object per run (live count +1, +1, +1 over 3 re-runs)*",
            "*module test_growing, global GROWING*",
        ]
    )


# The first test grows the frozen heap past audits.AUDIT_MIN_GROWTH: an audit falls
# due when the second one, which leaks, ends.
SLOW_LEAK = """
class Entry:
    pass

KEPT = []
GROWING = []

def test_grows_the_heap():
    KEPT.extend([] for _ in range(300_000))

def test_growing():
    GROWING.append(Entry())
"""


def test_a_heap_audit_that_falls_due_does_not_hide_a_leak(pytester: pytest.Pytester) -> None:
    """The audit waits until the test is judged: it freezes the heap again, and what the test left alive with it."""
    pytester.makepyfile(test_slow=SLOW_LEAK)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test leaks 1 Entry object per run*"])


# Registries only C code refers to: the codec search path, the audit hooks.
C_REGISTRIES = """
import codecs
import sys

class Finder:
    def __call__(self, name):
        return None

class Hook:
    def __call__(self, event, args):
        pass

def test_registers_a_codec_search_function():
    codecs.register(Finder())

def test_adds_an_audit_hook():
    sys.addaudithook(Hook())
"""


def test_a_leak_only_c_code_holds_fails_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_registries=C_REGISTRIES)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*test leaks 1 Finder object per run*",
            "  kept alive by: C code (no Python referrer): the codec search path (codecs.register)",
            "*test leaks 1 Hook object per run*",
            "  kept alive by: C code (no Python referrer)",
        ]
    )
