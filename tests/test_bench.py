"""The benchmark scripts still run (on a tiny suite; timings belong in bench/, not in tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent


def test_compare_runs_plain_and_guarded_and_reports_ratios(pytester: pytest.Pytester) -> None:
    """bench/compare.py alternates plain and guarded runs and prints median ratios and an outcome check."""
    pytester.makepyfile(
        test_tiny="class Ring:\n    def __init__(self):\n        self.me = self\n\ndef test_ring():\n    Ring()\n"
    )
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), str(pytester.path), "--rounds", "1", "--trace"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("round 1 plain ") and "{'passed': 1}" in line for line in lines)
    assert any(line.startswith("round 1 guarded ") and "{'passed': 1}" in line for line in lines)
    assert any(line.startswith("round 1 traced ") and "{'passed': 1}" in line for line in lines)
    assert any(
        line.startswith("median wall: plain ") and " guarded " in line and " traced " in line and "(ratio " in line
        for line in lines
    )
    assert any(line.startswith("median peak RSS: plain ") for line in lines)
    assert "same outcomes in every run: yes" in lines
