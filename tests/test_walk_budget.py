"""Every walk over objects gc-guard did not create is bounded, and stops cleanly (issue 15).

A test that keeps ten million objects is not walked: its leaks are "not
judged", and it never fails.  A module is walked through its namespace,
never through its C state: CPython 3.12.0-3.12.5's ``_asyncio`` hands out
freed objects there (python/cpython#122695), and walking them hung a suite.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import types
from collections.abc import Callable

import pytest

from pytest_gcguard.engine.introspect import referents
from pytest_gcguard.engine.survivors import MAX_SURVIVORS


# Writes the inner session's peak memory (kB on Linux) to peak.json, and
# bounds its address space: a walk that runs away fails the run instead of
# taking the machine's memory.
BOUNDED_CONFTEST = """
import json, resource

LIMIT = 4 << 30
resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

def pytest_unconfigure(config):
    with open("peak.json", "w") as f:
        json.dump(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, f)
"""

TEN_MILLION = """
class Node:
    __slots__ = ("next", "__weakref__")  # a slot: instances are tracked by the collector


KEPT = []


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def test_keeps_ten_million_objects():
    before = rss_kb()
    KEPT.extend([Node() for _ in range(10**7)])
    with open("graph.txt", "w") as f:  # (json.dump makes a cycle of closures)
        f.write(f"{before} {rss_kb()}")
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc and ru_maxrss in kB")
def test_a_test_that_keeps_ten_million_objects_is_not_walked(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """It passes with a "not judged" note, and the run's memory stays under twice the objects' own.

    Before, each of the objects was walked for pytest's bookkeeping and the
    test was re-run three times, each run keeping ten million more.
    """
    pytester.makeconftest(BOUNDED_CONFTEST)
    pytester.makepyfile(test_big=TEN_MILLION)
    result = guarded("-rA", "--gc-guard-report=report.json", timeout=300)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"*leaks not judged: the walk over 10,0??,??? objects was cut short (more than {MAX_SURVIVORS:,} objects*"]
    )
    [entry] = json.loads((pytester.path / "report.json").read_text())["tests"]
    assert entry["findings"] == [] and entry["reruns"] == 0
    before, after = map(int, (pytester.path / "graph.txt").read_text().split())
    peak = json.loads((pytester.path / "peak.json").read_text())
    assert peak - before < 2 * (after - before), (peak, before, after)


def test_a_module_is_walked_through_its_namespace_only() -> None:
    module = types.ModuleType("walked")
    vars(module)["value"] = [1]
    assert referents(module) == [vars(module)]
    assert referents(asyncio) == [vars(asyncio)]
    holder = [module, module.value]
    assert referents(holder) == gc.get_referents(holder)


# A test that is the first to use asyncio: its modules are new, so the
# survivor scan looks at what they hold, and it leaves a suspect behind.
FIRST_ASYNCIO = """
import sys


class Thing:
    pass


KEPT = []
FIRST = "_asyncio" not in sys.modules  # or the hazard is not met


def test_first_use_of_asyncio():
    assert FIRST
    import asyncio

    async def main():
        future = asyncio.get_running_loop().create_future()
        future.set_result(1)
        await future  # its iterator goes to _asyncio's free list when done

    asyncio.run(main())
    KEPT.append(Thing())
"""


def test_first_use_of_asyncio_ends(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> None:
    """On CPython 3.12.0-3.12.5, walking ``_asyncio`` through ``gc.get_referents`` looped without end."""
    pytester.makeconftest(BOUNDED_CONFTEST)
    pytester.makepyfile(test_first=FIRST_ASYNCIO)
    result = guarded("--gc-guard-leaks=on", timeout=120)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*test leaks 1 Thing object per run*"])
