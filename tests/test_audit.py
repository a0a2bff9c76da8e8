"""The heap audit: cycles through objects older than the test (issue 4, acceptance 5).

Each test's window sees only objects made since it opened; everything older
is frozen.  A cycle that runs through an older object is found by the audit
(an unfrozen full collection), reported for the window of tests it covers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.inner import NODE_LIB


ROOT = Path(__file__).resolve().parent.parent

LIB = NODE_LIB

THROUGH_OLD = """
import lib

OLD = [lib.Node("old")]  # made at import: frozen before any test runs


def test_links_into_old():
    node = lib.Node("new")
    old = OLD.pop()
    node.other, old.other = old, node


KEPT = []


def test_grows():
    KEPT.extend([] for _ in range({grow}))  # frozen when the next window opens


def test_after():
    pass


def test_last():
    pass
"""


def test_a_cycle_through_an_older_object_is_reported_by_the_audit_with_its_window(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    pytester.makepyfile(lib=LIB, test_old=THROUGH_OLD.replace("{grow}", "0"))
    result = guarded("--gc-guard-report=report.json", "--gc-guard-leaks=off")
    # Reported, never failing: no single test can be blamed.
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "heap audit: 1 reference cycle through objects older than the test that dropped them, in 1 shape*",
            "  [[]1 cycle] Node('old') --.other--> Node('new') --.other--> Node('old')",
            "      during 4 tests: test_old.py::test_links_into_old ... test_old.py::test_last",
        ]
    )
    report = json.loads((pytester.path / "report.json").read_text())
    jsonschema.validate(report, json.loads((ROOT / "docs" / "report-schema.json").read_text()))
    (audit,) = report["audits"]
    assert (audit["first"], audit["last"], audit["tests"]) == (
        "test_old.py::test_links_into_old",
        "test_old.py::test_last",
        4,
    )
    (finding,) = audit["findings"]
    assert finding["kind"] == "audit" and finding["objects"] == 2
    # The window of the test itself saw nothing (the blind spot the audit covers).
    assert all(test["findings"] == [] for test in report["tests"])


def test_the_audit_before_a_re_run_reports_what_it_found_for_the_test_it_ran_for(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """With leaks on, the new Node is a suspect survivor, and an audit runs before its re-run.

    That audit ran before the test was added to the audits' span: as the
    first test, or the first after an audit, its cycle was found and dropped.
    """
    pytester.makepyfile(lib=LIB, test_old=THROUGH_OLD.replace("{grow}", "0"))
    result = guarded("-p", "no:randomly")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "  [[]1 cycle] Node('new') --.other--> Node('old') --.other--> Node('new')",
            "      during 1 test: test_old.py::test_links_into_old",
        ]
    )


# A cycle through an older object of builtin containers only: never a leak suspect,
# so no audit runs before a re-run (with leaks on) and the periodic audit is the first.
# (A list in it, or the old dict would not be tracked, nor frozen: CPython untracks a dict
# that holds only atomic values until it holds a container.)
THROUGH_OLD_DICTS = THROUGH_OLD.replace('lib.Node("old")', '{"name": "old", "tags": []}').replace(
    """    node = lib.Node("new")
    old = OLD.pop()
    node.other, old.other = old, node""",
    """    new = {"name": "new"}
    old = OLD.pop()
    new["other"], old["other"] = old, new""",
)


@pytest.mark.parametrize(
    ("leaks", "span"),
    [
        # The scan of a test's survivors counts what it leaves alive: the audit follows that test.
        ("on", "during 2 tests: test_old.py::test_links_into_old ... test_old.py::test_grows"),
        # Without the scan, the frozen heap is counted (every 1,000 tests; every test here):
        # the next window froze the growth.
        ("off", "during 3 tests: test_old.py::test_links_into_old ... test_old.py::test_after"),
    ],
)
def test_a_periodic_audit_covers_the_tests_since_the_last_one(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], leaks: str, span: str
) -> None:
    """An audit runs once the frozen heap has grown enough, and covers the tests so far; the final one the rest.

    (It ran on a clock: the spans it reported depended on the machine's speed.)
    """
    if leaks == "off":
        pytester.makeconftest("import pytest_gcguard.audits\npytest_gcguard.audits.AUDIT_RECOUNT = 1\n")
    pytester.makepyfile(lib=LIB, test_old=THROUGH_OLD_DICTS.replace("{grow}", "300_000"))
    result = guarded("-p", "no:randomly", f"--gc-guard-leaks={leaks}")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([f"      {span}"])
    result.stdout.no_fnmatch_line("*test_old.py::test_last*")


def test_the_audit_finds_nothing_on_a_clean_suite(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """pytest's own garbage between tests (reports, failed tests' tracebacks, fixtures) is no finding."""
    pytester.makepyfile(
        test_clean="""
        import pytest

        @pytest.fixture(scope="module")
        def shared():
            return {"a": [1, 2]}

        def test_fails(shared):
            assert shared["a"] == [3]

        def test_raises():
            with pytest.raises(ValueError) as excinfo:
                raise ValueError("x")
            assert excinfo.value

        @pytest.mark.xfail
        def test_xfails():
            raise KeyError

        KEPT = []

        def test_grows():
            KEPT.extend([] for _ in range(300_000))  # an audit after the next test: the heap grew

        def test_after():
            pass

        def test_last(shared):
            pass
        """
    )
    result = guarded()
    result.assert_outcomes(passed=4, failed=1, xfailed=1)
    assert "heap audit" not in result.stdout.str()


def test_the_audit_does_not_report_the_last_tests_own_cycles_again(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A window's garbage, analysed and dropped, is freed before an audit collects.

    (It stays cyclic garbage until a collection frees it; the final audit, or a
    periodic one right after the test, used to save it and report the test's
    own cycle a second time as a cycle through older objects.)
    """
    pytester.makepyfile(
        lib=LIB,
        test_last="""
        import lib

        KEPT = []

        def test_grows():
            KEPT.extend([] for _ in range(300_000))  # frozen when the next window opens

        def test_slow_ring():
            lib.ring()  # an audit falls due right after this test's window: the heap grew

        def test_last_ring():
            lib.ring()
        """,
    )
    result = guarded("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["2 tests created reference cycles: 1 shape, 2 findings (2 failed)"])
    assert "heap audit" not in result.stdout.str()


@pytest.mark.inner_xdist
def test_audits_of_xdist_workers_reach_the_controller(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(lib=LIB, test_old=THROUGH_OLD.replace("{grow}", "0"))
    result = pytester.runpytest_subprocess(
        "--gc-guard", "-p", "no:cacheprovider", "--gc-guard-leaks=off", "-n", "2", "--dist", "loadfile"
    )
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["  [[]1 cycle] Node('old') --.other--> Node('new') --.other--> Node('old')"])


def test_the_last_tests_cycles_are_not_reported_again_by_the_final_audit(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A window drops the garbage it analysed, still cyclic: the audit frees it unsaved, not as old cycles."""
    pytester.makepyfile(
        lib=LIB,
        test_last="""
        import lib

        def test_clean():
            pass

        def test_fails_with_a_ring():
            lib.ring()
            assert False

        def test_last_ring():
            lib.ring()
        """,
    )
    result = guarded("--gc-guard-leaks=off")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_last_ring*",
            "2 tests created reference cycles: 1 shape, 2 findings (1 failed, 1 not-judged)",
        ],
        consecutive=False,
    )
    assert "heap audit" not in result.stdout.str()


@pytest.mark.parametrize("leaks", ["on", "off"])
def test_garbage_of_higher_scoped_fixtures_is_freed_between_windows_not_left_to_the_audit(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult], leaks: str
) -> None:
    """A window opens without a collection unless a module-, class- or session-scoped fixture ran since the last.

    Their setup and teardown make garbage outside every window: it is freed
    before the next window freezes the heap, so neither a test nor an audit
    reports it.  (Frozen instead, the final audit would report the rings.)
    Automatic collections are off in the inner run: they could free the
    rings first, and the test would not notice a window that skipped its own.
    (With leaks on, the survivors are looked at after the module's teardown,
    and that garbage is freed first: it is not the last test's survivors.)
    """
    pytester.makeconftest("import gc\ngc.disable()\n")
    pytester.makepyfile(
        lib=LIB,
        test_a="""
import pytest
import lib

def test_first():  # (the first window collects anyway)
    pass

@pytest.fixture(scope="module")
def shared():
    lib.ring()  # garbage at setup
    yield "shared"
    lib.ring()  # and at teardown, before test_b's first window

class TestInClass:
    @classmethod
    def setup_class(cls):
        lib.ring()

    def test_one(self, shared):
        pass
""",
        test_b="def test_after():\n    pass\n",
    )
    result = guarded("--gc-guard-report=report.json", f"--gc-guard-leaks={leaks}")
    result.assert_outcomes(passed=3)
    assert "heap audit" not in result.stdout.str()
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["audits"] == []
    assert all(test["findings"] == [] for test in report["tests"])


PROMOTED = """
import gc
import lib

def test_promoted_by_a_young_collection():
    keep = lib.ring()
    gc.collect(0)  # the ring survives: now in an older generation
    del keep

def test_promoted_by_an_older_collection():
    keep = lib.ring()
    gc.collect(1)  # the ring survives into the oldest generation
    del keep

def test_promoted_by_automatic_collections():
    keep = lib.ring()
    junk = [[i] for i in range(100_000)]  # enough allocations for automatic collections of every generation
    del junk, keep
"""


def test_cycles_that_a_collection_in_the_test_moved_to_an_older_generation_are_found(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A window closes with a young-generation collection only when nothing can be older: none of these slip."""
    pytester.makepyfile(lib=LIB, test_promoted=PROMOTED)
    result = guarded("--gc-guard-leaks=off", "--gc-guard-report=report.json")
    result.assert_outcomes(passed=3, errors=3)
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["audits"] == []
    for test in report["tests"]:
        (cycle,) = test["findings"]
        assert (cycle["kind"], cycle["status"], cycle["objects"]) == ("cycle", "failed", 2), test
    # Counted in the ERRORS section only: under CI=true pytest does not cut the
    # short summary's messages, so the text appears there a second time.
    errors = result.stdout.str().partition("short test summary info")[0]
    assert errors.count("gc-guard: test created 1 reference cycle (2 objects)") == 3


BREEDING_LIB = """
class Bred:
    def __init__(self):
        self.me = self


class Breeder:
    '''A cycle whose finalizer makes a new cycle: garbage bred by the collection that frees the breeder.'''

    def __init__(self):
        self.me = self

    def __del__(self):
        Bred()
"""

BREEDING_FIXTURE = """
import pytest

from breeding import Breeder


@pytest.fixture(scope="module")
def shared():
    yield Breeder()  # frozen while it lives, frozen garbage once torn down: the audit's to find


def test_uses_a_module_fixture(shared):
    pass
"""

GROWS_THEN_MORE = """
KEPT = []


def test_grows():
    KEPT.extend([] for _ in range(300_000))  # frozen when the next window opens


def test_after():
    pass  # an audit after it: the heap grew


def test_last():
    pass
"""


def test_what_an_audit_freed_and_its_finalizers_bred_is_never_reported_by_the_next(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """The periodic audit reports the module fixture's cycle once; the final audit finds nothing.

    Before, the audit froze the heap again while it still held what it had
    saved: dropped, that was frozen garbage, reported again by the next
    audit ("during 1 test: test_2.py::test_after"), and so was the cycle its
    finalizer bred during the first audit (Hardening II, 20b).
    """
    pytester.makeconftest("import pytest_gcguard.audits\npytest_gcguard.audits.AUDIT_RECOUNT = 1\n")
    pytester.makepyfile(breeding=BREEDING_LIB, test_1=BREEDING_FIXTURE, test_2=GROWS_THEN_MORE)
    result = guarded("--gc-guard-leaks=off", "-p", "no:randomly")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "heap audit: 1 reference cycle through objects older than the test that dropped them, in 1 shape*",
            "  [[]1 cycle] Breeder --.me--> Breeder",
            "      during 3 tests: test_1.py::test_uses_a_module_fixture ... test_2.py::test_after",
        ]
    )
    result.stdout.no_fnmatch_line("*Bred --.me--> Bred*")
    result.stdout.no_fnmatch_line("*test_2.py::test_last*")


def test_a_cycle_the_tests_finalizer_bred_in_the_window_s_last_collection_is_the_test_s(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """The window collects until a collection finds nothing: the cycle a finalizer made is the test's.

    Before, it was found only if a collection in the window freed the
    breeder early enough; after the window's last one, it was left for
    whatever collection came next (frozen, it would be an audit's).
    """
    pytester.makepyfile(
        breeding=BREEDING_LIB,
        test_breeds="from breeding import Breeder\n\n\ndef test_drops_a_breeder():\n    Breeder()\n",
    )
    result = guarded("--gc-guard-leaks=off")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "gc-guard: test created 2 reference cycles (2 objects)*",
            "    Breeder --.me--> Breeder",
            "    Bred --.me--> Bred",
        ]
    )
