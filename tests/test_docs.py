"""The README's demo output is real: it is compared with a run of the demo suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import plugins_off


ROOT = Path(__file__).resolve().parent.parent
# The README's sample was produced on this version; labels of frames and the
# hangers-on counts differ slightly on others.
DOCUMENTED_ON = (3, 11)


def _readme_sample() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- demo-output", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def _version_neutral(line: str) -> bool:
    return "frame " not in line and "kept alive" not in line


def test_the_readme_shows_real_demo_output() -> None:
    """Every line of the README's sample appears, in order, in a real run of the demo."""
    # As the README's command runs it: without the test extras' plugins
    # (Hypothesis's hook wrapper adds a frame to a failing test's traceback).
    no_plugins = ["-p", "no:cacheprovider", "-p", "no:xdist", *plugins_off()]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--gc-guard", "docs/demo", *no_plugins],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    actual = run.stdout.splitlines()
    expected = _readme_sample()
    assert len(expected) > 10
    if sys.version_info[:2] != DOCUMENTED_ON:
        expected = [line for line in expected if _version_neutral(line)]
        actual = [line for line in actual if _version_neutral(line)]
    position = 0
    for line in expected:
        assert line in actual[position:], f"README line not in the demo's output (after line {position}):\n{line}"
        position = actual.index(line, position) + 1
