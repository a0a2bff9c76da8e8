"""Code gc-guard calls on the user's behalf: the extension hooks (``hookspecs.py``) and the plugins installed.

Every call into a ``pytest_gcguard_*`` hook goes through here, inside
``introspect.user_code``, so one place decides what a hook's error may do:
whatever it raises -- ``SystemExit``, ``KeyboardInterrupt`` and pytest's
``Exit`` too -- is reported or ignored, and never fails the run nor ends the
session.  Only a signal (Ctrl-C, pytest-timeout's alarm) that arrives while
a hook runs goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_gcguard.engine.introspect import module_dict
from pytest_gcguard.engine.introspect import plain_str
from pytest_gcguard.engine.introspect import read_attribute
from pytest_gcguard.engine.introspect import user_code
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.labels import NameCache


def plugin_packages(config: pytest.Config) -> set[str]:
    """The pytest plugins installed through entry points, as test harness: packages or modules.

    A plugin distribution (``pytest-timeout``, ``pytest-asyncio``) is
    harness whole: its top-level package.  A library that ships a plugin
    module (``anyio.pytest_plugin``, faker's, typeguard's) is not: only that
    module is harness, and a cycle its library code makes is the library's
    (issue 14).
    """
    names = set()
    for plugin, dist in config.pluginmanager.list_plugin_distinfo():
        name = plain_str(read_attribute(plugin, "__name__"))
        if not name:
            continue
        project = plain_str(getattr(dist, "project_name", None)) or ""
        is_plugin_distribution = project.lower().replace("_", "-").startswith("pytest")
        names.add(name.partition(".")[0] if is_plugin_distribution else name)
    return names


def context_modules(item: pytest.Item | None) -> list[str]:
    """Modules whose code may name the test's attributes: the test module."""
    namespace = _module_namespace(item)
    name = plain_str(namespace.get("__name__")) if namespace is not None else None
    return [name] if name is not None else []


def _module_namespace(item: pytest.Item | None) -> dict[str, Any] | None:
    """The ``__dict__`` of the test's module, read without running its code."""
    module = None
    with user_code():  # pytest's property, unless a conftest.py made the item
        module = getattr(item, "module", None)
    return module_dict(module)


def test_modules(items: list[pytest.Item]) -> tuple[set[str], set[str]]:
    """The files and the names of the collected tests' modules.

    Files: the paths pytest collected, and the modules' own ``__file__``.
    They differ for tests inside an installed package run from its source
    tree with ``--import-mode=importlib`` (trio's ``trio._tests``): once the
    installed package is imported, a test module's relative import of a
    sibling imports the installed copy, and pytest collects that module
    (``sys.modules`` has its name) for the source file.

    Names, read now: a test that drops modules from ``sys.modules`` and
    imports them again (trio's ``test_trio_import`` drops every ``trio*``
    module, its own tests' too) must not turn a later test's classes into
    the library's, as a look-up by name in ``sys.modules`` would.
    """
    files, names, read = set(), set(), set()
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        path = str(item.path)
        if path in read:
            continue  # its module is read already (a module's tests share it)
        read.add(path)
        files.add(path)
        namespace = _module_namespace(item)
        if namespace is None:
            continue
        filename = plain_str(namespace.get("__file__"))
        if filename is not None:
            files.add(filename)
        name = plain_str(namespace.get("__name__"))
        if name is not None:
            names.add(name)
    return files, names


def labeller(config: pytest.Config, names: NameCache, item: pytest.Item | None) -> Labeller:
    """A labeller for one test's objects (``item`` None: the heap audit's), with ``pytest_gcguard_label``.

    (The labeller calls the hook inside ``user_code``.)
    """
    hook = config.hook.pytest_gcguard_label
    custom = (lambda obj: hook(obj=obj)) if hook.get_hookimpls() else None
    # The test module by its namespace (its name comes with it), not by name in sys.modules.
    namespace = _module_namespace(item)
    return Labeller((), names, custom, context_namespaces=[namespace] if namespace else [])


def ignorer(config: pytest.Config, item: pytest.Item | None) -> Callable[[object], bool] | None:
    """``pytest_gcguard_ignore`` as a predicate, or None when no plugin implements it."""
    if not config.hook.pytest_gcguard_ignore.get_hookimpls():
        return None
    # item.ihook: only the conftest.py files that apply to the test's path.
    hook = (item.ihook if item is not None else config.hook).pytest_gcguard_ignore

    def ignored(obj: object) -> bool:
        answer = False  # a raising hook ignores nothing; it never fails the run
        with user_code():
            answer = hook(obj=obj, item=item) is True
        return answer

    return ignored


def call_report_hook(item: pytest.Item, report: pytest.TestReport, payload: dict[str, Any]) -> str | None:
    """``pytest_gcguard_report`` for a test with findings; what its error was, to be warned about."""
    if not (payload["cycles"] or payload["leaks"]):  # (uncollectable objects are among the cycles)
        return None
    # The user's hook: its error is shown, the test's outcome stays ours to decide.
    with user_code(describe=True) as call:
        item.ihook.pytest_gcguard_report(item=item, report=report, findings=payload)
    return None if call.error is None else f"pytest_gcguard_report hook raised {call.error}"
