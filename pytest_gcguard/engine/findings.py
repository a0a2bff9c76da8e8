"""Findings as plain data (``Cycle``, ``Leak``, ``Chain``, ``Hop``): what the engine hands to judging and reporting.

Everything here is built from strings and ints only, so a finding can cross
to the pytest-xdist controller on a test report and never keeps a garbage
object alive.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any


# Kinds of cycle finding.
CYCLE = "cycle"  # made by the code under test: fails the gate
TEST_LOCAL = "test-local"  # only the test's own references close it: never fails
STDLIB = "stdlib"  # lies wholly inside the standard library: fails as --gc-guard-fail-on says (origin stdlib)
# The standard library's own implementation, holding nothing of its caller:
# C objects, one an instance of a standard-library extension type (sqlite3's
# statement cache), or a standard-library recursive local function (3.9's
# pathlib).  Some versions make it, others not.  Never fails.
INTERNAL = "internal"
# The classes and functions of a module the test removed from sys.modules
# (to re-import it): dropped with the module's namespace.  Never fails.
UNLOADED = "unloaded"
# The collector could not free it (a legacy tp_del finalizer): it stays in
# gc.garbage for good.  Fails the gate whoever's code made it.
UNCOLLECTABLE = "uncollectable"

_INDEX = re.compile(r"\[[^\]]*\]")
# A name made per call: a uuid or a long hex number in it (structlog's
# ``wrap_dict`` names each class it makes ``WrappedDict-<uuid4>``).  In a
# shape it reads as one name: each run's class had another, so its cycle
# never "recurred" (a per-call cycle told one-time) and each was a shape.
_GENERATED = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|0x[0-9a-f]{4,}|(?<![0-9a-z])[0-9a-f]{16,}(?![0-9a-z])",
    re.IGNORECASE,
)


def _hop_shape(hop: Hop) -> str:
    """A hop's part of a shape: its type (generated names made one) and its edge (indices and keys blanked)."""
    return f"{_GENERATED.sub('<id>', hop.type_token)} {_INDEX.sub('[]', hop.edge)}"


# Origins of a cycle (Cycle.origin): whose code made it (ownership.CodeOwners.named_origin).
PROJECT = "project"  # code under the rootdir, not in site-packages
DEPENDENCY = "dependency"  # an installed distribution (origin_name: "attrs 25.4.0")
STDLIB_ORIGIN = "stdlib"  # the standard library (origin_name: the module)
TEST_ORIGIN = "test"  # a test module or conftest.py
HARNESS_ORIGIN = "harness"  # pytest, pluggy, their plugins, the standard library's test infrastructure
# How Cycle.origin_note starts for a cycle whose only named members are classes a
# standard-library class factory made (abc.ABCMeta, types.new_class): their
# __module__ is the factory's, and the note is the whole origin line.
FACTORY_MADE = "made by a class factory"
# The origins --gc-guard-fail-on chooses from, and its default: all of them.
FAIL_ON_CHOICES = (PROJECT, DEPENDENCY, STDLIB_ORIGIN)

# Cycle.member_types holds who owns each member of a cycle that has an owner
# (one tuple per distinct owner; ``ownership.member_owner``):
#   an instance of a Python class: its class's MRO names, ("lib.Node", "lib.Base");
#   a class: CLASS_MEMBER, then its own MRO names, ("<class>", "lib.make.<locals>.C");
#   a function or frame: CODE_MEMBER, then its module, ("<code>", "lib").
# Plain containers, builtin exceptions, tracebacks, cells and the like have no
# owner of their own.  A cycle made of nothing else is owned by the module
# whose code allocated its members, when tracemalloc could tell (a re-run
# traces it, ``rerun.py``): ALLOC_MEMBER, then that module, one entry per
# module, ("<alloc>", "lib.orderedset").  The tags start with "<", which no
# qualified name does.
CLASS_MEMBER = "<class>"
CODE_MEMBER = "<code>"
ALLOC_MEMBER = "<alloc>"


def owner_names(entry: Sequence[str]) -> Sequence[str]:
    """The names that own one ``member_types`` entry: its tag, if any, left out."""
    return entry[1:] if is_tagged(entry) else entry


def is_tagged(entry: Sequence[str]) -> bool:
    """Whether a ``member_types`` entry is a class's or code's, not an instance's."""
    return bool(entry) and entry[0].startswith("<")


def allocating_modules(member_types: Sequence[Sequence[str]]) -> list[str]:
    """The modules that allocated a cycle of plain containers (its ``ALLOC_MEMBER`` entries)."""
    return [entry[1] for entry in member_types if len(entry) == 2 and entry[0] == ALLOC_MEMBER]


@dataclass(frozen=True)
class Hop:
    """One object on a printed path, and the reference that leaves it."""

    label: str  # safe, truncated label of the object: Graph('one'), frame f (x.py:3)
    type_token: str  # its type, no identity: module.Type, frame:co_name, function:qualname, class:module.Name
    edge: str  # label of the reference to the next hop: .next, [0], local 'self'
    site: str = ""  # where the object was allocated (--gc-guard-trace): lib.py:12 in make_ring

    def to_dict(self) -> dict[str, str]:
        data = {"label": self.label, "type": self.type_token, "edge": self.edge}
        if self.site:
            data["site"] = self.site
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hop:
        return cls(str(data["label"]), str(data["type"]), str(data["edge"]), str(data.get("site", "")))


@dataclass(frozen=True)
class Cycle:
    """One shape of reference cycle a test left as garbage, with an exemplar path."""

    kind: str
    path: tuple[Hop, ...]  # closed: the last hop's edge leads back to the first
    count: int  # cycles of this shape the test made
    objects: int  # objects in those cycles (instance __dict__s not counted)
    kept_alive: int  # objects only these cycles kept alive (hangers-on)
    kept_alive_types: tuple[tuple[str, int], ...] = ()  # most common hanger-on types
    member_types: tuple[tuple[str, ...], ...] = ()  # who owns its members (see CLASS_MEMBER above)
    shape: str = field(default="")
    # False when the references closing the cycle are invisible to
    # gc.get_referents (held by C code): path is then an open chain.
    traced: bool = True
    # True when the window analysed a sample of its garbage and the cycle
    # goes on past it (an open chain too, cut short where the sample ends).
    sampled: bool = False
    # Whose code made it (PROJECT, DEPENDENCY, ...; "" when no member names its
    # code), the module or distribution that says so, and, for an INTERNAL
    # cycle, what it is and how to avoid it.  Not part of the shape: a
    # fingerprint stays the same whoever the origin is said to be.
    origin: str = ""
    origin_name: str = ""
    origin_note: str = ""

    def __post_init__(self) -> None:
        if not self.shape:
            shape = cycle_shape(self.path) if self.traced else chain_shape(self.path, sampled=self.sampled)
            object.__setattr__(self, "shape", shape)

    @property
    def shape_key(self) -> str:
        """Stable across runs, machines and memory addresses: a hash of the kind and shape (not the test)."""
        return hashlib.sha1(f"{self.kind}|{self.shape}".encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": [hop.to_dict() for hop in self.path],
            "count": self.count,
            "objects": self.objects,
            "kept_alive": self.kept_alive,
            "kept_alive_types": [list(pair) for pair in self.kept_alive_types],
            "member_types": [list(names) for names in self.member_types],
            "shape": self.shape,
            "shape_key": self.shape_key,
            "traced": self.traced,
            **({"sampled": True} if self.sampled else {}),
            "origin": self.origin,
            "origin_name": self.origin_name,
            **({"origin_note": self.origin_note} if self.origin_note else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cycle:
        return cls(
            kind=str(data["kind"]),
            path=tuple(Hop.from_dict(hop) for hop in data["path"]),
            count=int(data["count"]),
            objects=int(data["objects"]),
            kept_alive=int(data["kept_alive"]),
            kept_alive_types=tuple((str(name), int(n)) for name, n in data.get("kept_alive_types", ())),
            member_types=tuple(tuple(str(n) for n in names) for names in data.get("member_types", ())),
            shape=str(data.get("shape", "")),
            traced=bool(data.get("traced", True)),
            sampled=bool(data.get("sampled", False)),
            origin=str(data.get("origin", "")),
            origin_name=str(data.get("origin_name", "")),
            origin_note=str(data.get("origin_note", "")),
        )


def chain_shape(path: tuple[Hop, ...], *, sampled: bool = False) -> str:
    """The shape of an open chain (an untraced cycle, or one cut short by sampling): no rotation."""
    chain = " -> ".join(_hop_shape(hop).rstrip() for hop in path)
    return chain + (" (sampled)" if sampled else " (untraced)")


def fold_instance_dicts(hops: tuple[Hop, ...], *, closed: bool = True) -> tuple[Hop, ...]:
    """``obj .__dict__ -> dict ['name'] -> x`` reads as ``obj .name -> x``.

    On 3.9/3.10 (and on 3.11+ once a ``__dict__`` was materialised) the
    instance dict is a separate object in the cycle; users think in attributes.
    ``closed``: the last hop's edge leads to the first (a cycle's path), not
    out of the hops (a chain's).
    """
    if len(hops) < 2:
        return hops
    result = list(hops)
    changed = True
    while changed and len(result) > 1:
        changed = False
        for i, hop in enumerate(result):
            if not closed and i == len(result) - 1:
                break
            nxt = result[(i + 1) % len(result)]
            if (
                hop.edge == ".__dict__"
                and nxt.type_token == "dict"
                and nxt.edge.startswith("['")
                and nxt.edge.endswith("']")
            ):
                name = nxt.edge[2:-2]
                if name.isidentifier():
                    result[i] = replace(hop, edge=f".{name}")
                    del result[(i + 1) % len(result)]
                    changed = True
                    break
    return tuple(result)


def cycle_shape(path: tuple[Hop, ...]) -> str:
    """The cycle's types and edge labels, rotated to a canonical start.

    Indices and dict keys are dropped (``[3]`` and ``['k']`` both become
    ``[]``) so that the same structure built with other values has one shape.
    """
    tokens = [_hop_shape(hop) for hop in path]
    if not tokens:
        return ""
    rotations = [tokens[i:] + tokens[:i] for i in range(len(tokens))]
    return " -> ".join(min(rotations)) + " -> (back)"


@dataclass(frozen=True)
class Chain:
    """What keeps an object alive: a root, then labelled hops down to the object."""

    root: str  # "module lib, global REGISTRY", "class lib.Cache, attribute _store", ...
    hops: tuple[Hop, ...]  # from the root's value down to the object; the last hop's edge is ""
    complete: bool = True  # False: the search was cut (depth or time)
    held_by_pytest: bool = False  # only pytest's own structures keep it: not a leak of the code under test
    shared: int = 0  # leaked objects of the same kind held by the same container as this one
    # The ident of the thread whose running frame's local is the root (0: no
    # frame's).  Means something only in the process that searched, while
    # the search runs: never serialised, never compared.
    thread: int = field(default=0, compare=False)
    # The module and the global's name when the root is a module global (the
    # root's words say the same, for the reader).  Likewise never serialised.
    module_global: tuple[str, str] | None = field(default=None, compare=False)
    # The chain goes through a bounded cache (``functools.lru_cache`` with a
    # maxsize): what it keeps may only fill it.  Never serialised.
    bounded: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "hops": [h.to_dict() for h in self.hops],
            "complete": self.complete,
            "held_by_pytest": self.held_by_pytest,
            "shared": self.shared,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chain:
        return cls(
            str(data["root"]),
            tuple(Hop.from_dict(h) for h in data["hops"]),
            bool(data.get("complete", True)),
            bool(data.get("held_by_pytest", False)),
            int(data.get("shared", 0)),
        )

    @property
    def shape(self) -> str:
        return f"{self.root}: " + " -> ".join(_hop_shape(h).rstrip() for h in self.hops)


@dataclass(frozen=True)
class Leak:
    """A class whose live count of instances grew on every re-run of a test."""

    class_name: str  # module.Qualname of the class
    counts: tuple[int, ...]  # live count after the first run, then after each re-run
    chain: Chain | None = None
    mro: tuple[str, ...] = ()
    # Where the sample object was allocated (--gc-guard-trace), and how many
    # of the objects the latest run left were allocated there too, of how many.
    site: str = ""
    site_share: int = 0
    site_total: int = 0
    # The grown kind that keeps this one alive (its class_name): the two are
    # one leak, reported once, under that kind (engine/keepers.py).  Not part
    # of the shape: a kind's fingerprint is the same folded or not.
    kept_by: str = ""
    # The name of a thread the test started that was still running at the end
    # of the test and whose running frame keeps the leak: not judged.
    running_thread: str = ""

    @property
    def deltas(self) -> tuple[int, ...]:
        return tuple(b - a for a, b in zip(self.counts, self.counts[1:]))

    @property
    def per_run(self) -> int:
        return min(self.deltas) if self.deltas else 0

    @property
    def shape(self) -> str:
        return f"{self.class_name} via {self.chain.shape if self.chain else '?'}"

    @property
    def shape_key(self) -> str:
        return hashlib.sha1(f"leak|{self.shape}".encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "leak",
            "type": self.class_name,
            "counts": list(self.counts),
            "deltas": list(self.deltas),
            "chain": None if self.chain is None else self.chain.to_dict(),
            "mro": list(self.mro),
            "shape": self.shape,
            "shape_key": self.shape_key,
            "site": self.site,
            "site_share": self.site_share,
            "site_total": self.site_total,
            **({"kept_by": self.kept_by} if self.kept_by else {}),
            **({"running_thread": self.running_thread} if self.running_thread else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Leak:
        chain = data.get("chain")
        return cls(
            class_name=str(data["type"]),
            counts=tuple(int(n) for n in data["counts"]),
            chain=None if chain is None else Chain.from_dict(chain),
            mro=tuple(str(n) for n in data.get("mro", ())),
            site=str(data.get("site", "")),
            site_share=int(data.get("site_share", 0)),
            site_total=int(data.get("site_total", 0)),
            kept_by=str(data.get("kept_by", "")),
            running_thread=str(data.get("running_thread", "")),
        )
