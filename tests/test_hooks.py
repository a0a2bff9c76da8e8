"""The extension hooks (pytest_gcguard/hookspecs.py), each implemented in an inner conftest.py."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.inner import NODE_LIB


LIB = (
    NODE_LIB
    + """
class Quiet:
    '''Objects the conftest's ignore hook drops.'''

    def __init__(self):
        self.me = self


REGISTRY = []
"""
)

TESTS = """
import lib


def test_node_ring():
    lib.ring()


def test_quiet_cycle_and_what_it_holds():
    q = lib.Quiet()
    q.payload = [lib.Node("held")]


def test_quiet_and_node_rings():
    lib.Quiet()
    lib.ring()


def test_leaks_quiet():
    lib.REGISTRY.append(lib.Quiet())


def test_leaks_node():
    lib.REGISTRY.append(lib.Node("kept"))
"""


def test_ignore_hook_drops_cycles_and_leaks_of_ignored_objects(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(lib=LIB, test_hooks=TESTS)
    pytester.makeconftest(
        """
        import lib

        def pytest_gcguard_ignore(obj, item):
            assert item is None or item.nodeid.startswith("test_hooks.py::")
            if type(obj) is lib.Quiet:
                return True
        """
    )
    result = guarded("-rA")
    result.assert_outcomes(passed=5, errors=3)
    out = result.stdout.str()
    # The Quiet cycles are dropped, with the Node their payload list held;
    # the Node ring of the same test is still reported, and so is the Node leak.
    for nodeid in ("test_quiet_cycle_and_what_it_holds", "test_leaks_quiet"):
        assert f"PASSED test_hooks.py::{nodeid}" in out
    for nodeid in ("test_node_ring", "test_quiet_and_node_rings", "test_leaks_node"):
        assert f"ERROR test_hooks.py::{nodeid}" in out
    assert "Quiet" not in out
    assert "Node('held')" not in out


def test_a_raising_ignore_hook_ignores_nothing(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(lib=LIB, test_hooks=TESTS)
    pytester.makeconftest(
        """
        def pytest_gcguard_ignore(obj, item):
            raise RuntimeError("broken hook")
        """
    )
    result = guarded("-rA")
    result.assert_outcomes(passed=5, errors=5)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_label_hook_gives_custom_labels(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> None:
    pytester.makepyfile(
        lib=NODE_LIB,
        test_label="""
        import lib

        def test_ring():
            lib.ring()
        """,
    )
    pytester.makeconftest(
        """
        import lib

        def pytest_gcguard_label(obj):
            if type(obj) is lib.Node:
                return "<node " + obj.name + ">"
            if isinstance(obj, list):
                raise RuntimeError("a raising label hook falls back to gc-guard's label")
        """
    )
    result = guarded()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*<node a> --.other--> <node b> --.other--> <node a>*"])


def test_report_hook_receives_each_judged_tests_findings(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(lib=LIB, test_hooks=TESTS)
    pytester.makeconftest(
        """
        import json

        def pytest_gcguard_report(item, report, findings):
            with open("seen.jsonl", "a") as out:
                row = {
                    "nodeid": item.nodeid,
                    "failed": report.failed,
                    "cycles": [(c["status"], c["path"][0]["label"]) for c in findings["cycles"]],
                    "leaks": [(l["status"], l["type"]) for l in findings["leaks"]],
                }
                out.write(json.dumps(row) + "\\n")
        """
    )
    result = guarded("--gc-guard-mode=warn", "-W", "ignore::pytest_gcguard.GcGuardWarning")
    result.assert_outcomes(passed=5)
    rows = {row["nodeid"]: row for row in map(json.loads, (pytester.path / "seen.jsonl").read_text().splitlines())}
    assert set(rows) == {
        f"test_hooks.py::{name}"
        for name in (
            "test_node_ring",
            "test_quiet_cycle_and_what_it_holds",
            "test_quiet_and_node_rings",
            "test_leaks_quiet",
            "test_leaks_node",
        )
    }
    assert rows["test_hooks.py::test_node_ring"]["cycles"] == [["warned", "Node('a')"]]
    assert rows["test_hooks.py::test_leaks_node"]["leaks"] == [["warned", "lib.Node"]]
    assert not any(row["failed"] for row in rows.values())


def test_a_raising_report_hook_is_a_warning_not_a_crash(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(lib=NODE_LIB, test_one="import lib\n\ndef test_ring():\n    lib.ring()\n")
    pytester.makeconftest("def pytest_gcguard_report(item, report, findings):\n    raise ValueError('hook bug')\n")
    result = guarded("--gc-guard-mode=warn")
    result.assert_outcomes(passed=1, warnings=2)
    result.stdout.fnmatch_lines(["*pytest_gcguard_report hook raised ValueError: hook bug*"])
    assert "INTERNALERROR" not in result.stdout.str()


@pytest.mark.parametrize("raised", ["SystemExit(3)", "KeyboardInterrupt"])
def test_hooks_raising_system_exit_or_keyboard_interrupt_never_end_the_session(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], raised: str
) -> None:
    """A hook is code gc-guard calls on the user's behalf: whatever it raises, the run goes on.

    The label hook falls back to gc-guard's labels, the ignore hook ignores
    nothing, the report hook's error is a warning; no test changes its outcome.
    """
    pytester.makepyfile(lib=LIB, test_hooks=TESTS)
    pytester.makeconftest(
        f"""
        def pytest_gcguard_label(obj):
            raise {raised}

        def pytest_gcguard_ignore(obj, item):
            raise {raised}

        def pytest_gcguard_report(item, report, findings):
            raise {raised}
        """
    )
    result = guarded("-rA")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=5, errors=5)
    result.stdout.fnmatch_lines(
        [
            "*Node('a') --.other--> Node('b') --.other--> Node('a')*",
            f"*pytest_gcguard_report hook raised {raised.partition('(')[0]}*",
        ]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
