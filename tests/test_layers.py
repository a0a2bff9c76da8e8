"""The package's layers: the engine, the judging and the reporting formats never import pytest."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import pytest_gcguard


# Modules that are pytest plugins or hold pytest hooks: everything else must not import pytest.
PYTEST_SIDE = {"reporting.reporter"}


def _modules(package: str) -> list[str]:
    path = [f"{pytest_gcguard.__path__[0]}/{package}"]
    names = [f"{package}.{info.name}" for info in pkgutil.iter_modules(path)]
    return [f"pytest_gcguard.{name}" for name in sorted(names) if name not in PYTEST_SIDE]


@pytest.mark.parametrize("package", ["engine", "judging", "reporting"])
def test_a_layer_does_not_import_pytest(package: str) -> None:
    """Each module is imported alone in a fresh interpreter; pytest and pluggy must stay unloaded."""
    modules = _modules(package)
    assert len(modules) >= 3, modules  # the layer is really there
    code = (
        "import sys, importlib\n"
        f"for name in {modules!r} + ['pytest_gcguard.api', 'pytest_gcguard']:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'pytest' or m.startswith(('_pytest', 'pluggy')))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_check_would_see_a_pytest_import() -> None:
    """The check above can fail: a module importing pytest is caught."""
    code = "import sys, pytest_gcguard.plugin\nassert 'pytest' in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True)
