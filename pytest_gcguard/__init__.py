"""pytest-gcguard: catch the reference cycles each test creates, and explain them.

The engine modules (``window``, ``graph``, ``labels``, ``ownership``,
``explain``, ``findings``, ``render``) do not import pytest.  Names that need
pytest are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from pytest_gcguard.explain import explain_garbage
from pytest_gcguard.findings import Cycle
from pytest_gcguard.findings import Hop


if TYPE_CHECKING:
    from pytest_gcguard.warning_types import GcGuardWarning

__version__ = "0.1.0"

__all__ = ["Cycle", "GcGuardWarning", "Hop", "__version__", "explain_garbage"]


def __getattr__(name: str) -> Any:
    if name == "GcGuardWarning":
        from pytest_gcguard.warning_types import GcGuardWarning

        return GcGuardWarning
    raise AttributeError(f"module 'pytest_gcguard' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazily loaded names too (PEP 562): dir() is how Sphinx's autodoc,
    # inspect.getmembers and tab completion find a module's members.
    return sorted(set(globals()) | set(__all__))
