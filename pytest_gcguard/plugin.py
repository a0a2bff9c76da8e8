"""pytest hooks, options and markers of pytest-gcguard.

The plugin appears to pytest as ``gcguard`` (``-p no:gcguard`` disables it).
Off by default: with neither ``--gc-guard`` nor ini ``gc_guard = true``, only
the markers are registered and no per-test code of ours runs.  When on, a
``Reporter`` (``reporting/reporter.py``) is registered, and a ``GcGuard``
(``guard.py``) too, except on the pytest-xdist controller, which runs no
tests.  The ``gc_guard`` fixture (``fixture.py``) is registered always:
pytest finds it here.
"""

from __future__ import annotations

import functools
import gc

import pytest

from pytest_gcguard import hookspecs
from pytest_gcguard.fixture import gc_guard
from pytest_gcguard.guard import GcGuard
from pytest_gcguard.markers import MARKER_LINES
from pytest_gcguard.options import add_options
from pytest_gcguard.options import enabled
from pytest_gcguard.options import load_baseline
from pytest_gcguard.options import resolve_settings
from pytest_gcguard.options import threshold
from pytest_gcguard.options import warn_unused
from pytest_gcguard.pressure import GcPressure
from pytest_gcguard.pressure import pressure_key
from pytest_gcguard.reporting.reporter import Reporter


reporter_key = pytest.StashKey[Reporter]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    # Registered even when off, so --strict-markers suites work without --gc-guard.
    for line in MARKER_LINES:
        config.addinivalue_line("markers", line)
    _configure_collector(config)
    if not enabled(config):
        warn_unused(config)
        return
    settings = resolve_settings(config)
    reporter = Reporter(config, settings, load_baseline(settings))
    config.stash[reporter_key] = reporter
    config.pluginmanager.register(reporter, "gcguard-reporter")
    if _is_xdist_controller(config):
        return  # the controller runs no tests: it only reports what the workers judged
    guard = GcGuard(config, settings, reporter)
    config.pluginmanager.register(guard, "gcguard-guard")
    config.add_cleanup(guard.restore)
    guard.start_tracing()


def _configure_collector(config: pytest.Config) -> None:
    """--gc-guard-threshold and --gc-guard-stats, which work with or without the guard."""
    values = threshold(config)
    if values is not None:
        config.add_cleanup(functools.partial(gc.set_threshold, *gc.get_threshold()))
        gc.set_threshold(*values)
    if enabled(config, "gc_guard_stats"):
        pressure = GcPressure(config)
        config.stash[pressure_key] = pressure
        config.pluginmanager.register(pressure, "gcguard-pressure")
        if not _is_xdist_controller(config):
            pressure.start()
            config.add_cleanup(pressure.stop)


def _is_xdist_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no"


def pytest_report_header(config: pytest.Config) -> str | None:
    reporter = config.stash.get(reporter_key, None)
    if reporter is None:
        return None
    settings = reporter.settings
    leaks = f"on, repeat={settings.repeat}" if settings.leaks else "off"
    trace = f" trace={settings.trace} frames" if settings.trace else ""
    return f"gc-guard: mode={settings.mode} leaks={leaks}{trace} (disable with -p no:gcguard)"


__all__ = ["gc_guard", "pytest_addhooks", "pytest_addoption", "pytest_configure", "pytest_report_header"]
