"""Referrer chains for many leaked objects in a big heap: one batched search against one search each.

    python bench/explainer.py                      # 100 objects, 5 levels deep, 2 M-object heap
    python bench/explainer.py --heap 10000 --objects 5

Each leaked object sits 5 references below a module global
(``REGISTRY[i]['a']['b']['c'][0]``), in a heap of ``--heap`` extra tracked
objects, frozen as gc-guard keeps it.  Prints the time to build every chain
in one ``referrer_chains`` call (one heap pass per level for all targets),
and the time per chain searched alone, measured on a few of them.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package, installed or not


class Leaked:
    def __init__(self, i: int) -> None:
        self.i = i


REGISTRY: dict[int, dict[str, dict[str, dict[str, list[Leaked]]]]] = {}
HEAP: list[list[int]] = []


def main(argv: list[str] | None = None) -> int:
    from pytest_gcguard.engine.chains import referrer_chain
    from pytest_gcguard.engine.chains import referrer_chains

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heap", type=int, default=2_000_000, help="extra tracked objects in the heap")
    parser.add_argument("--objects", type=int, default=100, help="leaked objects to explain")
    parser.add_argument("--alone", type=int, default=3, help="chains searched one at a time, for comparison")
    options = parser.parse_args(argv)
    HEAP.extend([i] for i in range(options.heap))
    for i in range(options.objects):
        REGISTRY[i] = {"a": {"b": {"c": [Leaked(i)]}}}
    targets = [REGISTRY[i]["a"]["b"]["c"][0] for i in range(options.objects)]
    gc.collect()
    gc.freeze()
    try:
        heap = len(gc.get_objects()) + gc.get_freeze_count()
        start = time.perf_counter()
        chains = referrer_chains(targets, frozen=True)
        batched = time.perf_counter() - start
        roots = {chain.root for chain in chains}
        depths = {len(chain.hops) for chain in chains}
        alone = []
        for target in targets[: options.alone]:
            start = time.perf_counter()
            referrer_chain(target, frozen=True)
            alone.append(time.perf_counter() - start)
    finally:
        gc.unfreeze()
    targets.clear()
    print(f"heap: {heap} tracked objects; {options.objects} leaked objects, 5 levels below a module global")
    print(f"chain roots: {sorted(roots)}; hops per chain: {sorted(depths)}")
    print(f"all {len(chains)} chains in one batched search: {batched:.3f} s (goal <= 1.5 s, aim 1 s)")
    if alone:
        each = sum(alone) / len(alone)
        total = each * options.objects
        print(f"one chain searched alone: {each:.3f} s, so {options.objects} alone would take {total:.1f} s")
    ok = roots == {"module __main__, global REGISTRY"} and depths == {6}
    print(f"every chain reaches the module global: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
