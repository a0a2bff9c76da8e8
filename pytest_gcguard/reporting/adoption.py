"""How to adopt gc-guard when a first run fails many tests: the end of the summary.

A suite switching the guard on typically fails hundreds of tests on a few
shapes that a library makes by design (jinja2: every template; trio: every
``trio.run``).  The summary then ends with what to do about it: the exact
``gc_guard_allow`` lines for the shapes that fail the most tests, grouped
by the package that owns their classes, and the baseline command that
records the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from pytest_gcguard.engine.findings import CLASS_MEMBER
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.engine.findings import is_tagged
from pytest_gcguard.engine.findings import owner_names
from pytest_gcguard.judging.allowlist import AllowList
from pytest_gcguard.judging.allowlist import is_allow_entry
from pytest_gcguard.judging.allowlist import names_a_builtin
from pytest_gcguard.judging.judge import FAILED
from pytest_gcguard.judging.judge import WARNED
from pytest_gcguard.reporting.html import type_module
from pytest_gcguard.reporting.summary import counted
from pytest_gcguard.reporting.summary import summary_leak_shape
from pytest_gcguard.reporting.summary import summary_shape


# Tests failing on gc-guard's findings from which the summary says how to adopt it.
ADOPT_AT = 5
# Tests a shape must fail for its allow line to be offered: one that fails a
# test or two is more likely a bug to fix than a library's design.
ALLOW_AT = 3
# Allow lines offered at most (the shapes that fail the most tests first).
MAX_ALLOW_LINES = 12
# What would fail the gate: failed, or warned of in warn mode.
_GATED = (FAILED, WARNED)


@dataclass
class _Gated:
    """One test's findings that fail the gate."""

    cycles: list[Cycle] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)


@dataclass
class _Shape:
    """A shape that fails the gate: in which tests, and the allow lines that would cover it."""

    tests: set[str] = field(default_factory=set)
    entries: set[str] | None = field(default_factory=set)  # None: a member no allow line can name
    # Each entry's module's line (``cycles: trio._core._run`` for ``cycles: trio._core._run.Runner``):
    # fewer lines, for a shape of more classes than MAX_ALLOW_LINES (trio's Runner <-> Task).
    modules: dict[str, str] = field(default_factory=dict)


def adoption_lines(payloads: Mapping[str, dict[str, Any]], baseline: str) -> list[str]:
    """The summary's closing lines when ``ADOPT_AT`` or more tests fail the gate; else none.

    ``baseline`` is the path the baseline command names.
    """
    gated = {nodeid: found for nodeid, found in _gated(payloads) if found.cycles or found.leaks}
    if len(gated) < ADOPT_AT:
        return []
    entries = _without_covered(_allow_entries(_shapes(gated)))
    allow = AllowList.parse(entries)
    covered = sum(1 for found in gated.values() if _covers(allow, found))
    command = f"pytest --gc-guard --gc-guard-baseline={baseline} --gc-guard-update-baseline"
    lines = [f"{counted(len(gated), 'test')} fail the gate; to adopt gc-guard before they are fixed:"]
    if not entries:
        return [*lines, "  record their findings as known, so that only new ones fail:", f"      {command}"]
    lines += [
        "  1. if the shapes that fail the most tests are by design, allow them project-wide",
        f"     (these lines in the ini file let {covered:,} of the {counted(len(gated), 'test')} pass):",
        "       gc_guard_allow =",
    ]
    lines.extend(f"           {line}" for line in _grouped(entries))
    if covered < len(gated):
        lines += ["  2. record the other findings as known, so that only new ones fail:", f"       {command}"]
    return lines


def _gated(payloads: Mapping[str, dict[str, Any]]) -> Iterator[tuple[str, _Gated]]:
    for nodeid, payload in payloads.items():
        if not payload.get("cycles") and not payload.get("leaks"):
            continue  # (most tests: nothing to look at)
        found = _Gated()
        for data in payload.get("cycles", ()):
            if data.get("status") in _GATED and data.get("kind") in (CYCLE, UNCOLLECTABLE):
                found.cycles.append(Cycle.from_dict(data))
        for data in payload.get("leaks", ()):
            if data.get("status") in _GATED:
                found.leaks.append(Leak.from_dict(data))
        yield nodeid, found


def _shapes(gated: Mapping[str, _Gated]) -> dict[str, _Shape]:
    """The failing shapes (as the summary groups them), with their tests and allow lines.

    A member is named by its class, or, for a class of the tests' own (defined
    in a test module, a conftest or a test function), by its first base class
    that is not: a test's ``MySchema(Schema)`` is named ``...Schema``.
    """
    test_modules = _test_modules(gated)
    shapes: dict[str, _Shape] = {}

    def add(key: str, nodeid: str, kind: str, names: Sequence[tuple[str, str] | None]) -> None:
        shape = shapes.setdefault(key, _Shape())
        shape.tests.add(nodeid)
        if shape.entries is None or not names or None in names:
            shape.entries = None  # a cycle of plain containers, a test's class with no base but object
            return
        for name, module in filter(None, names):
            shape.entries.add(f"{kind}: {name}")
            shape.modules[f"{kind}: {name}"] = f"{kind}: {module}"

    for nodeid, found in gated.items():
        for cycle in found.cycles:
            names = [_owner_name(entry, test_modules, cycle.origin_name) for entry in cycle.member_types]
            add(f"{cycle.kind} {summary_shape(cycle)}", nodeid, "cycles", names)
        for leak in found.leaks:
            name = _name(leak.mro, test_modules)
            add(f"leak {summary_leak_shape(leak)}", nodeid, "leaks", [_with_module(name)])
    return shapes


def _allow_entries(shapes: Mapping[str, _Shape]) -> list[str]:
    """The allow lines of the shapes failing ``ALLOW_AT`` tests or more, the most widespread first.

    A shape whose lines do not fit in what ``MAX_ALLOW_LINES`` leaves is
    offered by its classes' modules if those fit: a shape that fails every
    test (trio's ``Runner <-> Task``, a dozen classes of ``trio._core``)
    left out would leave the other lines passing no test.
    """
    chosen: dict[str, None] = {}
    for shape in sorted(shapes.values(), key=lambda shape: -len(shape.tests)):
        entries = shape.entries
        if len(shape.tests) < ALLOW_AT or not entries:
            continue
        if len(chosen.keys() | entries) > MAX_ALLOW_LINES:
            entries = {shape.modules[entry] for entry in entries}
        if len(chosen.keys() | entries) <= MAX_ALLOW_LINES:
            chosen.update(dict.fromkeys(sorted(entries)))
    return list(chosen)


def _without_covered(entries: list[str]) -> list[str]:
    """The entries no other covers: ``cycles: lib`` (a function of lib's) makes ``cycles: lib.Node`` needless."""
    return [entry for entry in entries if not any(entry.startswith(other + ".") for other in entries)]


def _test_modules(nodeids: Iterable[str]) -> set[str]:
    """The dotted names the tests' modules may be imported under: ``tests.test_x`` and ``test_x``."""
    modules: set[str] = set()
    for nodeid in nodeids:
        parts = nodeid.split("::", 1)[0].removesuffix(".py").split("/")
        modules.update(".".join(parts[i:]) for i in range(len(parts)))
    return modules


def _owner_name(entry: Sequence[str], test_modules: set[str], origin_name: str) -> tuple[str, str] | None:
    """What an allow line names for one ``Cycle.member_types`` entry, and its module (None: nothing can).

    An instance or a class: ``_name``.  A function or frame, or the
    allocator of plain containers: its module (trio's Runner cycle holds its
    coroutines' frames), unless it is the tests'.
    """
    if is_tagged(entry) and entry[0] != CLASS_MEMBER:
        names = owner_names(entry)
        module = names[0] if names else None
        if module is None or _in_tests(module, test_modules, itself=True) or not is_allow_entry(module):
            return None
        return module, module
    return _with_module(_name(owner_names(entry), test_modules), origin_name)


def _with_module(name: str | None, origin_name: str = "") -> tuple[str, str] | None:
    """A class's name and its module's (the finding's origin module, or a loaded one, ends it: ``html.type_module``)."""
    return None if name is None else (name, type_module(name, (origin_name,)) or name)


def _in_tests(name: str, test_modules: set[str], *, itself: bool = False) -> bool:
    """Whether a qualified name is in a test module, a conftest or a test function (``itself``: or is a test module)."""
    parts = name.split(".")
    prefixes = {".".join(parts[:i]) for i in range(1, len(parts) + int(itself))}
    return "<locals>" in parts or "conftest" in parts or bool(prefixes & test_modules)


def _name(mro: Sequence[str], test_modules: set[str]) -> str | None:
    """The class an allow line names for a member of this class: its own, or its first base outside the tests."""
    for name in mro:
        if _in_tests(name, test_modules):
            continue
        # (builtins.object ends every leak's MRO: no line can name a builtin.)
        return None if names_a_builtin(name) or not is_allow_entry(name) else name
    return None


def _covers(allow: AllowList, found: _Gated) -> bool:
    return all(allow.covers_cycle(c.member_types) for c in found.cycles) and all(
        allow.covers_leak(leak.mro) for leak in found.leaks
    )


def _grouped(entries: Sequence[str]) -> list[str]:
    """The entries under a comment naming their top-level package (a comment line is skipped by the ini parser)."""
    by_package: dict[str, list[str]] = {}
    for entry in entries:
        package = entry.split(": ", 1)[1].split(".", 1)[0]
        by_package.setdefault(package, []).append(entry)
    lines = []
    for package in sorted(by_package):
        lines.append(f"# {package}")
        lines.extend(sorted(by_package[package]))
    return lines
