"""gc-guard keeps nothing per clean test (issue 7: the self-leak check).

pytest itself keeps about 13 objects per test (its reports); a guarded run
keeps nothing more alive.  (Between heap audits it also holds, frozen, the
sentinel each window leaves as garbage; the counts below are taken after a
collection of the whole heap, which frees them, so they count what is alive.
The same collection untracks the tuples that a plain run's collections
untrack: frozen first, they would count as one more tracked object per test.)
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
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        gc.collect()
        COUNTS[i] = len(gc.get_objects())
        if frozen:
            gc.freeze()


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


def test_a_guarded_run_keeps_nothing_alive_per_clean_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(COUNTER)
    pytester.makepyfile(test_idle=IDLE)
    plain = _growth(pytester)
    guarded = _growth(pytester, "--gc-guard")
    # 1,500 tests between the two counts: keeping even one object per test fails.
    assert guarded - plain <= 100, (plain, guarded)
