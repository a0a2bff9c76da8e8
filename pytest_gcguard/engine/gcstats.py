"""``--gc-guard-stats`` and ``--gc-guard-threshold``: the collections each test triggered, and their time.

``gc.set_debug(gc.DEBUG_STATS)`` prints the same facts to stderr; a
``gc.callbacks`` entry gets them as data (the generation at ``start``, the
counts at ``stop``), and timing its two calls gives the time spent
collecting.  Also the summary's "gc pressure" lines, and the parsing of
``--gc-guard-threshold``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pytest_gcguard.reporting.text import plural


GENERATIONS = 3


@dataclass(frozen=True)
class CollectionCounts:
    """Collections that ran while one test ran, and the time they took."""

    collections: tuple[int, ...] = (0,) * GENERATIONS  # per generation: 0, 1, 2
    seconds: float = 0.0
    collected: int = 0  # objects the collections freed

    @property
    def total(self) -> int:
        return sum(self.collections)

    def to_dict(self) -> dict[str, Any]:
        return {"collections": list(self.collections), "seconds": self.seconds, "collected": self.collected}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionCounts:
        return cls(
            tuple(int(n) for n in data.get("collections", ())) or (0,) * GENERATIONS,
            float(data.get("seconds", 0.0)),
            int(data.get("collected", 0)),
        )


class CollectionStats:
    """Counts the collections that run while it is attached and not paused.

    ``pause()``/``resume()`` nest: gc-guard pauses it around its own
    collections and re-runs, so a test is charged only with its own.
    """

    def __init__(self) -> None:
        self._counts = [0] * GENERATIONS
        self._seconds = 0.0
        self._collected = 0
        self._started: float | None = None
        self._paused = 0
        # One bound method, found by identity: a test's gc.callbacks entry
        # may have an __eq__ that raises.
        self._callback = self._on_gc

    def attach(self) -> None:
        gc.callbacks.append(self._callback)

    def detach(self) -> None:
        callbacks = gc.callbacks
        for i in range(len(callbacks) - 1, -1, -1):
            if callbacks[i] is self._callback:
                del callbacks[i]

    @property
    def paused(self) -> bool:
        return self._paused > 0

    def pause(self) -> None:
        self._paused += 1

    def resume(self) -> None:
        self._paused = max(0, self._paused - 1)

    def reset(self) -> None:
        self._counts = [0] * GENERATIONS
        self._seconds = 0.0
        self._collected = 0

    def snapshot(self) -> CollectionCounts:
        return CollectionCounts(tuple(self._counts), self._seconds, self._collected)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collector: must never raise.
        try:
            if phase == "start":
                self._started = None if self._paused else time.perf_counter()
                return
            started, self._started = self._started, None
            if started is None:
                return
            self._seconds += time.perf_counter() - started
            generation = int(info.get("generation", GENERATIONS - 1))
            self._counts[min(max(generation, 0), GENERATIONS - 1)] += 1
            self._collected += int(info.get("collected", 0))
        except Exception:  # pragma: no cover - defensive: a callback must not raise
            pass


# Tests listed under "gc pressure" in the summary.
TOP_TESTS = 10


def pressure_lines(stats: Iterable[tuple[str, CollectionCounts]], limit: int = TOP_TESTS) -> list[str]:
    """The tests that spent the most time in the collector, most first."""
    ranked = sorted(((nodeid, counts) for nodeid, counts in stats if counts.total), key=lambda e: -e[1].seconds)
    if not ranked:
        return []
    total = sum(counts.seconds for _, counts in ranked)
    lines = [
        f"{plural(len(ranked), 'test')} triggered collections, {total * 1000:.1f} ms in all; "
        f"the {min(limit, len(ranked))} with the most time in the collector:"
    ]
    for nodeid, counts in ranked[:limit]:
        per_generation = ", ".join(f"gen{g} {n}" for g, n in enumerate(counts.collections))
        lines.append(
            f"  {counts.seconds * 1000:8.2f} ms  {counts.total:5d} collections ({per_generation}), "
            f"{counts.collected} freed  {nodeid}"
        )
    return lines


# gc.set_threshold() takes C ints: a larger value is an OverflowError.
MAX_THRESHOLD = 2**31 - 1


def parse_threshold(text: str) -> tuple[int, ...]:
    """``"700"`` or ``"700,10,10"``: arguments for ``gc.set_threshold``; ``ValueError`` otherwise."""
    parts = [part.strip() for part in text.split(",")]
    numbers = [int(part) for part in parts if part.isascii() and part.isdigit()]
    if not 1 <= len(parts) <= GENERATIONS or len(numbers) < len(parts) or max(numbers) > MAX_THRESHOLD:
        raise ValueError(f"expected N or N,N or N,N,N (whole numbers from 0 to {MAX_THRESHOLD}), got {text!r}")
    return tuple(numbers)
