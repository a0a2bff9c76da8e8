"""Whose cycle is it: a library that ships a pytest plugin is not test harness as a whole (issue 14)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import pytest

from pytest_gcguard.engine.ownership import directories_of_tests
from tests.inner import summary_of


# A library installed with a pytest11 entry point to a plugin module of its own
# (as anyio, faker and typeguard ship one): the dist-info sits on the inner
# session's sys.path (pytester puts its directory on PYTHONPATH).
LIBRARY = """
class Node:
    pass


def ring():
    node = Node()
    node.me = node
"""

PLUGIN = """
import pytest


class PluginNode:
    pass


@pytest.fixture
def plugin_ring():
    node = PluginNode()
    node.me = node
    del node
    yield
"""

TESTS = """
import mylib


def test_library_code_makes_a_cycle():
    mylib.ring()


def test_plugin_fixture_makes_a_cycle(plugin_ring):
    pass
"""


def test_a_library_shipping_a_plugin_owns_its_library_code(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Its library code's cycle fails as the code under test's; its plugin module's is the harness's."""
    pytester.mkpydir("mylib")
    pytester.path.joinpath("mylib", "__init__.py").write_text(LIBRARY)
    pytester.path.joinpath("mylib", "pytest_plugin.py").write_text(PLUGIN)
    info = pytester.mkdir("mylib-1.0.dist-info")
    info.joinpath("METADATA").write_text("Metadata-Version: 2.1\nName: mylib\nVersion: 1.0\n")
    info.joinpath("entry_points.txt").write_text("[pytest11]\nmylib = mylib.pytest_plugin\n")
    pytester.makepyfile(test_lib=TESTS)
    result = guarded("-rA")
    result.stdout.fnmatch_lines(["*plugins:*mylib-1.0*"])  # loaded through its entry point
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["    Node --.me--> Node", "ERROR test_lib.py::test_library_code_makes_a_cycle*"])
    result.stdout.no_fnmatch_line("*PluginNode --.me-->*")


# The attrs pattern: a helper class per decorated class and an exec-generated
# __init__; and a library object the decorator drops (not handed back).
DECORATORS = """
class Builder:
    def __init__(self):
        self.step = self.run  # a bound method on its own instance

    def run(self):
        pass


def define(cls):
    helper = type(cls.__name__ + "Attributes", (tuple,), {})
    cls.__attrs_attrs__ = helper((1, 2))
    namespace = {}
    exec("def __init__(self, x=0):\\n    self.x = x\\n", namespace)
    cls.__init__ = namespace["__init__"]
    return cls


def define_with_a_builder(cls):
    Builder()  # dropped here: the library's own cycle
    return cls


def transform(cls):
    # The builder step a test may call directly: the helper made for cls, handed back, never attached.
    return type(cls.__name__ + "Attributes", (tuple,), {})((1,))


def per_call():
    class Scratch:  # a class per call: the library's own
        pass

    return 1


def unnamed(cls):
    return type("Helper", (tuple,), {})((1,))
"""

DECORATED = """
import declib


def test_defines_a_decorated_class():
    @declib.define
    class Point:
        pass

    Point(1)


def test_the_decorator_drops_a_builder():
    @declib.define_with_a_builder
    class Other:
        pass


def test_calls_the_builder_directly():
    class C:
        pass

    declib.transform(C)


def test_a_class_per_call():
    class C:
        pass

    declib.per_call()


def test_a_helper_not_named_for_the_class():
    class C:
        pass

    declib.unnamed(C)
"""


def test_what_a_decorator_builds_for_a_test_s_class_is_test_local(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """The helper class and the generated __init__ go with the test's class; the library's builder cycle fails.

    So does a helper class a builder the test calls directly made for the
    test's class, named after it; a class the library makes per call, or a
    helper named for nothing of the test's, keeps failing.
    """
    pytester.makepyfile(declib=DECORATORS, test_decorated=DECORATED)
    result = guarded("-v", "-rA", "-p", "no:randomly")
    result.assert_outcomes(passed=5, errors=3)
    errors = sorted(line.split()[1] for line in result.stdout.lines if line.startswith("ERROR test_decorated.py::"))
    assert errors == [
        "test_decorated.py::test_a_class_per_call",
        "test_decorated.py::test_a_helper_not_named_for_the_class",
        "test_decorated.py::test_the_decorator_drops_a_builder",
    ]
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_the_decorator_drops_a_builder*",
            "    Builder --.step--> bound method Builder.run --.__self__--> Builder",
        ]
    )
    # (PointAttributes and CAttributes are one shape: classes of one library.)
    result.stdout.fnmatch_lines(["*test-local cycles*", "*class declib.PointAttributes*"])
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_defines_a_decorated_class*")


# A package the tests re-import: a fixture drops its modules from sys.modules first.
RELOADED = """
class Widget:
    def render(self):
        return "w"


def helper():
    return Widget()
"""

RELOADING = """
import importlib
import sys

import pytest


def unload():
    for name in [n for n in sys.modules if n == "relib" or n.startswith("relib.")]:
        del sys.modules[name]


@pytest.fixture
def fresh_package():
    unload()
    yield importlib.import_module("relib")
    unload()  # the next test imports it afresh


def test_lazy_import(fresh_package):
    assert fresh_package.helper().render() == "w"


def test_again(fresh_package):
    assert fresh_package.helper().render() == "w"
"""


def test_a_module_the_test_unloads_is_not_a_failure(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Its classes and functions, dropped with its namespace, are shown as unloaded by the test."""
    pytester.mkpydir("relib")
    pytester.path.joinpath("relib", "__init__.py").write_text(RELOADED)
    pytester.makepyfile(test_reload=RELOADING)
    result = guarded("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*cycles of modules unloaded by the test (removed from sys.modules; not failing)*"])


GENERATING = """
def generate(i):
    cls = type(f"Generated{i}", (), {})  # a class per call, dropped: class <-> __mro__
    return cls.__name__
"""

GENERATED = """
import pytest
import genlib


@pytest.mark.parametrize("i", range(300))
def test_generates(i):
    genlib.generate(i)
"""


def test_generated_classes_of_one_library_are_one_shape(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """300 classes of different names, one per test, make one shape in the summary (the report keeps each)."""
    pytester.makepyfile(genlib=GENERATING, test_generated=GENERATED)
    result = guarded("--gc-guard-report=report.json")
    result.assert_outcomes(passed=300, errors=300)
    result.stdout.fnmatch_lines(["300 tests created reference cycles: 1 shape, 300 findings (300 failed)"])
    report = json.loads((pytester.path / "report.json").read_text())
    assert len({f["shape"] for t in report["tests"] for f in t["findings"]}) == 300


# The test's own classes (inline, at module level, a dataclass, a conftest's)
# in cycles the test makes; and two a library closes (issue 14, real suites:
# attrs' `cycle.cycle = cycle`, jinja2's `memcached.get = memcached.get_side_effect`).
CALLBACKS = """
class Emitter:
    def __init__(self, callback):
        self.callback = callback


class Base:
    def __init__(self):
        self.hook = self.run  # the library's method, bound to the instance it is on

    def run(self):
        pass
"""

OWN_CLASSES_CONFTEST = """
import pytest


class Fake:
    pass


@pytest.fixture
def fake():
    node = Fake()
    node.me = node
    del node
"""

OWN_CLASSES = """
from dataclasses import dataclass

import cblib


class Top:
    pass


@dataclass
class Point:
    x: object = None


def test_inline():
    class Node:
        pass

    node = Node()
    node.me = node


def test_module_level_and_dataclass():
    top = Top()
    top.points = [Point(top)]


def test_bound_method_of_itself():
    class Memcached:
        def get_side_effect(self):
            pass

    memcached = Memcached()
    memcached.get = memcached.get_side_effect


def test_conftest_class(fake):
    pass


def test_library_object_holds_the_tests_callback():
    class Handler:
        def on(self):
            pass

    handler = Handler()
    handler.emitter = cblib.Emitter(handler.on)


def test_library_method_on_the_tests_subclass():
    class Sub(cblib.Base):
        pass

    Sub()
"""


def test_cycles_among_the_test_s_own_instances_are_test_local(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """Instances of test-defined classes in a cycle of their own pass; a library object or method in it fails."""
    pytester.makepyfile(cblib=CALLBACKS, conftest=OWN_CLASSES_CONFTEST, test_own=OWN_CLASSES)
    result = guarded("-v", "-rA")
    result.assert_outcomes(passed=6, errors=2)
    errors = [line for line in result.stdout.lines if line.startswith("ERROR test_own.py::")]
    assert sorted(line.split()[1] for line in errors) == [
        "test_own.py::test_library_method_on_the_tests_subclass",
        "test_own.py::test_library_object_holds_the_tests_callback",
    ]
    summary = summary_of(result)
    assert "test-local cycles" in summary
    for name in (
        "test_inline",
        "test_module_level_and_dataclass",
        "test_bound_method_of_itself",
        "test_conftest_class",
    ):
        assert f"test_own.py::{name}" in summary


# A package installed on sys.path whose tests live in it (trio._tests), run
# from its source tree with --import-mode=importlib: once the installed
# package is imported, a test module's relative import of a sibling imports
# the *installed* copy, and pytest then collects that copy (sys.modules has
# its name) for the source file: the class's module file is not the path
# pytest collected.
INSTALLED_TEST_A = """
from .test_b import helper


def test_a():
    assert helper() == 1
"""

INSTALLED_TEST_B = """
def helper():
    return 1


def test_local_class():
    class MySocket:
        pass

    assert MySocket
"""


def test_test_modules_inside_an_installed_package_are_test_code(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """The collected module's own file counts as a test file, not only the path pytest collected it from."""
    for root in ("src", "site"):
        tests = pytester.mkdir(root).joinpath("instpkg", "tests")
        tests.mkdir(parents=True)
        tests.parent.joinpath("__init__.py").write_text("")
        tests.joinpath("__init__.py").write_text("")
        tests.joinpath("test_a.py").write_text(INSTALLED_TEST_A)
        tests.joinpath("test_b.py").write_text(INSTALLED_TEST_B)
    # The installed copy, imported first (trio's suite loads `-p trio._tests.pytest_plugin`).
    pytester.makeconftest("import sys\n\nsys.path.insert(0, 'site')\nimport instpkg.tests  # noqa\n")
    result = guarded("-v", "--import-mode=importlib", "src/instpkg/tests")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        # (pytest 8.0's importlib mode names the module src.instpkg.tests.test_b.)
        ["*test-local cycles*", "*class *instpkg.tests.test_b.test_local_class.<locals>.MySocket*"]
    )


# Modules a suite keeps beside its tests (attrs' tests/utils.py and
# tests/strategies.py make classes with make_class for the tests): test code.
MAKE_CLASS = """
def make_class(name):
    return type(name, (), {})
"""

SUPPORTED_TESTS = """
import maker
import support


def test_class_from_the_test_directory():
    support.make_class("C")


def test_class_from_the_project():
    maker.make_class("C")
"""

BESIDE_THE_CODE = """
import helper


def test_class_from_a_module_beside_it():
    helper.make_class("C")
"""


def test_modules_in_the_test_directory_are_test_code(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A class a support module in ``tests/`` makes is the test's; one made beside test modules in ``pkg/`` is not."""
    tests = pytester.mkdir("tests")
    tests.joinpath("support.py").write_text(MAKE_CLASS)
    tests.joinpath("test_supported.py").write_text(SUPPORTED_TESTS)
    project = pytester.mkdir("project")
    project.joinpath("maker.py").write_text(MAKE_CLASS)
    pytester.makeconftest("import sys\n\nsys.path.insert(0, 'project')\n")
    # Tests kept beside the code: nothing makes pkg/ test code.
    pkg = pytester.mkdir("pkg")
    pkg.joinpath("helper.py").write_text(MAKE_CLASS)
    pkg.joinpath("test_beside.py").write_text(BESIDE_THE_CODE)
    result = guarded("-v", "-rA", "-p", "no:randomly", "tests", "pkg")
    errors = sorted(line.split()[1] for line in result.stdout.lines if line.startswith("ERROR "))
    assert errors == [
        "pkg/test_beside.py::test_class_from_a_module_beside_it",
        "tests/test_supported.py::test_class_from_the_project",
    ]
    result.stdout.fnmatch_lines(["*test-local cycles*", "*class support.C*"])


@pytest.mark.parametrize(
    ("test_file", "expected"),
    [
        ("/r/tests/test_x.py", ["/r/tests/"]),
        ("/r/tests/unit/deep/test_x.py", ["/r/tests/"]),
        ("/r/pkg/testing/tests/test_x.py", ["/r/pkg/testing/tests/"]),  # the nearest: pkg/testing is code
        ("/r/pkg/test_x.py", []),  # beside the code
        ("/home/tests/r/test_x.py", []),  # not above the rootdir
        ("/v/site-packages/test_x.py", []),  # nor above site-packages
        ("/v/site-packages/trio/_tests/test_x.py", ["/v/site-packages/trio/_tests/"]),
        ("/r/a/b/c/tests/d/e/f/test_x.py", []),  # at most three levels up
    ],
)
def test_which_directories_are_test_directories(test_file: str, expected: list[str]) -> None:
    root = "/home/tests/r/" if test_file.startswith("/home/") else "/r/"
    assert list(directories_of_tests([test_file], root)) == expected


DROPS_MODULES = """
import sys


def test_a_drops_the_package_s_modules():
    for name in [n for n in sys.modules if n == "droppkg" or n.startswith("droppkg.")]:
        del sys.modules[name]
"""

DEFINES_A_CLASS = """
def test_b_local_class():
    class Local:
        pass

    assert Local
"""


def _package_whose_first_test_drops_it(pytester: pytest.Pytester, second: str) -> None:
    """droppkg/tests: test_a drops every droppkg module from sys.modules, test_b is ``second``."""
    tests = pytester.mkdir("droppkg").joinpath("tests")
    tests.mkdir()
    tests.parent.joinpath("__init__.py").write_text("")
    tests.joinpath("__init__.py").write_text("")
    tests.joinpath("test_a.py").write_text(DROPS_MODULES)
    tests.joinpath("test_b.py").write_text(second)


def test_a_test_module_dropped_from_sys_modules_stays_test_code(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """trio's test_trio_import drops every trio* module, its tests' too: a later test's class stays test-local."""
    _package_whose_first_test_drops_it(pytester, DEFINES_A_CLASS)
    result = guarded("-v", "-p", "no:randomly", "droppkg/tests/test_a.py", "droppkg/tests/test_b.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*test-local cycles*", "*class droppkg.tests.test_b.test_b_local_class.<locals>.Local*"]
    )


NAMES_AN_EDGE = """
def test_b_group():
    try:
        raise ExceptionGroup("group", [ValueError("member")])
    except ExceptionGroup as group:
        caught = group
    caught.exceptions[0].__context__ = caught  # only this module's code names .exceptions
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is 3.11+")
def test_a_test_module_dropped_from_sys_modules_still_names_edges(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """The test module's code names an edge (``.exceptions``) also after a test dropped it from sys.modules."""
    _package_whose_first_test_drops_it(pytester, NAMES_AN_EDGE)
    result = guarded("-p", "no:randomly", "droppkg/tests/test_a.py", "droppkg/tests/test_b.py")
    result.stdout.fnmatch_lines(["*ExceptionGroup*--.exceptions--> tuple*"])


STDLIB_CLASS_MAKERS = """
import dataclasses
import enum
import typing


def test_defines_an_enum():
    class Color(enum.Enum):
        RED = 1
        GREEN = 2

    assert Color.RED.value == 1


def test_defines_a_dataclass():
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int = 0
        y: int = 0

    assert Point(1, 2).x == 1


def test_defines_a_named_tuple():
    class Pair(typing.NamedTuple):
        a: int
        b: int

    assert Pair(1, 2).b == 2
"""


def test_classes_the_standard_library_builds_for_a_test_s_class_are_test_local(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """An Enum, a dataclass and a NamedTuple a test defines and drops: passing, listed as test-local with -v."""
    pytester.makepyfile(test_makers=STDLIB_CLASS_MAKERS)
    result = guarded("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    summary = summary_of(result)
    assert "3 tests with test-local cycles" in summary
    for name in ("test_defines_an_enum", "test_defines_a_dataclass", "test_defines_a_named_tuple"):
        assert f"test_makers.py::{name}" in summary
