"""Turning the guard on and off, modes, and configuration errors (issue 2, acceptance 5 and 7)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.inner import GRAPH
from tests.inner import GRAPH_CLASS


CYCLIC_TEST = GRAPH + "\ndef test_cycle():\n    g = Graph('loop')\n    g.set_next(g)\n"


def test_the_ini_option_turns_the_guard_on(pytester: pytest.Pytester) -> None:
    """gc_guard = true in the ini file works like --gc-guard, and the header says so."""
    pytester.makeini("[pytest]\ngc_guard = true\n")
    pytester.makepyfile(graph=GRAPH_CLASS, test_cycle=CYCLIC_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["gc-guard: mode=fail leaks=on, repeat=3 (disable with -p no:gcguard)"])


def test_no_gc_guard_overrides_the_ini_file(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    """--no-gc-guard turns it off for one run."""
    pytester.makeini("[pytest]\ngc_guard = true\n")
    pytester.makepyfile(graph=GRAPH_CLASS, test_cycle=CYCLIC_TEST)
    result = inprocess("--no-gc-guard")
    result.assert_outcomes(passed=1)
    assert "gc-guard" not in result.stdout.str()


def test_disabling_the_plugin_by_name(pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]) -> None:
    """-p no:gcguard removes the plugin, even with the ini option set."""
    pytester.makeini("[pytest]\ngc_guard = true\n")
    pytester.makepyfile(graph=GRAPH_CLASS, test_cycle=CYCLIC_TEST)
    result = inprocess("-p", "no:gcguard", "-W", "ignore::pytest.PytestConfigWarning")
    result.assert_outcomes(passed=1)
    assert "gc-guard" not in result.stdout.str()


def test_warn_mode_reports_a_warning_and_passes(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """--gc-guard-mode=warn: the same report as a GcGuardWarning, exit code 0."""
    pytester.makepyfile(graph=GRAPH_CLASS, test_cycle=CYCLIC_TEST)
    result = guarded("--gc-guard-mode=warn")
    result.assert_outcomes(passed=1, warnings=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*warnings summary*",
            "*GcGuardWarning: gc-guard: test created 1 reference cycle (1 object)*",
            "*Graph('loop') --.next--> Graph('loop')*",
        ]
    )


def test_warn_mode_with_warnings_as_errors_fails(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """-W error::pytest_gcguard.GcGuardWarning turns the warning into a test failure."""
    pytester.makepyfile(graph=GRAPH_CLASS, test_cycle=CYCLIC_TEST)
    result = guarded("--gc-guard-mode=warn", "-W", "error::pytest_gcguard.GcGuardWarning")
    result.assert_outcomes(passed=1, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*GcGuardWarning: gc-guard: test created 1 reference cycle*"])


def test_warn_mode_from_the_ini_file(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> None:
    """gc_guard_mode = warn in the ini file."""
    pytester.makeini("[pytest]\ngc_guard_mode = warn\n")
    pytester.makepyfile(graph=GRAPH_CLASS, test_cycle=CYCLIC_TEST)
    result = guarded()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["gc-guard: mode=warn*"])


def test_the_warning_class_is_public() -> None:
    """GcGuardWarning is importable from the package and is a PytestWarning."""
    from pytest_gcguard import GcGuardWarning

    assert issubclass(GcGuardWarning, pytest.PytestWarning)
    assert GcGuardWarning.__module__ == "pytest_gcguard"


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("gc_guard_mode = loud", "ERROR: gc_guard_mode: expected one of fail, warn in the ini file, got 'loud'"),
        ("gc_guard_trace = lots", "ERROR: gc_guard_trace in the ini file: expected true or false, got 'lots'"),
        # It took the number of frames until the frames had an ini key of their own: say where they went.
        (
            "gc_guard_trace = 3",
            "ERROR: gc_guard_trace in the ini file: expected true or false, got '3' "
            "(the number of frames is now gc_guard_trace_frames = 3)",
        ),
        (
            "gc_guard_trace = true\ngc_guard_trace_frames = 65536",
            "ERROR: gc_guard_trace_frames in the ini file: expected a number of frames from 1 to 65535, got '65536'",
        ),
    ],
)
def test_bad_ini_values_are_usage_errors(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult], ini: str, message: str
) -> None:
    """A bad ini value stops the run with exit code 4 and names the setting."""
    pytester.makeini(f"[pytest]\ngc_guard = true\n{ini}\n")
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = inprocess()  # the error comes before the guard exists
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.mark.parametrize("key", ["gc_guard", "gc_guard_stats"])
def test_a_bad_bool_ini_value_names_its_key(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult], key: str
) -> None:
    """pytest's own message ("invalid truth value 'maybe'") names no key on pytest 9.2; ours does, on every pytest."""
    pytester.makeini(f"[pytest]\n{key} = maybe\n")
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {key}: invalid value in the ini file: *invalid truth value 'maybe'*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--gc-guard-trace-frames=0",),
            "ERROR: --gc-guard-trace-frames: expected a number of frames from 1 to 65535, got '0'",
        ),
        # tracemalloc.start() refuses more than 65535 frames: a usage error, not an INTERNALERROR.
        (
            ("--gc-guard-trace", "--gc-guard-trace-frames=70000"),
            "ERROR: --gc-guard-trace-frames: expected a number of frames from 1 to 65535, got '70000'",
        ),
        # The flag takes no value (it used to take the frames: argparse says so).
        (("--gc-guard-trace=3",), "*argument --gc-guard-trace: ignored explicit argument '3'*"),
    ],
)
def test_a_bad_trace_depth_is_rejected(
    inprocess: Callable[..., pytest.RunResult], args: tuple[str, ...], message: str
) -> None:
    result = inprocess("--gc-guard", *args)  # the error comes before the guard exists
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_the_trace_ini_values_are_read(pytester: pytest.Pytester) -> None:
    """``gc_guard_trace = true`` turns tracing on, with ``gc_guard_trace_frames`` frames: the header says so."""
    pytester.makeini("[pytest]\ngc_guard = true\ngc_guard_trace = true\ngc_guard_trace_frames = 2\n")
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["gc-guard: mode=fail leaks=on, repeat=3 trace=2 frames (disable with -p no:gcguard)"])


def test_a_bad_mode_on_the_command_line_is_rejected(inprocess: Callable[..., pytest.RunResult]) -> None:
    """argparse rejects an unknown --gc-guard-mode with exit code 4."""
    result = inprocess("--gc-guard", "--gc-guard-mode=loud")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*argument --gc-guard-mode: invalid choice: 'loud'*"])


def test_nothing_per_test_is_registered_when_off(pytester: pytest.Pytester) -> None:
    """Off by default: the per-test plugin object does not exist, and no test runs inside a window."""
    pytester.makeconftest(
        """
def pytest_collection_finish(session):
    pm = session.config.pluginmanager
    print("GUARD REGISTERED:", pm.get_plugin("gcguard-guard") is not None)
"""
    )
    pytester.makepyfile(test_ok="import gc\ndef test_ok():\n    print('GC CALLBACKS:', len(gc.callbacks))\n")
    off = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    off.stdout.fnmatch_lines(["GUARD REGISTERED: False", "*GC CALLBACKS: 0"])
    on = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--gc-guard")
    # The window's gc.callbacks entry (engine/callbacks.py, module docstring).
    on.stdout.fnmatch_lines(["GUARD REGISTERED: True", "*GC CALLBACKS: 1"])


NO_EFFECT = "*PytestConfigWarning: gc-guard is off: {} {} no effect without --gc-guard"


def test_options_that_need_the_guard_say_so_when_it_is_off(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    """Without --gc-guard, its options would be silently ignored (a bad report path too): one warning names them."""
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = inprocess("--gc-guard-report=no/such/dir/report.json", "--gc-guard-trace-frames=3")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines([NO_EFFECT.format("--gc-guard-report, --gc-guard-trace-frames", "have")])
    assert result.stdout.str().count("gc-guard is off") == 1
    # -W error: a usage error, not an INTERNALERROR from pytest_configure.
    strict = inprocess("--gc-guard-update-baseline", "-W", "error")
    assert strict.ret == pytest.ExitCode.USAGE_ERROR
    strict.stderr.fnmatch_lines(["ERROR: gc-guard is off: --gc-guard-update-baseline has no effect without --gc-guard"])
    # Options that work without the guard, and ini values (kept for the runs that turn it on), say nothing.
    pytester.makeini("[pytest]\ngc_guard_report = report.json\ngc_guard_trace = 3\n")
    quiet = inprocess("--gc-guard-stats", "--gc-guard-threshold=700")
    quiet.assert_outcomes(passed=1)
    quiet.stdout.no_fnmatch_line("*gc-guard is off*")


def test_every_option_is_known_to_act_with_or_without_the_guard(pytester: pytest.Pytester) -> None:
    """options.GUARD_ONLY lists every option but those that work without the guard, with its value when absent."""
    from pytest_gcguard.options import GUARD_ONLY

    config = pytester.parseconfig()
    dests = {name for name in vars(config.option) if name.startswith("gc_guard")}
    assert dests == {dest for dest, _, _ in GUARD_ONLY} | {"gc_guard", "gc_guard_stats", "gc_guard_threshold"}
    assert [flag for dest, flag, absent in GUARD_ONLY if config.getoption(dest) != absent] == []
    given = pytester.parseconfig(
        "--gc-guard-mode=warn",
        "--gc-guard-leaks=off",
        "--gc-guard-fail-on=project",
        "--gc-guard-repeat=1",
        "--gc-guard-report=r.json",
        "--gc-guard-html=r.html",
        "--gc-guard-baseline=b.json",
        "--gc-guard-update-baseline",
        "--gc-guard-no-annotations",
        "--gc-guard-graph=graphs",
        "--gc-guard-trace",
        "--gc-guard-trace-frames=3",
    )
    assert [flag for dest, flag, absent in GUARD_ONLY if given.getoption(dest) == absent] == []
