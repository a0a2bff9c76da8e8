"""pytest hooks, options and markers of pytest-gcguard.

The plugin appears to pytest as ``gcguard`` (``-p no:gcguard`` disables it).
Off by default: with neither ``--gc-guard`` nor ini ``gc_guard = true``, only
the markers are registered and no per-test code of ours runs.  When on, a
``GcGuard`` (``guard.py``) is registered and does the work.  The ``gc_guard``
fixture (``fixture.py``) is registered always: pytest finds it here.
"""

from __future__ import annotations

import functools
import gc

import pytest

from pytest_gcguard import hookspecs
from pytest_gcguard.fixture import gc_guard
from pytest_gcguard.guard import GcGuard
from pytest_gcguard.guard import guard_key
from pytest_gcguard.markers import MARKER_LINES
from pytest_gcguard.options import add_options
from pytest_gcguard.options import enabled
from pytest_gcguard.options import load_baseline
from pytest_gcguard.options import resolve_settings
from pytest_gcguard.options import threshold
from pytest_gcguard.options import warn_unused
from pytest_gcguard.pressure import GcPressure
from pytest_gcguard.pressure import pressure_key


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
    guard = GcGuard(config, settings, load_baseline(settings))
    config.stash[guard_key] = guard
    config.pluginmanager.register(guard, "gcguard-guard")
    config.add_cleanup(guard.restore)
    if not _is_xdist_controller(config):  # the controller runs no tests: nothing to trace
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
    guard = config.stash.get(guard_key, None)
    if guard is None:
        return None
    settings = guard.settings
    leaks = f"on, repeat={settings.repeat}" if settings.leaks else "off"
    trace = f" trace={settings.trace} frames" if settings.trace else ""
    return f"gc-guard: mode={settings.mode} leaks={leaks}{trace} (disable with -p no:gcguard)"


__all__ = ["gc_guard", "pytest_addhooks", "pytest_addoption", "pytest_configure", "pytest_report_header"]
