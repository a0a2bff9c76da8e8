"""Whose cycle is it: a library that ships a pytest plugin is not test harness as a whole (issue 14)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


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
