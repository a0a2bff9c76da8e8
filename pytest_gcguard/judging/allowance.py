"""The ``allow_cycles`` and ``allow_leaks`` markers' arguments, and which of a test's cycles they allow.

The marker's signature is the contract (as pytest-memray and pytest-timeout
do): Python's own argument binding rejects unknown or extra arguments, and
the values are checked here.  Errors are ``ValueError``/``TypeError`` with a
message the plugin turns into a usage error naming the test.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_gcguard.engine.findings import ALLOC_MEMBER
from pytest_gcguard.engine.findings import CLASS_MEMBER
from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import FAIL_ON_CHOICES
from pytest_gcguard.engine.findings import STDLIB
from pytest_gcguard.engine.findings import STDLIB_ORIGIN
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import is_tagged
from pytest_gcguard.engine.findings import owner_names
from pytest_gcguard.engine.introspect import is_python_class
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.judging.allowlist import AllowList
from pytest_gcguard.judging.allowlist import names_a_builtin


@dataclass(frozen=True)
class CycleAllowance:
    """What one ``allow_cycles`` marker allows."""

    reason: str | None = None
    types: frozenset[str] | None = None  # qualified type names; None allows any type
    max_objects: int | None = None  # at most this many objects in allowed cycles

    def covers(self, cycle: Cycle) -> bool:
        """Whether the marker's ``types`` cover this cycle (every instance of a Python class in it).

        Classes, functions and frames in the cycle are left aside, as plain
        containers are: ``types`` names the classes of instances.
        """
        if self.types is None:
            return True
        instances = [mro for mro in cycle.member_types if not is_tagged(mro)]
        return bool(instances) and all(self.types.intersection(mro) for mro in instances)


def allow_cycles(
    reason: str | None = None,
    *,
    types: Iterable[type | str] | type | str | None = None,
    max_objects: int | None = None,
) -> CycleAllowance:
    """Build the allowance from the marker's arguments, or raise ``ValueError``/``TypeError``."""
    if reason is not None and not isinstance(reason, str):
        raise TypeError(f"reason must be a string, got {type(reason).__name__}")
    names: frozenset[str] | None = None
    if types is not None:
        if isinstance(types, (type, str)):
            types = [types]
        try:
            entries: list[object] = list(types)
        except TypeError:
            raise TypeError(
                f"types must be a class, a qualified name or a list of them, got {type(types).__name__}"
            ) from None
        if not entries:
            raise ValueError("types must name at least one class")
        names = frozenset(_type_names(entries))
    if max_objects is not None and (type(max_objects) is not int or max_objects < 0):
        raise TypeError(f"max_objects must be a non-negative int, got {max_objects!r}")
    return CycleAllowance(reason=reason, types=names, max_objects=max_objects)


def _type_names(entries: Iterable[object]) -> Iterator[str]:
    """Qualified names of the ``types`` entries; an entry that could never match is an error.

    Findings are matched by the classes of their members (``member_types``:
    instances of Python classes only), so a builtin or C type -- ``dict``,
    ``"builtins.list"``, ``ValueError`` -- matches no plain instance of it,
    and would be accepted only to match nothing.
    """
    for entry in entries:
        if isinstance(entry, type):
            name = type_name(entry)
            if not is_python_class(entry):
                raise ValueError(f"{_CANNOT_MATCH.format(name=name)}")
            yield name
        elif isinstance(entry, str) and entry.strip():
            name = entry.strip()
            if names_a_builtin(name):
                raise ValueError(f"{_CANNOT_MATCH.format(name=name)}")
            yield name
        else:
            raise TypeError(f"types entries must be classes or qualified names like 'pkg.mod.Class', got {entry!r}")


_CANNOT_MATCH = (
    "types entry {name!r} can never match: findings are matched by the Python classes of their members, and "
    "builtin containers, exceptions and interpreter objects have none (name the class that owns them, "
    "or leave out types)"
)


def parse_marker(args: Sequence[Any], kwargs: dict[str, Any]) -> CycleAllowance:
    """Bind the marker's arguments as a call of ``allow_cycles`` would."""
    return allow_cycles(*args, **kwargs)


@dataclass(frozen=True)
class AllowanceSplit:
    failing: tuple[Cycle, ...]  # cycles that fail the gate
    allowed: tuple[Cycle, ...]  # the test's own cycles the marker allows
    exceeded: str | None = None  # why the allowance does not hold, if it does not


def fails(cycle: Cycle, fail_on: Iterable[str] = FAIL_ON_CHOICES) -> bool:
    """Whether a cycle fails the gate unless allowed: uncollectable garbage always, a cycle by its origin.

    A cycle (or standard-library cycle) fails when ``fail_on``
    (``--gc-guard-fail-on``) lists its origin; one whose origin nothing
    tells (only builtin containers in it) fails whatever it lists: where
    whose it is cannot be told, it is not hidden.  Test-local, internal and
    unloaded cycles never fail.
    """
    if cycle.kind == UNCOLLECTABLE:
        return True
    if cycle.kind not in (CYCLE, STDLIB):
        return False
    origin = cycle.origin or (STDLIB_ORIGIN if cycle.kind == STDLIB else "")
    return origin in fail_on or origin not in FAIL_ON_CHOICES


def split_by_allowance(
    cycles: Sequence[Cycle], allowance: CycleAllowance | None, fail_on: Iterable[str] = FAIL_ON_CHOICES
) -> AllowanceSplit:
    """Split a test's failing cycles (``fails``) into failing and allowed."""
    fail_on = frozenset(fail_on)
    own = [c for c in cycles if fails(c, fail_on)]
    if allowance is None:
        return AllowanceSplit(failing=tuple(own), allowed=())
    allowed = [c for c in own if allowance.covers(c)]
    failing = [c for c in own if not allowance.covers(c)]
    if allowance.max_objects is not None:
        total = sum(c.objects for c in allowed)
        if total > allowance.max_objects:
            return AllowanceSplit(
                failing=tuple(own),
                allowed=(),
                exceeded=f"allow_cycles(max_objects={allowance.max_objects}) exceeded: {total} objects in cycles",
            )
    return AllowanceSplit(failing=tuple(failing), allowed=tuple(allowed))


def coverage_notes(cycles: Sequence[Cycle], allowance: CycleAllowance | None, allow: AllowList) -> list[str]:
    """Why failing cycles were not allowed though the marker's ``types`` or the allow list name some of their classes.

    A cycle is allowed only when every member of a Python class is covered:
    the members left out are what the user has to add (or fix).  The marker's
    ``types`` are told about every failing cycle of its test; the project-wide
    allow list only about the cycles it covers in part.
    """
    notes = []
    for cycle in cycles:
        if allowance is not None and allowance.types is not None:
            marker = f"allow_cycles(types={sorted(allowance.types)})"
            instances = [mro for mro in cycle.member_types if not is_tagged(mro)]
            if not instances:
                notes.append(f"{marker} cannot cover {_NO_CLASSES}")
            else:
                left_out = [mro for mro in instances if not allowance.types.intersection(mro)]
                if left_out:
                    notes.append(f"{marker} does not cover {_members(cycle, left_out)}")
        left_out = [mro for mro in cycle.member_types if not allow.covers_member(mro)]
        if allow.cycles and 0 < len(left_out) < len(cycle.member_types):
            notes.append(f"gc_guard_allow does not cover {_members(cycle, left_out)}")
    return list(dict.fromkeys(notes))


_NO_CLASSES = "a cycle with no instance of a Python class (containers, classes, code and interpreter objects only)"
# How a note names a tagged member_types entry: ``class lib.C``, ``code of lib``, ``containers allocated in lib``.
_TAG_WORDS = {CLASS_MEMBER: "class", ALLOC_MEMBER: "containers allocated in"}
# Members named in one note before "and N more".
_MEMBERS_SHOWN = 4


def _members(cycle: Cycle, member_types: Sequence[Sequence[str]]) -> str:
    """``Graph('one') (pkg.Graph), pkg.Node``: a printed member's label, then its class."""
    labels = {hop.type_token: hop.label for hop in reversed(cycle.path)}
    named = []
    for entry in member_types:
        names = owner_names(entry)
        name = names[0] if names else "?"
        if is_tagged(entry):
            named.append(f"{_TAG_WORDS.get(entry[0], 'code of')} {name}")
            continue
        label = labels.get(name)
        named.append(f"{label} ({name})" if label else name)
    more = len(named) - _MEMBERS_SHOWN
    return ", ".join(named[:_MEMBERS_SHOWN]) + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class LeakAllowance:
    """What one ``allow_leaks`` marker allows."""

    reason: str | None = None
    types: frozenset[str] | None = None  # qualified type names; None allows any kind

    def covers(self, mro_names: Sequence[str]) -> bool:
        return self.types is None or bool(self.types.intersection(mro_names))


def allow_leaks(
    reason: str | None = None,
    *,
    types: Iterable[type | str] | type | str | None = None,
) -> LeakAllowance:
    """Build the allowance from ``allow_leaks``'s arguments, or raise ``ValueError``/``TypeError``."""
    cycles = allow_cycles(reason, types=types)
    return LeakAllowance(reason=cycles.reason, types=cycles.types)


def parse_leak_marker(args: Sequence[Any], kwargs: dict[str, Any]) -> LeakAllowance:
    return allow_leaks(*args, **kwargs)
