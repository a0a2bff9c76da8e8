"""CI gating: JSON report, JUnit properties, baseline, allow list, annotations, xdist (issue 5)."""

from __future__ import annotations

import json
import os
import stat
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.inner import teardown_sections


ROOT = Path(__file__).resolve().parent.parent

LIB = """
class Graph:
    def __init__(self, name):
        self.name = name
        self.next = None

    def __repr__(self):
        return f"Graph({self.name!r})"


class Entry:
    pass


REGISTRY = []


def ring(name):
    g = Graph(name)
    g.next = g


def pair(name):
    a, b = Graph(name + "a"), Graph(name + "b")
    a.next, b.next = b, a


def leak():
    REGISTRY.append(Entry())
"""

FOUR_KINDS = """
import pytest
import lib

def test_cycle():
    lib.ring("c")

def test_leak():
    lib.leak()

def test_local():
    with pytest.raises(ValueError) as excinfo:
        int("x")

def test_clean():
    pass
"""


@pytest.fixture
def run(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    pytester.makepyfile(lib=LIB)

    def go(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", *args)

    return go


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_the_json_report_validates_and_holds_the_labelled_paths(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult]
) -> None:
    """One cycle, one leak, one test-local cycle, one clean test: the documented schema holds."""
    jsonschema = pytest.importorskip("jsonschema")
    pytester.makepyfile(test_four=FOUR_KINDS)
    (pytester.path / "out").mkdir()
    result = run("-p", "no:xdist", "--gc-guard-report=out/report.json")
    result.assert_outcomes(passed=4, errors=2)
    report = _report(pytester.path / "out" / "report.json")
    schema = json.loads((ROOT / "docs" / "report-schema.json").read_text())
    jsonschema.validate(report, schema)
    assert report["python"]["gc_model"] == "generational"
    tests = {t["nodeid"]: t for t in report["tests"]}
    assert tests["test_four.py::test_clean"] == {
        "nodeid": "test_four.py::test_clean",
        "outcome": "passed",
        "reruns": 0,
        "findings": [],
    }
    (cycle,) = tests["test_four.py::test_cycle"]["findings"]
    assert cycle["kind"] == "cycle" and cycle["status"] == "failed"
    assert [(h["label"], h["edge"]) for h in cycle["path"]] == [("Graph('c')", ".next")]
    assert tests["test_four.py::test_cycle"]["outcome"] == "error"
    (leak,) = tests["test_four.py::test_leak"]["findings"]
    assert leak["kind"] == "leak" and leak["type"] == "lib.Entry" and leak["deltas"] == [1, 1, 1]
    assert leak["chain"]["root"] == "module lib, global REGISTRY"
    kinds = [f["kind"] for f in tests["test_four.py::test_local"]["findings"]]
    assert kinds == ["test-local"]
    assert not list((pytester.path / "out").glob(".report.json.*")), "no temporary file left behind"


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_junit_xml_carries_the_findings_as_properties(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult], family: str
) -> None:
    """<property> entries on the failing test case, for both JUnit families, with no warnings."""
    pytester.makepyfile(test_four=FOUR_KINDS)
    result = run("-p", "no:xdist", "--junitxml=junit.xml", "-o", f"junit_family={family}", "-W", "error")
    result.assert_outcomes(passed=4, errors=2)
    assert "warning" not in result.stdout.str().lower().split("short test summary")[0].split("gc-guard summary")[0]
    tree = ET.parse(pytester.path / "junit.xml")
    properties = {
        case.get("name"): [(p.get("name"), p.get("value")) for p in case.iter("property")]
        for case in tree.iter("testcase")
    }
    assert ("gc_guard.findings", "1") in properties["test_cycle"]
    assert ("gc_guard.cycle", "failed: 1 x 1 objects: Graph('c') --.next--> Graph('c')") in properties["test_cycle"]
    (leak,) = [v for n, v in properties["test_leak"] if n == "gc_guard.leak"]
    assert leak == "failed: lib.Entry (+1, +1, +1), kept alive by module lib, global REGISTRY"
    assert properties["test_clean"] == []


def test_the_baseline_lifecycle(pytester: pytest.Pytester, run: Callable[..., pytest.RunResult]) -> None:
    """Write with 2 offenders; they become known; a third fails alone; fixing one prunes it."""
    two = 'import lib\n\ndef test_a():\n    lib.ring("a")\n\ndef test_b():\n    lib.pair("b")\n'
    pytester.makepyfile(test_offenders=two)
    written = run("-p", "no:xdist", "--gc-guard-baseline=baseline.json", "--gc-guard-update-baseline")
    assert written.ret == pytest.ExitCode.OK
    written.stdout.fnmatch_lines(["baseline written to */baseline.json: 2 findings (2 new, 0 pruned)"])
    baseline = json.loads((pytester.path / "baseline.json").read_text())
    assert baseline["pytest-gcguard-baseline"] == 1
    assert [f["nodeid"] for f in baseline["findings"]] == ["test_offenders.py::test_a", "test_offenders.py::test_b"]

    known = run("-p", "no:xdist", "--gc-guard-baseline=baseline.json")
    assert known.ret == pytest.ExitCode.OK
    known.stdout.fnmatch_lines(["*2 tests created reference cycles: 2 shapes, 2 findings (2 known)*"])

    pytester.makepyfile(test_offenders=two + '\ndef test_c():\n    lib.ring("c")\n')
    third = run("-p", "no:xdist", "--gc-guard-baseline=baseline.json")
    assert third.ret == pytest.ExitCode.TESTS_FAILED
    third.assert_outcomes(passed=3, errors=1)
    third.stdout.fnmatch_lines(["ERROR test_offenders.py::test_c*"])  # pytest 8 prints no message here
    third.stdout.no_fnmatch_line("ERROR test_offenders.py::test_[ab]*")

    pytester.makepyfile(test_offenders='import lib\n\ndef test_a():\n    lib.ring("a")\n\ndef test_b():\n    pass\n')
    pruned = run("-p", "no:xdist", "--gc-guard-baseline=baseline.json", "--gc-guard-update-baseline")
    pruned.stdout.fnmatch_lines(["baseline written to */baseline.json: 1 finding (0 new, 1 pruned)"])


def test_an_update_from_a_partial_run_keeps_the_entries_of_tests_that_did_not_run(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult]
) -> None:
    two = 'import lib\n\ndef test_a():\n    lib.ring("a")\n\ndef test_b():\n    lib.pair("b")\n'
    pytester.makepyfile(test_offenders=two)
    run("-p", "no:xdist", "--gc-guard-baseline=baseline.json", "--gc-guard-update-baseline")
    full = json.loads((pytester.path / "baseline.json").read_text())
    # Only test_b runs, and it is fixed: its entry goes, test_a's stays.
    pytester.makepyfile(test_offenders='import lib\n\ndef test_a():\n    lib.ring("a")\n\ndef test_b():\n    pass\n')
    partial = run("-p", "no:xdist", "--gc-guard-baseline=baseline.json", "--gc-guard-update-baseline", "-k", "test_b")
    partial.stdout.fnmatch_lines(
        [
            "baseline written to */baseline.json: 1 finding "
            "(0 new, 1 pruned, 1 kept of tests that did not run or were not judged)"
        ]
    )
    kept = json.loads((pytester.path / "baseline.json").read_text())
    assert kept["findings"] == [f for f in full["findings"] if f["nodeid"] == "test_offenders.py::test_a"]
    run("-p", "no:xdist", "--gc-guard-baseline=baseline.json").assert_outcomes(passed=2)


# A test with a known cycle and a known leak, which fails (or cannot be judged) as $FLAKE says.
FLAKY = """
import gc
import os

import lib

RUNS = []


def test_a():
    RUNS.append(1)
    how = os.environ.get("FLAKE", "")
    if how == "fails":
        raise AssertionError("flaky")
    lib.ring("a")
    lib.leak()
    if how == "unfreezes-the-heap":
        gc.unfreeze()
    if how == "fails-when-re-run" and len(RUNS) > 1:
        raise AssertionError("flaky")


def test_b():
    pass
"""


@pytest.mark.parametrize("how", ["fails", "unfreezes-the-heap", "fails-when-re-run"])
def test_an_update_keeps_the_entries_of_a_test_that_failed_or_was_not_judged(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Only a test that passed and was judged replaces its entries: a flaky one failing once loses nothing."""
    pytester.makepyfile(test_flaky=FLAKY)
    update = ("-p", "no:xdist", "--gc-guard-baseline=baseline.json", "--gc-guard-update-baseline")
    run(*update).stdout.fnmatch_lines(["baseline written to */baseline.json: 2 findings (2 new, 0 pruned)"])
    written = (pytester.path / "baseline.json").read_text()
    monkeypatch.setenv("FLAKE", how)
    flaky = run(*update)
    flaky.stdout.fnmatch_lines(
        ["baseline written to */baseline.json: 2 findings (0 new, 0 pruned, 2 kept of tests that did not run or*"]
    )
    assert (pytester.path / "baseline.json").read_text() == written
    monkeypatch.delenv("FLAKE")
    green = run("-p", "no:xdist", "--gc-guard-baseline=baseline.json")
    green.assert_outcomes(passed=2)


def test_fingerprints_do_not_move_with_lines_addresses_or_python(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult]
) -> None:
    """Inserting lines above the test keeps the fingerprint; so do 3.9 to 3.13 (a constant, checked on each)."""
    body = 'import lib\n\ndef test_a():\n    lib.pair("x")\n'
    pytester.makepyfile(test_fp=body)
    run("-p", "no:xdist", "--gc-guard-baseline=one.json", "--gc-guard-update-baseline")
    pytester.makepyfile(test_fp="# moved\n" * 7 + body)
    run("-p", "no:xdist", "--gc-guard-baseline=two.json", "--gc-guard-update-baseline")
    one = json.loads((pytester.path / "one.json").read_text())["findings"]
    two = json.loads((pytester.path / "two.json").read_text())["findings"]
    assert one == two
    # The same on every CPython 3.9-3.13 CI runs this on: types and labels only.
    assert one == [
        {
            "fingerprint": FINGERPRINT_PAIR,
            "kind": "cycle",
            "nodeid": "test_fp.py::test_a",
            "path": "lib.Graph .next -> lib.Graph .next -> (back)",
        }
    ]


# Computed from a run; identical on CPython 3.9, 3.11 and 3.13 (checked when written).
FINGERPRINT_PAIR = "6b3e7d24a4530516"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "*not a pytest-gcguard baseline (invalid JSON*"),
        (
            '{"pytest-gcguard-baseline": 99, "findings": []}',
            "*baseline version 99, this pytest-gcguard reads version 1",
        ),
        ('{"something": "else"}', "*not a pytest-gcguard baseline (no 'pytest-gcguard-baseline' key)"),
    ],
)
def test_a_bad_baseline_is_a_usage_error_and_is_not_overwritten(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult], content: str, message: str
) -> None:
    """Corrupt or wrong version: exit 4 with the reason, and the file is left as it was."""
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    path = pytester.path / "baseline.json"
    path.write_text(content)
    for extra in ((), ("--gc-guard-update-baseline",)):
        result = inprocess("--gc-guard", "--gc-guard-baseline=baseline.json", *extra)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: --gc-guard-baseline: {message}"])
        assert path.read_text() == content


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "*invalid JSON: 'utf-8' codec can't decode byte 0xff in position 0*"),
        (b"[" * 100_000 + b"]" * 100_000, "*invalid JSON: nested too deeply)"),
    ],
    ids=["not-utf-8", "nested-100000-deep"],
)
def test_a_baseline_that_cannot_be_decoded_is_a_usage_error(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult], content: bytes, message: str
) -> None:
    """Bytes that are not UTF-8, or JSON nested deeper than the parser recurses: exit 4 naming the file."""
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    path = pytester.path / "baseline.json"
    path.write_bytes(content)
    for extra in ((), ("--gc-guard-update-baseline",)):
        # In process: the usage error comes at configure, before the guard exists.
        result = inprocess("--gc-guard", "--gc-guard-baseline=baseline.json", *extra)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: --gc-guard-baseline: {path}: not a pytest-gcguard baseline {message}"])
        assert path.read_bytes() == content


@pytest.mark.parametrize("report", ["baseline.json", "./sub/../baseline.json", "link.json", "hard.json"])
def test_the_report_and_the_baseline_cannot_be_one_file(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult], report: str
) -> None:
    """The report would overwrite the baseline: refused at start-up, whatever the path says (links too)."""
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    baseline = pytester.path / "baseline.json"
    baseline.write_text('{"pytest-gcguard-baseline": 1, "findings": []}\n')
    (pytester.path / "sub").mkdir()
    (pytester.path / "link.json").symlink_to("baseline.json")
    os.link(baseline, pytester.path / "hard.json")
    for extra in ((), ("--gc-guard-update-baseline",)):
        result = inprocess("--gc-guard", "--gc-guard-baseline=baseline.json", f"--gc-guard-report={report}", *extra)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                f"ERROR: --gc-guard-report and --gc-guard-baseline name the same file ({baseline}): "
                "the report would overwrite the baseline"
            ]
        )
        assert json.loads(baseline.read_text()) == {"pytest-gcguard-baseline": 1, "findings": []}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and symbolic links")
def test_written_files_keep_their_mode_and_links(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult]
) -> None:
    """A new report gets the umask's mode; the baseline, behind a link, keeps its mode and the link stays."""
    pytester.makepyfile(test_ring='import lib\n\ndef test_a():\n    lib.ring("a")\n')
    (pytester.path / "data").mkdir()
    target = pytester.path / "data" / "baseline.json"
    target.write_text('{"pytest-gcguard-baseline": 1, "findings": []}\n')
    target.chmod(0o640)
    link = pytester.path / "baseline.json"
    link.symlink_to(Path("data") / "baseline.json")
    umask = os.umask(0o022)  # the inner session inherits it
    try:
        result = run(
            "-p",
            "no:xdist",
            "--gc-guard-report=report.json",
            "--gc-guard-baseline=baseline.json",
            "--gc-guard-update-baseline",
        )
    finally:
        os.umask(umask)
    result.stdout.fnmatch_lines(["baseline written to */baseline.json: 1 finding (1 new, 0 pruned)"])
    assert stat.S_IMODE((pytester.path / "report.json").stat().st_mode) == 0o644
    assert link.is_symlink() and os.readlink(link) == str(Path("data") / "baseline.json")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [f["nodeid"] for f in json.loads(target.read_text())["findings"]] == ["test_ring.py::test_a"]
    leftovers = [p.name for d in (pytester.path, target.parent) for p in d.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_missing_baseline_is_a_usage_error(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    """Reading a baseline that does not exist says how to create one."""
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = inprocess("--gc-guard", "--gc-guard-baseline=nope.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no such baseline file (create it with --gc-guard-update-baseline)"])


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_report_path_is_a_usage_error_at_start(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    """Checked at start-up, before any test runs."""
    locked = pytester.path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = inprocess("--gc-guard", "--gc-guard-report=locked/report.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_a_report_path_in_a_missing_directory_is_a_usage_error(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    """A report that could never be written stops the run at start-up (exit 4), naming the path."""
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = inprocess("--gc-guard", "--gc-guard-report=no/such/dir/report.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --gc-guard-report: cannot write the report: */no/such/dir does not exist"])
    result.stdout.no_fnmatch_line("*test_ok*PASSED*")


@pytest.mark.inner_xdist
def test_xdist_workers_findings_reach_the_summary_report_and_baseline(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult]
) -> None:
    """-n 2 (and --dist loadfile): every finding on its test, in one summary, the report and the baseline."""
    pytest.importorskip("xdist")
    body = 'import lib\n\ndef test_ring():\n    lib.ring("{i}")\n\ndef test_leak():\n    lib.leak()\n'
    pytester.makepyfile(**{f"test_w{i}": body.format(i=i) for i in range(4)})
    for dist in ("load", "loadfile"):
        result = run(
            "-n",
            "2",
            f"--dist={dist}",
            f"--gc-guard-report={dist}.json",
            f"--gc-guard-baseline={dist}-b.json",
            "--gc-guard-update-baseline",
        )
        result.assert_outcomes(passed=8)
        output = result.stdout.str()
        assert output.count("gc-guard summary") == 1
        result.stdout.fnmatch_lines(
            ["4 tests created reference cycles: 1 shape, 4 findings (4 known)", "4 tests leaked objects: 1 kind"]
        )
        report = _report(pytester.path / f"{dist}.json")
        with_findings = sorted(t["nodeid"] for t in report["tests"] if t["findings"])
        assert len(with_findings) == 8
        baseline = json.loads((pytester.path / f"{dist}-b.json").read_text())["findings"]
        assert sorted(f["kind"] for f in baseline) == ["cycle"] * 4 + ["leak"] * 4


def test_github_actions_annotations(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With GITHUB_ACTIONS=true each failing finding is an ::error line at the test's file and line."""
    pytester.makepyfile(test_four=FOUR_KINDS)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run("-p", "no:xdist")
    result.stdout.fnmatch_lines(
        [
            "::error file=test_four.py,line=4,title=gc-guard::test_four.py::test_cycle: "
            "reference cycle (1 objects): Graph('c') --.next--> Graph('c')",
            "::error file=test_four.py,line=7,title=gc-guard::test_four.py::test_leak: "
            "leaks 1 lib.Entry per run, kept alive by module lib, global REGISTRY",
        ]
    )
    quiet = run("-p", "no:xdist", "--gc-guard-no-annotations")
    quiet.stdout.no_fnmatch_line("::error*")
    monkeypatch.delenv("GITHUB_ACTIONS")
    off = run("-p", "no:xdist")
    off.stdout.no_fnmatch_line("::error*")


def test_the_allow_list_accepts_shapes_project_wide(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult]
) -> None:
    """gc_guard_allow: a class name allows its cycles (shown as allowed); leaks: lines allow leaks."""
    pytester.makeini("[pytest]\ngc_guard_allow =\n    cycles: lib.Graph\n    leaks: lib\n")
    pytester.makepyfile(test_four=FOUR_KINDS)
    result = run("-p", "no:xdist")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["1 test created reference cycles: 1 shape, 1 finding (1 allowed)"])


MYLIB = """
import otherlib


def make_registry():
    class Node:
        pass

    def build():
        return Node()

    Node.build = build  # the class holds the closure, whose cell holds the class


def keep_error():
    try:
        raise ValueError("boom")
    except ValueError as e:
        err = e  # the frame holds the error, whose traceback holds the frame


def lend(holder):
    def callback():
        return holder

    holder.callback = callback
"""

BY_MODULE = """
import mylib
import otherlib

def test_local_class_and_closure():
    mylib.make_registry()

def test_builtin_exception_and_frame():
    mylib.keep_error()

def test_closure_on_another_module_s_object():
    mylib.lend(otherlib.Holder())
"""


@pytest.mark.parametrize(
    ("allow", "failing"),
    [
        ("", 3),
        ("mylib.sub", 3),
        ("mylib", 1),
        ("mylib\n    otherlib", 0),
    ],
    ids=["none", "another-module", "mylib", "both"],
)
def test_a_module_entry_covers_every_member_the_module_owns(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], allow: str, failing: int
) -> None:
    """gc_guard_allow = mylib covers mylib's local class with its closure, and a plain ValueError
    kept by a frame of mylib's code (builtins have no owner: they neither block an entry nor satisfy it);
    a cycle through another module's object needs that module's entry too."""
    pytester.makepyfile(mylib=MYLIB, otherlib="class Holder:\n    pass\n", test_by_module=BY_MODULE)
    if allow:
        pytester.makeini(f"[pytest]\ngc_guard_allow =\n    {allow}\n")
    result = guarded()
    result.assert_outcomes(passed=3, errors=failing)
    if failing < 3:
        counts = "3 allowed" if not failing else "2 allowed, 1 failed"
        result.stdout.fnmatch_lines([f"3 tests created reference cycles: 3 shapes, 3 findings ({counts})"])
        output = result.stdout.str()
        assert "  [1 test, allowed] ValueError('boom') --.__traceback__--> " in output
        assert "  [1 test, allowed] function make_registry.<locals>.build (mylib.py:8) " in output
    if failing == 1:
        assert list(teardown_sections(result.stdout.str())) == ["test_closure_on_another_module_s_object"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "objects: lib.Graph",
            "ERROR: gc_guard_allow: unknown kind 'objects' in 'objects: lib.Graph' (use 'cycles:' or 'leaks:')",
        ),
        ("lib.Graph()", "ERROR: gc_guard_allow: not a qualified class name or module prefix: 'lib.Graph()'"),
    ],
)
def test_a_malformed_allow_line_is_a_usage_error(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult], line: str, message: str
) -> None:
    """Exit 4 naming the line."""
    pytester.makeini(f"[pytest]\ngc_guard_allow =\n    {line}\n")
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = inprocess("--gc-guard")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_file_that_cannot_be_written_costs_only_itself(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult]
) -> None:
    """A test removes the report's directory: the report fails alone, named; the failures, summary and baseline stay."""
    pytester.mkdir("out")
    pytester.makepyfile(
        test_files="""
import shutil
import lib

def test_removes_the_report_directory():
    shutil.rmtree("out")

def test_fails():
    assert 1 == 2, "the test's own failure"

def test_cycle():
    lib.ring("r")
"""
    )
    result = run(
        "-p",
        "no:xdist",
        "--gc-guard-report=out/report.json",
        "--gc-guard-baseline=b.json",
        "--gc-guard-update-baseline",
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "INTERNALERROR" not in output
    result.stdout.fnmatch_lines(["*the test's own failure*"])  # the failure section is printed
    result.stdout.fnmatch_lines(["*created reference cycles*"])  # so is the summary
    result.stdout.fnmatch_lines(["ERROR: could not write the report to */out/report.json: FileNotFoundError*"])
    result.stdout.fnmatch_lines(["baseline written to *b.json: 1 finding (1 new, 0 pruned)"])
    assert (pytester.path / "b.json").exists()
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_report_that_cannot_be_written_fails_an_otherwise_green_run(
    pytester: pytest.Pytester, run: Callable[..., pytest.RunResult]
) -> None:
    """CI asked for the file and did not get it: the run fails, and says why."""
    pytester.mkdir("out")
    pytester.makepyfile(test_files='import shutil\n\ndef test_removes_it():\n    shutil.rmtree("out")\n')
    result = run("-p", "no:xdist", "--gc-guard-report=out/report.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["ERROR: could not write the report to */out/report.json: *"])
    result.stdout.no_fnmatch_line("report written to*")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
