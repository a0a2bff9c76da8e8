"""gc-guard keeps nothing per clean test (issue 7: the self-leak check).

pytest itself keeps about 13 objects per test (its reports); a guarded run
may keep one more per test between heap audits (the frozen sentinel each
window leaves as garbage, freed by the next audit), and nothing else.
"""

from __future__ import annotations

import json

import pytest


COUNTER = """
import gc, json

COUNTS = {}


def pytest_runtest_logfinish(nodeid, location):
    i = int(nodeid.split("[")[1].rstrip("]"))
    if i in (499, 1999):
        COUNTS[i] = len(gc.get_objects()) + gc.get_freeze_count()


def pytest_unconfigure(config):
    with open("counts.json", "w") as f:
        json.dump(COUNTS[1999] - COUNTS[499], f)
"""

IDLE = """
import pytest


@pytest.mark.parametrize("i", range(2000))
def test_idle(i):
    x = [[i]]
"""


def _growth(pytester: pytest.Pytester, *args: str) -> int:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-q", *args)
    result.assert_outcomes(passed=2000)
    growth: int = json.loads((pytester.path / "counts.json").read_text())
    return growth


def test_a_guarded_run_keeps_at_most_one_object_per_clean_test_more_than_plain(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(COUNTER)
    pytester.makepyfile(test_idle=IDLE)
    plain = _growth(pytester)
    guarded = _growth(pytester, "--gc-guard")
    tests = 1500  # between the two counts
    assert guarded - plain <= tests + 100, (plain, guarded)
