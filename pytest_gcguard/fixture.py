"""The ``gc_guard`` fixture: the library API (``api.py``) inside a test, with or without ``--gc-guard``.

::

    def test_rebuild(gc_guard):
        with gc_guard.assert_no_cycles():
            rebuild()
        print(gc_guard.explain(cache))

It differs from the module-level functions in two ways only: pytest plugins
installed through entry points count as the test harness, as they do for the
plugin, and the test module's code is used to name attributes on a path.  A
failing ``assert_no_cycles`` raises the ``CycleError`` itself, an
``AssertionError``: pytest reports it as the test's failure with the labelled
report as its message, and ``pytest.raises(CycleError)`` can catch it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any

import pytest

from pytest_gcguard.api import FoundCycles
from pytest_gcguard.api import NoCycles
from pytest_gcguard.api import _explain
from pytest_gcguard.api import _find_cycles
from pytest_gcguard.engine.introspect import defined_in
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.extensions import context_modules
from pytest_gcguard.extensions import plugin_packages
from pytest_gcguard.judging.allowance import allow_cycles


if TYPE_CHECKING:
    from pytest_gcguard.api import AllowTypes

FIXTURE_HINT = "gc_guard.assert_no_cycles(allow_types=[...])"

_owners_key = pytest.StashKey[CodeOwners]()


class GcGuardFixture:
    """The value of the ``gc_guard`` fixture."""

    def __init__(self, owners: CodeOwners, modules: tuple[str, ...]) -> None:
        self._owners = owners
        self._modules = modules

    def assert_no_cycles(self, allow_types: AllowTypes = None) -> NoCycles:
        """A context manager that raises ``CycleError`` if its block leaves cycles of the code under test.

        ``allow_types``: classes or qualified names whose cycles are allowed,
        like ``no_cycles(allow_types=...)``.  The test's own code inside the
        block counts as code under test: you asked about this block.
        """
        allowance = allow_cycles(types=allow_types) if allow_types is not None else None
        return NoCycles(
            allowance,
            owners=self._owners,
            context_modules=self._modules,
            hint=FIXTURE_HINT,
            name="gc_guard.assert_no_cycles()",
        )

    def find_cycles(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> FoundCycles:
        """Call ``fn(*args, **kwargs)``; the cycles it left, as plain data (see ``pytest_gcguard.find_cycles``)."""
        module = defined_in(fn)
        modules = (*self._modules, module) if module is not None else self._modules
        return _find_cycles(fn, args, kwargs, self._owners, modules)

    def explain(self, obj: object) -> str:
        """What keeps ``obj`` alive, from a root, as text (see ``pytest_gcguard.explain``)."""
        caller = sys._getframe(1)
        try:
            return _explain(obj, caller, self._owners, self._modules)
        finally:
            del caller


@pytest.fixture
def gc_guard(request: pytest.FixtureRequest) -> GcGuardFixture:
    """Check blocks of this test for reference cycles, and explain what keeps objects alive.

    ``gc_guard.assert_no_cycles(allow_types=None)`` (a context manager),
    ``gc_guard.find_cycles(fn, *args, **kwargs)``, ``gc_guard.explain(obj)``.
    Works without ``--gc-guard``; with it, a block's garbage is the block's
    and the plugin does not report it again.
    """
    config = request.config
    owners = config.stash.get(_owners_key, None)
    if owners is None:
        owners = config.stash[_owners_key] = CodeOwners(harness=plugin_packages(config), root=str(config.rootpath))
    return GcGuardFixture(owners, tuple(context_modules(request.node)))
