"""The warning pytest-gcguard emits in ``warn`` mode."""

from __future__ import annotations

import pytest


class GcGuardWarning(pytest.PytestWarning):
    """A test left reference cycles (``--gc-guard-mode=warn``).

    Import it as ``pytest_gcguard.GcGuardWarning``:
    ``-W error::pytest_gcguard.GcGuardWarning`` turns it into a failure.
    """

    __module__ = "pytest_gcguard"
