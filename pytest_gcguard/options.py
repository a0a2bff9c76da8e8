"""pytest-gcguard's options and ini values, and how they become ``Settings``.

Each option has an ini twin (the command line wins); one help text serves
both.  Bad values are ``pytest.UsageError`` naming the option (exit code 4).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest

from pytest_gcguard.engine.findings import FAIL_ON_CHOICES
from pytest_gcguard.engine.gcstats import parse_threshold
from pytest_gcguard.engine.sites import DEFAULT_FRAMES
from pytest_gcguard.engine.sites import MAX_FRAMES
from pytest_gcguard.judging import baseline as baseline_file
from pytest_gcguard.judging.allowlist import AllowList
from pytest_gcguard.judging.allowlist import AllowListError
from pytest_gcguard.judging.baseline import BaselineError
from pytest_gcguard.judging.baseline import check_writable


HELP_ENABLE = "check every test for reference cycles and leaks it leaves behind (pytest-gcguard)."
HELP_MODE = "what a finding does: 'fail' fails the test (default), 'warn' emits a GcGuardWarning."
HELP_LEAKS = "look for leaks (objects whose live count grows on every re-run): on (default) or off."
HELP_REPEAT = "how many times a test with suspect survivors is re-run to confirm a leak (default 3)."
HELP_REPORT = "write a JSON report of every checked test's findings to PATH (schema: docs/report-schema.json)."
HELP_HTML = "write a self-contained HTML report of the run's findings to PATH (pictures, search; docs/html-report.md)."
HELP_BASELINE = "a baseline file of known findings: they are reported as 'known' and do not fail."
HELP_UPDATE = "write (or refresh) the baseline file with this run's findings instead of failing on them."
HELP_ANNOTATIONS = "do not print GitHub Actions annotations for failing findings (printed when GITHUB_ACTIONS=true)."
HELP_ALLOW = (
    "classes or module prefixes whose cycles and leaks are allowed project-wide, one per line, "
    "optionally prefixed with 'cycles:' or 'leaks:'."
)
HELP_TRACE = "run tracemalloc and show where each finding's objects were allocated (ini: true or false)."
HELP_TRACE_FRAMES = (
    "the frames tracemalloc keeps per allocation, from 1 to 65535 (default 5); "
    "on the command line it turns --gc-guard-trace on too."
)
HELP_GRAPH = (
    "write a Graphviz DOT file for each finding into DIR (and an SVG next to it when the 'dot' program is found)."
)
HELP_STATS = (
    "count the collections each test triggers, per generation, and the time they take; "
    "the summary lists the 10 tests with the most (works without --gc-guard)."
)
HELP_THRESHOLD = (
    "set the collector's thresholds for the run, as gc.set_threshold(N[,N,N]) does; "
    "restored afterwards (works without --gc-guard)."
)
HELP_FAIL_ON = (
    "the origins whose cycles fail, comma-separated: project (code under the rootdir), dependency (installed "
    "distributions), stdlib (the standard library); default all three. Others are reported, not failed."
)
MODES = ("fail", "warn")

# The options that act only with the guard on: dest, flag, value when not given.
# (--gc-guard-stats and --gc-guard-threshold work without it.)
GUARD_ONLY = (
    ("gc_guard_mode", "--gc-guard-mode", None),
    ("gc_guard_leaks", "--gc-guard-leaks", None),
    ("gc_guard_fail_on", "--gc-guard-fail-on", None),
    ("gc_guard_repeat", "--gc-guard-repeat", None),
    ("gc_guard_report", "--gc-guard-report", None),
    ("gc_guard_html", "--gc-guard-html", None),
    ("gc_guard_baseline", "--gc-guard-baseline", None),
    ("gc_guard_update_baseline", "--gc-guard-update-baseline", False),
    ("gc_guard_annotations", "--gc-guard-no-annotations", True),
    ("gc_guard_trace", "--gc-guard-trace", None),
    ("gc_guard_trace_frames", "--gc-guard-trace-frames", None),
    ("gc_guard_graph", "--gc-guard-graph", None),
)


@dataclass(frozen=True)
class Settings:
    mode: str
    leaks: bool
    repeat: int
    report: Path | None = None
    baseline: Path | None = None
    update_baseline: bool = False
    annotations: bool = False
    allow: AllowList = field(default_factory=AllowList)
    trace: int = 0  # tracemalloc frames kept (--gc-guard-trace); 0: off
    graph: Path | None = None  # --gc-guard-graph: where DOT files go
    html: Path | None = None  # --gc-guard-html: the HTML report
    fail_on: frozenset[str] = frozenset(FAIL_ON_CHOICES)  # --gc-guard-fail-on: origins whose cycles fail

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "leaks": self.leaks,
            "repeat": self.repeat,
            "baseline": None if self.baseline is None else str(self.baseline),
            "update_baseline": self.update_baseline,
            "fail_on": sorted(self.fail_on),
            "allow": {"cycles": list(self.allow.cycles), "leaks": list(self.allow.leaks)},
            "trace": self.trace,
            "graph": None if self.graph is None else str(self.graph),
        }


def add_options(parser: pytest.Parser) -> None:
    """Register the options and ini values (called from ``pytest_addoption``)."""
    group = parser.getgroup("gc-guard", "pytest-gcguard: reference cycles and leaks each test creates")
    group.addoption("--gc-guard", action="store_true", default=None, dest="gc_guard", help=HELP_ENABLE)
    group.addoption(
        "--no-gc-guard",
        action="store_false",
        dest="gc_guard",
        help="turn pytest-gcguard off even when the ini file turns it on.",
    )
    group.addoption("--gc-guard-mode", choices=MODES, default=None, dest="gc_guard_mode", help=HELP_MODE)
    group.addoption("--gc-guard-leaks", choices=("on", "off"), default=None, dest="gc_guard_leaks", help=HELP_LEAKS)
    group.addoption("--gc-guard-fail-on", default=None, dest="gc_guard_fail_on", metavar="ORIGINS", help=HELP_FAIL_ON)
    group.addoption("--gc-guard-repeat", default=None, dest="gc_guard_repeat", metavar="N", help=HELP_REPEAT)
    group.addoption("--gc-guard-report", default=None, dest="gc_guard_report", metavar="PATH", help=HELP_REPORT)
    group.addoption("--gc-guard-html", default=None, dest="gc_guard_html", metavar="PATH", help=HELP_HTML)
    group.addoption("--gc-guard-baseline", default=None, dest="gc_guard_baseline", metavar="PATH", help=HELP_BASELINE)
    group.addoption(
        "--gc-guard-update-baseline",
        action="store_true",
        default=False,
        dest="gc_guard_update_baseline",
        help=HELP_UPDATE,
    )
    group.addoption(
        "--gc-guard-no-annotations",
        action="store_false",
        default=True,
        dest="gc_guard_annotations",
        help=HELP_ANNOTATIONS,
    )
    # A plain flag: with an optional value (nargs="?") argparse took the path
    # after it as the value (`--gc-guard-trace tests/x.py`); the frame count
    # has an option of its own.
    group.addoption("--gc-guard-trace", action="store_true", default=None, dest="gc_guard_trace", help=HELP_TRACE)
    group.addoption(
        "--gc-guard-trace-frames", default=None, dest="gc_guard_trace_frames", metavar="N", help=HELP_TRACE_FRAMES
    )
    group.addoption("--gc-guard-graph", default=None, dest="gc_guard_graph", metavar="DIR", help=HELP_GRAPH)
    group.addoption("--gc-guard-stats", action="store_true", default=None, dest="gc_guard_stats", help=HELP_STATS)
    group.addoption(
        "--gc-guard-threshold", default=None, dest="gc_guard_threshold", metavar="N[,N,N]", help=HELP_THRESHOLD
    )
    parser.addini("gc_guard", HELP_ENABLE, type="bool", default=False)
    parser.addini("gc_guard_mode", HELP_MODE, default="fail")
    parser.addini("gc_guard_leaks", HELP_LEAKS, default="on")
    parser.addini("gc_guard_fail_on", HELP_FAIL_ON, default=",".join(FAIL_ON_CHOICES))
    parser.addini("gc_guard_repeat", HELP_REPEAT, default="3")
    parser.addini("gc_guard_report", HELP_REPORT, default="")
    parser.addini("gc_guard_html", HELP_HTML, default="")
    parser.addini("gc_guard_baseline", HELP_BASELINE, default="")
    parser.addini("gc_guard_allow", HELP_ALLOW, type="linelist", default=[])
    parser.addini("gc_guard_trace", HELP_TRACE, default="false")
    parser.addini("gc_guard_trace_frames", HELP_TRACE_FRAMES, default=str(DEFAULT_FRAMES))
    parser.addini("gc_guard_graph", HELP_GRAPH, default="")
    parser.addini("gc_guard_stats", HELP_STATS, type="bool", default=False)
    parser.addini("gc_guard_threshold", HELP_THRESHOLD, default="")


def enabled(config: pytest.Config, name: str = "gc_guard") -> bool:
    """A boolean option with its ini twin: ``gc_guard`` (the guard), ``gc_guard_stats``."""
    option = config.getoption(name)
    if option is not None:
        return bool(option)
    try:
        return bool(config.getini(name))
    except (ValueError, TypeError, pytest.UsageError) as exc:
        # pytest 8 lets _strtobool's ValueError through; pytest 9.2 wraps it in
        # a UsageError ("invalid truth value 'maybe'"): neither names the key.
        # (TypeError: a value of the wrong type in a native TOML table.)
        raise pytest.UsageError(f"{name}: invalid value in the ini file: {exc}") from None


def warn_unused(config: pytest.Config) -> None:
    """The guard is off: say once which of the options given have no effect (a PytestConfigWarning).

    Only command-line options: an ini file may well hold settings for the runs
    that turn the guard on.
    """
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller says it
    unused = [flag for dest, flag, absent in GUARD_ONLY if config.getoption(dest) != absent]
    if not unused:
        return
    verb = "has" if len(unused) == 1 else "have"
    message = f"gc-guard is off: {', '.join(unused)} {verb} no effect without --gc-guard"
    try:
        config.issue_config_time_warning(pytest.PytestConfigWarning(message), stacklevel=3)
    except pytest.PytestConfigWarning:
        # -W error: raised from pytest_configure it would be an INTERNALERROR.
        raise pytest.UsageError(message) from None


def threshold(config: pytest.Config) -> tuple[int, ...] | None:
    """``--gc-guard-threshold`` (or its ini twin) as arguments for ``gc.set_threshold``."""
    option = config.getoption("gc_guard_threshold")
    source = "--gc-guard-threshold" if option is not None else "gc_guard_threshold in the ini file"
    value = str(option if option is not None else config.getini("gc_guard_threshold")).strip()
    if not value:
        return None
    try:
        return parse_threshold(value)
    except ValueError as exc:
        raise pytest.UsageError(f"{source}: {exc}") from None


def _choice(config: pytest.Config, name: str, choices: tuple[str, ...]) -> str:
    option = config.getoption(name)
    if option is not None:
        return str(option)
    value = str(config.getini(name)).strip()
    if value not in choices:
        raise pytest.UsageError(f"{name}: expected one of {', '.join(choices)} in the ini file, got {value!r}")
    return value


def _fail_on(config: pytest.Config) -> frozenset[str]:
    """``--gc-guard-fail-on`` (or its ini twin): one or more of the origins, comma-separated."""
    option = config.getoption("gc_guard_fail_on")
    source = "--gc-guard-fail-on" if option is not None else "gc_guard_fail_on in the ini file"
    value = str(option if option is not None else config.getini("gc_guard_fail_on"))
    names = [name.strip() for name in value.replace("\n", ",").split(",") if name.strip()]
    bad = [name for name in names if name not in FAIL_ON_CHOICES]
    if bad or not names:
        got = f"unknown origin {bad[0]!r}" if bad else "no origin"
        raise pytest.UsageError(
            f"{source}: expected one or more of {', '.join(FAIL_ON_CHOICES)}, comma-separated; got {got}"
        )
    return frozenset(names)


def _repeat(config: pytest.Config) -> int:
    option = config.getoption("gc_guard_repeat")
    source = "--gc-guard-repeat" if option is not None else "gc_guard_repeat in the ini file"
    value = option if option is not None else config.getini("gc_guard_repeat")
    try:
        repeat = int(str(value).strip())
    except ValueError:
        repeat = 0
    if repeat < 1:
        raise pytest.UsageError(f"{source}: expected a whole number of re-runs >= 1, got {value!r}")
    return repeat


_TRUE = ("true", "on", "yes", "1")
_FALSE = ("", "false", "off", "no", "0")


def _trace(config: pytest.Config) -> int:
    """Frames kept by tracemalloc; 0 when tracing is off."""
    frames_option = config.getoption("gc_guard_trace_frames")
    if not (config.getoption("gc_guard_trace") or frames_option is not None or _trace_ini(config)):
        return 0
    if frames_option is not None:
        source, value = "--gc-guard-trace-frames", str(frames_option)
    else:
        source, value = "gc_guard_trace_frames in the ini file", str(config.getini("gc_guard_trace_frames")).strip()
    try:
        frames = int(value)
    except ValueError:
        frames = 0
    if not 1 <= frames <= MAX_FRAMES:
        raise pytest.UsageError(f"{source}: expected a number of frames from 1 to {MAX_FRAMES}, got {value!r}")
    return frames


def _trace_ini(config: pytest.Config) -> bool:
    """ini ``gc_guard_trace``: true or false (it used to take the number of frames: say where that went)."""
    value = str(config.getini("gc_guard_trace")).strip()
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    hint = f" (the number of frames is now gc_guard_trace_frames = {value})" if value.isdigit() else ""
    raise pytest.UsageError(f"gc_guard_trace in the ini file: expected true or false, got {value!r}{hint}")


def _path(config: pytest.Config, name: str) -> Path | None:
    value = config.getoption(name) or str(config.getini(name)).strip()
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else config.invocation_params.dir / path


def resolve_settings(config: pytest.Config) -> Settings:
    try:
        allow = AllowList.parse(config.getini("gc_guard_allow"))
    except AllowListError as exc:
        raise pytest.UsageError(f"gc_guard_allow: {exc}") from None
    report = _path(config, "gc_guard_report")
    if report is not None:
        problem = check_writable(report)
        if problem:
            raise pytest.UsageError(f"--gc-guard-report: cannot write the report: {problem}")
    html = _html_path(config, report)
    graph = _path(config, "gc_guard_graph")
    if graph is not None:
        if graph.exists() and not graph.is_dir():
            raise pytest.UsageError(f"--gc-guard-graph: {graph} is not a directory")
        try:
            graph.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise pytest.UsageError(f"--gc-guard-graph: cannot make {graph}: {exc.strerror}") from None
    baseline = _path(config, "gc_guard_baseline")
    update = bool(config.getoption("gc_guard_update_baseline"))
    if update and baseline is None:
        raise pytest.UsageError("--gc-guard-update-baseline needs --gc-guard-baseline=PATH (or ini gc_guard_baseline)")
    if update and baseline is not None:
        problem = check_writable(baseline)
        if problem:
            raise pytest.UsageError(f"--gc-guard-baseline: cannot write the baseline: {problem}")
    if report is not None and baseline is not None and _same_file(report, baseline):
        raise pytest.UsageError(
            f"--gc-guard-report and --gc-guard-baseline name the same file ({baseline}): "
            "the report would overwrite the baseline"
        )
    if html is not None and baseline is not None and _same_file(html, baseline):
        raise pytest.UsageError(
            f"--gc-guard-html and --gc-guard-baseline name the same file ({baseline}): "
            "the HTML report would overwrite the baseline"
        )
    return Settings(
        mode=_choice(config, "gc_guard_mode", MODES),
        leaks=_choice(config, "gc_guard_leaks", ("on", "off")) == "on",
        fail_on=_fail_on(config),
        repeat=_repeat(config),
        report=report,
        baseline=baseline,
        update_baseline=update,
        annotations=bool(config.getoption("gc_guard_annotations")) and os.environ.get("GITHUB_ACTIONS") == "true",
        allow=allow,
        trace=_trace(config),
        graph=graph,
        html=html,
    )


def _html_path(config: pytest.Config, report: Path | None) -> Path | None:
    """--gc-guard-html: writable, and not the JSON report's file (one would overwrite the other)."""
    html = _path(config, "gc_guard_html")
    if html is None:
        return None
    problem = check_writable(html)
    if problem:
        raise pytest.UsageError(f"--gc-guard-html: cannot write the HTML report: {problem}")
    if report is not None and _same_file(html, report):
        raise pytest.UsageError(
            f"--gc-guard-html and --gc-guard-report name the same file ({report}): one report would overwrite the other"
        )
    return html


def _same_file(a: Path, b: Path) -> bool:
    """Whether writing ``a`` writes ``b``: the same path once links are followed, or one file twice."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:
        return False  # one of them does not exist yet


def load_baseline(settings: Settings) -> dict[str, baseline_file.Entry]:
    """Known findings; a corrupt or wrong-version file is a usage error, and is never overwritten."""
    if settings.baseline is None:
        return {}
    if settings.update_baseline and not settings.baseline.exists():
        return {}
    try:
        return baseline_file.load(settings.baseline)
    except BaselineError as exc:
        raise pytest.UsageError(f"--gc-guard-baseline: {exc}") from None
