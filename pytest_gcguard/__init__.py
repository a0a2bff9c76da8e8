"""pytest-gcguard: catch the reference cycles each test creates, and explain them.

The engine (``engine/``), judging (``judging/``), reporting (``reporting/``,
its plugin object excepted) and the library API (``api``) do not import
pytest (docs/how-it-works.md, "Layout").  Names that need pytest are loaded
on first use.

The library API, usable in any program: ``no_cycles`` (a context manager and
decorator raising ``CycleError``), ``find_cycles`` (the cycles a call left, as
``FoundCycles``) and ``explain`` (what keeps an object alive).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from pytest_gcguard.api import CycleError
from pytest_gcguard.api import FoundCycles
from pytest_gcguard.api import explain
from pytest_gcguard.api import find_cycles
from pytest_gcguard.api import no_cycles
from pytest_gcguard.engine.analysis import explain_garbage
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop


if TYPE_CHECKING:
    from pytest_gcguard.warning_types import GcGuardWarning

__version__ = "0.1.0"

__all__ = [
    "Cycle",
    "CycleError",
    "FoundCycles",
    "GcGuardWarning",
    "Hop",
    "__version__",
    "explain",
    "explain_garbage",
    "find_cycles",
    "no_cycles",
]


def __getattr__(name: str) -> Any:
    if name == "GcGuardWarning":
        from pytest_gcguard.warning_types import GcGuardWarning

        return GcGuardWarning
    raise AttributeError(f"module 'pytest_gcguard' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazily loaded names too (PEP 562): dir() is how Sphinx's autodoc,
    # inspect.getmembers and tab completion find a module's members.
    return sorted(set(globals()) | set(__all__))
