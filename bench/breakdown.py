"""Where a guarded run's time goes: one instrumented run, its parts timed.

    python bench/breakdown.py --pyargs networkx.algorithms
    python bench/breakdown.py path/to/tests -- -k "not slow"

Runs ``pytest --gc-guard`` (warn mode) once, in this interpreter, with a
timer around each part of gc-guard's work: explaining a window's garbage
(``observe.explain_window``), the re-runs that confirm leaks and tell one-time
cycles (``Judgement._rerun``, with the explaining they do), the heap audits
(``HeapAudits.run``) and the look at a window's survivors
(``observe.find_suspects``).  A part inside another counts for the outer one.
The tests' own code (``pytest.Function.runtest``) is timed too, apart for
first runs and re-runs: a re-run costs at least its test body.
What the parts leave of the guarded run's extra time over a plain run
(``bench/compare.py``) is the per-test path every test pays: the window, its
collections, the hooks.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from typing import Any


PARTS = {
    "explain (first runs)": ("pytest_gcguard.observe", None, "explain_window"),
    "survivors": ("pytest_gcguard.observe", None, "find_suspects"),
    "re-runs": ("pytest_gcguard.judgement", "Judgement", "_rerun"),
    "audits": ("pytest_gcguard.audits", "HeapAudits", "run"),
}


class Timers:
    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PARTS, 0.0)
        self.calls = dict.fromkeys(PARTS, 0)
        self._inside: str | None = None
        # The tests' own code (pytest.Function.runtest), in first runs and in re-runs: what a re-run cannot save.
        self.bodies = {"first runs": 0.0, "re-runs": 0.0}

    def wrap(self, part: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._inside is not None:  # counted by the outer part
                return function(*args, **kwargs)
            self._inside = part
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - start
                self.calls[part] += 1
                self._inside = None

        return timed

    def install(self) -> None:
        import importlib

        for part, (module_name, class_name, name) in PARTS.items():
            module = importlib.import_module(module_name)
            owner = getattr(module, class_name) if class_name else module
            setattr(owner, name, self.wrap(part, getattr(owner, name)))
        import pytest

        runtest = pytest.Function.runtest

        @functools.wraps(runtest)
        def timed_runtest(item: pytest.Function) -> None:
            start = time.perf_counter()
            try:
                runtest(item)
            finally:
                self.bodies["re-runs" if self._inside == "re-runs" else "first runs"] += time.perf_counter() - start

        pytest.Function.runtest = timed_runtest  # type: ignore[method-assign,assignment]
        # windows.py imports explain_window and find_suspects by name.
        windows = importlib.import_module("pytest_gcguard.windows")
        for module_name, class_name, name in PARTS.values():
            if class_name is None:
                setattr(windows, name, getattr(importlib.import_module(module_name), name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", nargs="?", default=None)
    parser.add_argument("--pyargs", default=None, metavar="MODULE")
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    options = parser.parse_args(argv[: len(argv) - len(extra) - 1] if "--" in argv else argv)
    target = ["--pyargs", options.pyargs] if options.pyargs else [options.suite or "."]
    import pytest

    timers = Timers()
    timers.install()
    args = [*target, "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-W", "ignore::pytest.PytestWarning"]
    args += ["--gc-guard", "--gc-guard-mode=warn", *extra]
    start = time.perf_counter()
    pytest.main(args)
    wall = time.perf_counter() - start
    print(f"\nguarded run, instrumented: {wall:.2f} s")
    for part, seconds in timers.seconds.items():
        print(f"  {part:22} {seconds:8.2f} s  {seconds / wall:6.1%}  ({timers.calls[part]:,} calls)")
    bodies = timers.bodies
    print(f"  test bodies: first runs {bodies['first runs']:.2f} s, re-runs {bodies['re-runs']:.2f} s (of their time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
