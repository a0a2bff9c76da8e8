"""Every cycle finding names its origin, and --gc-guard-fail-on chooses the origins that fail (issue 14).

Origins: the project (code under the rootdir), a dependency (an installed
distribution, named with its version), the standard library (its module),
the test and the harness (pytest, and the standard library's test
infrastructure: unittest, doctest, pdb).  Standard-library cycles fail by
default; a cycle inside the standard library's C implementation (sqlite3's
statement cache, made on 3.11+ only) never fails, on any Python.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable

import pytest

from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.ownership import Origin


# asyncio keeps the task whose coroutine raised in a local of its runner's
# frame (Runner.run on 3.11+, run_until_complete on 3.9), which the
# exception's traceback reaches: an exception <-> traceback <-> frame cycle
# the standard library makes, on every supported version.
ASYNCIO_RAISES = """
import asyncio


def test_asyncio_run_raises():
    async def main():
        raise ValueError("boom")

    try:
        asyncio.run(main())
    except ValueError:
        pass
"""


def _report(pytester: pytest.Pytester) -> list[dict[str, object]]:
    data = json.loads((pytester.path / "report.json").read_text())
    return [finding for test in data["tests"] for finding in test["findings"] if finding["kind"] != "leak"]


def test_a_stdlib_cycle_fails_by_default_and_names_its_module(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(test_stdlib=ASYNCIO_RAISES)
    result = guarded("--gc-guard-report=report.json")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*ValueError('boom') --.__traceback__--> traceback*", "*made by the standard library (asyncio.*)"]
    )
    findings = _report(pytester)
    assert [(f["kind"], f["origin"], f["status"]) for f in findings] == [("stdlib", "stdlib", "failed")]
    assert str(findings[0]["origin_name"]).startswith("asyncio.")


@pytest.mark.parametrize("where", ["option", "ini"])
def test_fail_on_without_stdlib_reports_the_stdlib_cycle_without_failing(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], where: str
) -> None:
    pytester.makepyfile(test_stdlib=ASYNCIO_RAISES)
    if where == "ini":
        pytester.makeini("[pytest]\ngc_guard_fail_on = project, dependency\n")
        result = guarded("-v", "--gc-guard-report=report.json")
    else:
        result = guarded("-v", "--gc-guard-report=report.json", "--gc-guard-fail-on=project,dependency")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "1 test with cycles of origins --gc-guard-fail-on leaves out (not failing): 1 shape",
            "*ValueError('boom')*",
            "*made by the standard library (asyncio.*)",
        ]
    )
    findings = _report(pytester)
    assert [(f["kind"], f["origin"], f["status"]) for f in findings] == [("stdlib", "stdlib", "info")]


def test_a_mock_parent_child_cycle_is_harness_and_never_fails(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(
        test_mock="""
        from unittest import mock


        def test_mock():
            m = mock.Mock()
            m.child.grandchild()
            mock.MagicMock().attribute.method.return_value = 3
        """
    )
    result = guarded("-v", "--gc-guard-report=report.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*<Mock id=*._mock_children-->*", "*made by the test harness (unittest.mock)"])
    assert {(f["kind"], f["origin"]) for f in _report(pytester)} == {("test-local", "harness")}


def _dependency(pytester: pytest.Pytester) -> None:
    """A distribution 'ringlib 1.2.3' in a site-packages directory of the test's, and a project module."""
    site = pytester.mkdir("site-packages")
    (site / "ringlib").mkdir()
    (site / "ringlib" / "__init__.py").write_text(
        "class Node:\n    def __init__(self):\n        self.me = self\n\n\ndef make():\n    Node()\n"
    )
    info = site / "ringlib-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ringlib\nVersion: 1.2.3\n")
    # No top_level.txt: the import name comes from RECORD's files, as for most wheels.
    (info / "RECORD").write_text("ringlib/__init__.py,,\nringlib-1.2.3.dist-info/METADATA,,\n")
    pytester.makeconftest(
        "import pathlib, sys\n\nsys.path.insert(0, str(pathlib.Path(__file__).parent / 'site-packages'))\n"
    )
    pytester.mkpydir("mypkg")
    (pytester.path / "mypkg" / "mod.py").write_text(
        "class Pair:\n    def __init__(self):\n        self.other = Pair.__new__(Pair)\n"
        "        self.other.other = self\n"
    )
    pytester.makepyfile(
        test_origins="""
        import ringlib
        from mypkg import mod


        def test_dependency():
            ringlib.make()


        def test_project():
            mod.Pair()
        """
    )


def test_a_dependency_cycle_names_its_distribution_and_version(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    _dependency(pytester)
    result = guarded("--gc-guard-report=report.json")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(["    Node --.me--> Node", "    made by ringlib 1.2.3 (dependency)"], consecutive=True)
    result.stdout.fnmatch_lines(["*Pair*--.other-->*", "    made by the project (mypkg.mod)"], consecutive=True)
    origins = {(f["origin"], f["origin_name"], f["status"]) for f in _report(pytester)}
    assert origins == {("dependency", "ringlib 1.2.3", "failed"), ("project", "mypkg.mod", "failed")}


def test_fail_on_chooses_dependency_over_project(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    _dependency(pytester)
    result = guarded("--gc-guard-report=report.json", "--gc-guard-fail-on=dependency,stdlib")
    result.assert_outcomes(passed=2, errors=1)
    statuses = {str(f["origin"]): f["status"] for f in _report(pytester)}
    assert statuses == {"dependency": "failed", "project": "info"}


def test_the_test_s_data_linked_by_a_dependency_is_the_dependency_s_cycle(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A library's back-link to an instance of the test's class (marshmallow's field.parent): the library's origin."""
    _dependency(pytester)
    (pytester.path / "site-packages" / "ringlib" / "__init__.py").write_text(
        "class Field:\n    def bind(self, parent):\n        self.parent = parent\n        parent.fields = [self]\n"
    )
    pytester.makepyfile(
        test_origins="""
        import ringlib


        class Schema:
            pass


        def test_binds():
            ringlib.Field().bind(Schema())
        """
    )
    result = guarded("--gc-guard-report=report.json")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["    made by ringlib 1.2.3 (dependency)"])
    assert {(f["origin"], f["origin_name"]) for f in _report(pytester)} == {("dependency", "ringlib 1.2.3")}


SQLITE = """
import sqlite3


def test_unclosed_connection():
    connection = sqlite3.connect(":memory:")
    connection.execute("select 1").fetchall()


def test_self_referencing_list():
    items = []
    items.append(items)
"""


def test_an_unclosed_sqlite_connection_passes_on_every_python(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """3.11+ make a Connection <-> lru_cache cycle, 3.9 and 3.10 none: the same verdict on each (passes).

    A self-referencing list the test makes still fails: only C objects, but no extension type's.
    """
    pytester.makepyfile(test_sqlite=SQLITE)
    result = guarded("-v", "--gc-guard-report=report.json")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["ERROR *test_self_referencing_list*"])
    by_test: dict[str, list[tuple[str, str]]] = {}
    data = json.loads((pytester.path / "report.json").read_text())
    for test in data["tests"]:
        for finding in test["findings"]:
            by_test.setdefault(test["nodeid"].rsplit("::", 1)[-1], []).append((finding["kind"], finding["status"]))
    assert by_test["test_self_referencing_list"] == [("cycle", "failed")]
    if sys.version_info >= (3, 11):
        assert by_test["test_unclosed_connection"] == [("internal", "info")]
        result.stdout.fnmatch_lines(
            [
                "1 test with cycles of the standard library's own implementation (not failing on any Python): *",
                "*Connection --<reference>--> _lru_cache_wrapper --.__wrapped__--> Connection",
                "      made by the standard library (sqlite3): the connection's statement cache; close the connection",
            ]
        )
    else:
        assert "test_unclosed_connection" not in by_test


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            ["--gc-guard-fail-on=project,tests"],
            "",
            "ERROR: --gc-guard-fail-on: expected one or more of project, dependency, stdlib, comma-separated; "
            "got unknown origin 'tests'",
        ),
        (
            ["--gc-guard-fail-on="],
            "",
            "ERROR: --gc-guard-fail-on: expected one or more of project, dependency, stdlib, comma-separated; "
            "got no origin",
        ),
        (
            [],
            "gc_guard_fail_on = stdlib, harness",
            "ERROR: gc_guard_fail_on in the ini file: expected one or more of project, dependency, stdlib, "
            "comma-separated; got unknown origin 'harness'",
        ),
    ],
)
def test_a_bad_fail_on_value_is_a_usage_error(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult], args: list[str], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\ngc_guard = true\n{ini}\n")
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = inprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_the_origin_travels_with_the_finding_and_leaves_its_fingerprint_alone() -> None:
    path = (Hop("Node()", "lib.Node", ".me"),)
    plain = Cycle(kind="cycle", path=path, count=1, objects=1, kept_alive=0)
    named = Cycle(kind="cycle", path=path, count=1, objects=1, kept_alive=0, origin="dependency", origin_name="lib 1.0")
    assert named.shape_key == plain.shape_key
    again = Cycle.from_dict(json.loads(json.dumps(named.to_dict())))
    assert (again.origin, again.origin_name, again.origin_note) == ("dependency", "lib 1.0", "")
    assert again == named


@pytest.mark.parametrize(
    ("module", "origin"),
    [
        ("unittest.mock", Origin.HARNESS),
        ("unittest", Origin.HARNESS),
        ("doctest", Origin.HARNESS),
        ("pdb", Origin.HARNESS),
        ("bdb", Origin.HARNESS),
        ("traceback", Origin.HARNESS),  # pytest renders tracebacks with it (_pytest._code.code)
        ("asyncio.base_events", Origin.STDLIB),
        ("json.decoder", Origin.STDLIB),
        ("inspect", Origin.STDLIB),
    ],
)
def test_the_stdlib_test_infrastructure_is_harness_the_rest_code_under_test(module: str, origin: Origin) -> None:
    importlib.import_module(module)
    assert CodeOwners().module_origin(module) is origin


# Code exec'd in a namespace of its own (a template's compiled code) names no
# module: its "__name__" is the generator's choice, not a module of the project.
GENERATED_LIB = """
class Holder:
    pass


def make():
    namespace = {"__name__": "my_template"}
    exec(
        "def render():\\n"
        "    try:\\n"
        "        raise ValueError\\n"
        "    except ValueError as exc:\\n"
        "        error = exc\\n"
        "    holder.error = error\\n",
        namespace,
    )
    namespace["holder"] = Holder()
    namespace["render"]()
"""


def test_generated_code_names_no_module(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> None:
    pytester.makepyfile(genlib=GENERATED_LIB, test_gen="import genlib\n\ndef test_gen():\n    genlib.make()\n")
    result = guarded("--gc-guard-report=report.json")
    result.assert_outcomes(passed=1, errors=1)
    (test,) = json.loads((pytester.path / "report.json").read_text())["tests"]
    assert {(f["origin"], f["origin_name"]) for f in test["findings"]} == {("project", "genlib")}


def test_code_run_in_a_namespace_of_its_own_names_no_origin() -> None:
    """Its ``__name__`` (Jinja2: the template's name) is no module: before, it read as the project's module."""
    namespace: dict[str, object] = {"__name__": "my_template"}
    exec("def render():\n    return 1\n", namespace)
    assert CodeOwners().named_origin(namespace["render"]) is None
    assert CodeOwners().named_origin(test_code_run_in_a_namespace_of_its_own_names_no_origin) is not None


def test_a_class_a_test_made_under_a_module_nothing_loaded_is_the_test_s() -> None:
    """click 8.1.8's test_is_jupyter_kernel_output sets a local class's __module__ to "ipykernel.faked"."""

    class Fake:
        pass

    Fake.__module__ = "nowhere_loaded.faked"
    owners = CodeOwners(test_modules=[__name__])
    assert owners.type_origin(Fake) is Origin.TEST
    # Not made in a test module's function, or the module is loaded: the name is all there is to go by.
    assert CodeOwners().type_origin(Fake) is Origin.USER
    Elsewhere = type("Elsewhere", (), {"__module__": "nowhere_loaded.faked", "__qualname__": "make.<locals>.Elsewhere"})
    assert owners.type_origin(Elsewhere) is Origin.USER
