"""Whose cycle is it, where a class's ``__module__`` or a namespace's ``__name__`` says something untrue (issue 14)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


# 1. Classes made by type() or types.new_class read __module__ from the Python
# frame that calls type.__new__: abc.ABCMeta.__new__ or types.new_class.
FACTORY_LIB = """
import abc
import types


class Base(abc.ABC):
    pass


def make():
    made = types.new_class("Made", (Base,))()
    made.me = made  # an instance cycle: the library's, whoever made its class
"""

FACTORY_TESTS = """
import abc
import types

import factorylib


class LocalABC(abc.ABC):
    pass


def test_type_of_an_abc_subclass():
    type("Subclass", (LocalABC,), {})


def test_new_class():
    types.new_class("SubclassTester", ())


def test_library_makes_an_instance_cycle():
    factorylib.make()
"""


def test_a_class_made_by_a_stdlib_factory_is_not_the_standard_library_s(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """abc.Subclass and types.SubclassTester are the test's; an instance cycle of abc.Made fails, named by its base."""
    pytester.makepyfile(factorylib=FACTORY_LIB, test_factory=FACTORY_TESTS)
    result = guarded("-v")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_library_makes_an_instance_cycle*", "    Made --*--> Made"])
    result.stdout.fnmatch_lines(["*test-local cycles*", "*class abc.Subclass*"])
    result.stdout.fnmatch_lines(["*class types.SubclassTester*"])
    result.stdout.no_fnmatch_line("*standard-library cycles*")
    # The library's allow entry covers it: the class is named by its base (its own __module__ says "abc").
    allowed = guarded("-o", "gc_guard_allow=factorylib")
    allowed.assert_outcomes(passed=3)


MAKER_LIB = """
import abc


class Base(abc.ABC):
    pass


def make_with_a_method():
    def method(self):
        return Made

    Made = type("Made", (Base,), {"method": method})  # Made <-> method: dropped on return
"""

MAKER_TESTS = """
import factorylib
import makerlib


def test_library_makes_an_instance_cycle():
    factorylib.make()


def test_library_makes_a_class_with_a_method():
    makerlib.make_with_a_method()
"""


def test_the_origin_of_a_class_a_stdlib_factory_made_names_no_factory_module(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Its __module__ is abc's: the label names the module of code in its cycle, or says a class factory made it."""
    pytester.makepyfile(factorylib=FACTORY_LIB, makerlib=MAKER_LIB, test_factory=MAKER_TESTS)
    result = guarded("-v")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_library_makes_an_instance_cycle*",
            "    Made --*--> Made",
            "    made by a class factory (abc); who called it, the garbage does not tell",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*test-local cycles*",
            "*function make_with_a_method.<locals>.method*",
            "*made by a class factory (abc), called from makerlib",
        ]
    )
    result.stdout.no_fnmatch_line("*made by abc*")
    result.stdout.no_fnmatch_line("*made by the test (abc)*")


# 2. A copy of a loaded module's globals (attrs' generated __init__ gets one) is no unloaded module.
COPYING_LIB = """
import sys


def make():
    globs = dict(sys.modules[__name__].__dict__)
    exec("def f():\\n    return f\\n", globs)  # f <-> globs: the library's cycle
"""

COPYING_TESTS = """
import copylib


def test_library_execs_in_a_copy_of_its_globals():
    copylib.make()
"""


def test_a_copy_of_a_module_s_globals_is_not_an_unloaded_module(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(copylib=COPYING_LIB, test_copying=COPYING_TESTS)
    result = guarded("-v")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*function f (<string>:1) --.__globals__--> dict*"])
    result.stdout.no_fnmatch_line("*unloaded by the test*")


# 3. A package re-imported by the test: the fresh import drops classes a class
# decorator replaced (attrs' slots=True), which its module no longer holds.
REPLACING = """
def slotted(cls):
    # Like attrs' slots=True: a new class replaces the one the class statement made.
    namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    return type(cls)(cls.__name__, cls.__bases__, namespace)
"""

CORE = """
from pkgre._util import slotted


@slotted
class EntryQueue:
    def run(self):
        return Clock()


class Clock:
    pass
"""

TOP = """
from pkgre import _core
from pkgre._core import EntryQueue
"""

REIMPORTING = """
import sys


def test_reimport():
    for name in [n for n in sys.modules if n == "pkgre" or n.startswith("pkgre.")]:
        del sys.modules[name]
    import pkgre  # noqa: F401
"""


def test_classes_a_re_import_replaces_are_not_failures(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Neither the old modules' classes nor the classes the fresh import replaced fail the test."""
    pytester.mkpydir("pkgre")
    pytester.path.joinpath("pkgre", "__init__.py").write_text(TOP)
    pytester.path.joinpath("pkgre", "_util.py").write_text(REPLACING)
    pytester.path.joinpath("pkgre", "_core.py").write_text(CORE)
    pytester.makepyfile(conftest="import pkgre", test_reimport=REIMPORTING)
    result = guarded("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*unloaded by the test*", "*class pkgre._core.EntryQueue*"])
