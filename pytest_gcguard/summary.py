"""The end-of-run summary: findings of all tests (and all xdist workers), grouped by shape."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from pytest_gcguard.findings import CYCLE
from pytest_gcguard.findings import STDLIB
from pytest_gcguard.findings import TEST_LOCAL
from pytest_gcguard.findings import Cycle
from pytest_gcguard.render import _plural
from pytest_gcguard.render import format_path


# Test ids printed per shape before "... and N more".
MAX_TESTS_SHOWN = 3

# Status of a cycle in a test's payload.
FAILED = "failed"  # failed the test (fail mode)
WARNED = "warned"  # reported as a GcGuardWarning (warn mode)
ALLOWED = "allowed"  # exempted by @pytest.mark.allow_cycles
NOT_JUDGED = "not-judged"  # the test had already failed or been skipped
INFO = "info"  # test-local or standard-library cycles: never fail

PAYLOAD_VERSION = 1


def make_payload(
    entries: Iterable[tuple[Cycle, str]], error: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """What travels on the teardown report (builtins only, for pytest-xdist)."""
    payload: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "cycles": [dict(cycle.to_dict(), status=status) for cycle, status in entries],
    }
    if error:
        payload["error"] = error
    if note:
        payload["note"] = note
    return payload


@dataclass
class ShapeStats:
    kind: str
    exemplar: Cycle
    tests: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)


class Summary:
    """Collects payloads as reports arrive, in any process order."""

    def __init__(self) -> None:
        self.shapes: dict[str, ShapeStats] = {}
        self.errors: list[tuple[str, str]] = []
        self.tests_checked = 0

    def add(self, nodeid: str, payload: dict[str, Any]) -> None:
        self.tests_checked += 1
        if payload.get("error"):
            self.errors.append((nodeid, str(payload["error"])))
        for data in payload.get("cycles", ()):
            cycle = Cycle.from_dict(data)
            key = f"{cycle.kind}|{cycle.shape}"
            stats = self.shapes.get(key)
            if stats is None:
                stats = self.shapes[key] = ShapeStats(cycle.kind, cycle)
            if nodeid not in stats.tests:
                stats.tests.append(nodeid)
            status = str(data.get("status", INFO))
            stats.statuses[status] = stats.statuses.get(status, 0) + 1

    def _of_kind(self, kind: str) -> list[ShapeStats]:
        found = [s for s in self.shapes.values() if s.kind == kind]
        # Shapes that failed tests first, then the most widespread.
        return sorted(found, key=lambda s: (FAILED not in s.statuses, -len(s.tests), s.exemplar.shape))

    def lines(self, verbose: bool) -> list[str]:
        """The summary section's lines; empty when there is nothing to say."""
        own = self._of_kind(CYCLE)
        local = self._of_kind(TEST_LOCAL)
        stdlib = self._of_kind(STDLIB)
        if not (own or local or stdlib or self.errors):
            return []
        lines: list[str] = []
        own_tests = {t for s in own for t in s.tests}
        if own:
            statuses: dict[str, int] = {}
            for s in own:
                for status, n in s.statuses.items():
                    statuses[status] = statuses.get(status, 0) + n
            detail = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
            lines.append(
                f"{_plural(len(own_tests), 'test')} created reference cycles: {_plural(len(own), 'shape')} ({detail})"
            )
            for stats in own:
                lines.extend(self._shape_lines(stats))
        for shapes, what in (
            (local, "test-local cycles (made by the test's own code; not failing)"),
            (stdlib, "standard-library cycles (not failing)"),
        ):
            if not shapes:
                continue
            tests = {t for s in shapes for t in s.tests}
            hint = "" if verbose else "; -v lists them"
            lines.append(f"{_plural(len(tests), 'test')} with {what}: {_plural(len(shapes), 'shape')}{hint}")
            if verbose:
                for stats in shapes:
                    lines.extend(self._shape_lines(stats))
        for nodeid, error in self.errors:
            lines.append(f"could not explain the garbage of {nodeid}: {error}")
        return lines

    def _shape_lines(self, stats: ShapeStats) -> list[str]:
        tests = stats.tests
        shown = ", ".join(tests[:MAX_TESTS_SHOWN])
        more = f", ... and {len(tests) - MAX_TESTS_SHOWN} more" if len(tests) > MAX_TESTS_SHOWN else ""
        tags = [status for status in sorted(stats.statuses) if status not in (FAILED, INFO)]
        tag = f", {', '.join(tags)}" if tags else ""
        return [
            f"  [{_plural(len(tests), 'test')}{tag}] {format_path(stats.exemplar.path, stats.exemplar.traced)}",
            f"      {shown}{more}",
        ]
