"""The project-wide allow list (ini ``gc_guard_allow``): shapes a project accepts by design.

One entry per line: a qualified class name or a module prefix, optionally
prefixed with ``cycles:`` or ``leaks:`` to apply to one kind of finding only::

    gc_guard_allow =
        networkx.classes
        cycles: mylib.views.NodeView
        leaks: mylib.registry.Handler

A cycle is allowed when every member that has an owner is covered, and at
least one has (``Cycle.member_types``); a leak when its class is.  A name
covers another when it equals it or starts with it plus a dot; an entry
covers

* an instance of a Python class, and a class itself (``lib.f.<locals>.C``
  too), when it covers the class's qualified name or a base class's;
* a function (a closure too) or a frame, when it covers the module the code
  runs in (a module prefix: a class name covers no function or frame).

Plain containers, builtin exceptions, tracebacks, cells, bound methods and
generators have no owner: they neither block an entry nor satisfy one.  A
cycle of nothing else is owned by the modules that allocated its members
(``findings.ALLOC_MEMBER``, found by tracing a re-run): an entry covers it
when it covers each of them.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_gcguard.engine.findings import owner_names


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
KINDS = ("cycles", "leaks")


class AllowListError(ValueError):
    """A malformed line in ``gc_guard_allow``."""


@dataclass(frozen=True)
class AllowList:
    cycles: tuple[str, ...] = ()
    leaks: tuple[str, ...] = ()

    @classmethod
    def parse(cls, lines: Iterable[str]) -> AllowList:
        entries: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            kinds: Sequence[str] = KINDS
            if ":" in line:
                prefix, _, rest = line.partition(":")
                if prefix.strip() not in KINDS:
                    raise AllowListError(
                        f"unknown kind {prefix.strip()!r} in {raw.strip()!r} (use 'cycles:' or 'leaks:')"
                    )
                kinds, line = (prefix.strip(),), rest.strip()
            if not _NAME.match(line):
                raise AllowListError(f"not a qualified class name or module prefix: {raw.strip()!r}")
            if names_a_builtin(line):
                raise AllowListError(
                    f"{raw.strip()!r} can never match: findings are matched by the Python classes of their "
                    "members, and builtin types (plain containers, exceptions) have none; name the class or "
                    "module that owns them"
                )
            for kind in kinds:
                entries[kind].append(line)
        return cls(tuple(entries["cycles"]), tuple(entries["leaks"]))

    def __bool__(self) -> bool:
        return bool(self.cycles or self.leaks)

    @staticmethod
    def _covers(entries: Sequence[str], mro_names: Sequence[str]) -> bool:
        return any(name == entry or name.startswith(entry + ".") for entry in entries for name in mro_names)

    def covers_cycle(self, member_types: Sequence[Sequence[str]]) -> bool:
        """Every member that has an owner is covered (a cycle of plain containers never is)."""
        return bool(member_types) and all(self.covers_member(entry) for entry in member_types)

    def covers_member(self, entry: Sequence[str]) -> bool:
        """A cycle's member (its ``member_types`` entry: an instance's MRO, or a tagged class or code) is covered."""
        return self._covers(self.cycles, owner_names(entry))

    def covers_leak(self, mro_names: Sequence[str]) -> bool:
        return self._covers(self.leaks, mro_names)


def is_allow_entry(name: str) -> bool:
    """Whether a qualified class name can be written as an allow line (``pkg.mod.Class``)."""
    return bool(_NAME.match(name))


def names_a_builtin(entry: str) -> bool:
    """``list``, ``builtins.list``, ``builtins``: entries no Python class's qualified name can match."""
    if entry == "builtins" or entry.startswith("builtins."):
        return True
    return "." not in entry and isinstance(getattr(builtins, entry, None), type)
