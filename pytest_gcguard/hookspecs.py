"""Hooks that conftest.py files and plugins can implement to extend pytest-gcguard.

Added to pytest's hooks in ``pytest_addhooks`` (plugin.py), so they can be
implemented whether or not ``--gc-guard`` is given; they are called only
when it is.  See docs/toolbox.md, "Extension hooks".
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

import pluggy


if TYPE_CHECKING:
    import pytest

hookspec = pluggy.HookspecMarker("pytest")


@hookspec(firstresult=True)
def pytest_gcguard_ignore(obj: object, item: pytest.Item | None) -> bool | None:
    """Return ``True`` to drop ``obj`` from the findings of ``item``.

    Called for each object of a test's cyclic garbage (``item`` is ``None``
    for a heap audit, which covers several tests) and for one object of each
    kind that grew on every re-run.  A cycle that has an ignored object among
    its members is not reported, nor the objects it kept alive that are in no
    other cycle; a leak whose object is ignored is not reported.  Return
    ``None`` (the default) to let other implementations decide.

    Called inside gc-guard's analysis with the object itself: do not keep a
    reference to it, and do not change it.  Called only when some plugin
    implements it, and then for every garbage object, so keep it cheap.
    If it raises -- anything, ``SystemExit`` too -- it ignores nothing.
    """


@hookspec(firstresult=True)
def pytest_gcguard_label(obj: object) -> str | None:
    """Return the label ``obj`` gets in printed paths, or ``None`` for gc-guard's own.

    gc-guard's own label is the ``repr`` for user objects (truncated, and
    guarded against ``repr`` raising) and a description for interpreter
    objects.  Use it to give readable labels to types whose ``repr`` is long,
    slow or has side effects.  The label is truncated to 60 characters; if
    the hook raises (anything, ``SystemExit`` too), gc-guard's own label is used.
    """


@hookspec
def pytest_gcguard_report(item: pytest.Item, report: pytest.TestReport, findings: dict[str, Any]) -> None:
    """Called for each test that has findings, once gc-guard has judged them.

    ``findings`` is plain data: the test's payload (``report.gc_guard``, see
    docs/how-it-works.md, "Words"), with ``cycles`` and ``leaks``, each with
    its ``status`` (``failed``, ``warned``, ``allowed``, ``known``,
    ``info``, ...; objects the collector cannot free are cycles of kind
    ``uncollectable``), and optional ``note`` and ``error``.  Its fields are
    close to the JSON report's, not the same (docs/toolbox.md).  ``report``
    is the teardown report, which gc-guard has already marked failed when a
    finding fails the test.  Do not change either.  On pytest-xdist it is
    called on the worker that ran the test.  What it raises (anything,
    ``SystemExit`` too) is shown as a ``GcGuardWarning`` and never ends the
    session.
    """
