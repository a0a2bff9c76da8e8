"""Fix hints: the common families of cycles and leaks, told from a finding's labelled path.

Each family is recognised from the hops' type tokens and edge labels only
(the plain data of ``engine/findings.py``, as ``engine/labels.py`` and
``engine/analysis.py`` write them), so a hint can be made anywhere a finding
travels: a test's failure text, the summary, an HTML report, a JSON file read
back.  A recogniser answers ``None`` when the path does not clearly show its
family: no hint is better than a wrong one.

Each hint names a section of docs/fixing.md ("Fixing what gc-guard finds"),
which shows a real fixed bug of that family, before and after.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak


# The page the anchors are sections of, as a path in the repository (the
# docs are also built with Sphinx, where the page is fixing.html).
DOCS_PAGE = "docs/fixing.md"


@dataclass(frozen=True)
class Hint:
    """One line on how a family of cycle or leak is usually fixed."""

    family: str  # a stable id of the family: "exception-traceback", ...
    text: str  # what the finding is, then how such a finding is fixed
    anchor: str  # the id of the docs section on the family, in DOCS_PAGE

    @property
    def url(self) -> str:
        """``docs/fixing.md#anchor``: where the family's section is, relative to the repository's root."""
        return f"{DOCS_PAGE}#{self.anchor}"


def _hint(family: str, text: str) -> Hint:
    return Hint(family, text, family)


EXCEPTION_TRACEBACK = _hint(
    "exception-traceback",
    "an exception stored where its own traceback's frame can reach it — "
    "del the local in a finally block, or store exc.with_traceback(None)",
)
BOUND_METHOD = _hint(
    "bound-method",
    "a bound method stored on its own instance — "
    "store weakref.WeakMethod(self.method), or look the method up when called",
)
PARENT_BACK_LINK = _hint(
    "parent-back-link",
    "a back-link: a child refers to the parent that holds it — make the back-link a weakref.ref or weakref.proxy",
)
SELF_CAPTURING_CLOSURE = _hint(
    "self-capturing-closure",
    "a closure that captures itself — "
    "pass the function as an argument, or set its name to None in a finally block when done",
)
PER_CALL = _hint(
    "class-or-function-per-call",
    "a class or function created on every call — hoist it to module level, or cache it",
)
GROWING_REGISTRY = _hint(
    "growing-registry",
    "a registry or cache that only grows — bound it, or hold its entries weakly (weakref.WeakValueDictionary)",
)
# Every hint this module gives.
HINTS = (EXCEPTION_TRACEBACK, BOUND_METHOD, PARENT_BACK_LINK, SELF_CAPTURING_CLOSURE, PER_CALL, GROWING_REGISTRY)


def hint_line(hint: Hint) -> str:
    """The terminal line of a hint: ``hint: <text>; see docs/fixing.md#<anchor>``."""
    return f"hint: {hint.text}; see {hint.url}"


# -- what a hop is, from its type token ------------------------------------------------

# Containers: they hold what the code put in them and are never the cause.
_CONTAINERS = frozenset(
    {
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "collections.deque",
        "collections.OrderedDict",
        "collections.defaultdict",
    }
)
# Container types a registry or a cache grows in (an index, a key or a member edge into the object).
_GROWING = _CONTAINERS - {"tuple", "frozenset"}
_GROWING_EDGE = re.compile(r"\[.*\]|key|element")
# Objects of the interpreter and of the standard library's callables, never a user's instance.
_INTERPRETER_PREFIXES = ("frame:", "function:", "class:", "functools.", "weakref.", "_weakref.")
# An attribute that names a back-link: .parent, ._parent, .__parent__, .parent_table, .owner, ...
_BACK_LINK = re.compile(r"^\.\w*(parent|owner)", re.IGNORECASE)
# Cut paths: analysis.py puts one hop "… N more objects …" (type and edge "…") where it cuts.
_CUT = "…"


def _is_instance(hop: Hop) -> bool:
    """A user's (or a library's) instance: ``module.Type``, no container, callable or interpreter object.

    Builtin types print without a module (``ConnectionError``, ``method``,
    ``cell``), so a module-qualified type is a class someone wrote.
    """
    token = hop.type_token
    return "." in token and token not in _CONTAINERS and not token.startswith(_INTERPRETER_PREFIXES)


def _whole(cycle: Cycle) -> bool:
    """Whether the path shows the whole cycle: closed (traced, not cut short by sampling) and not cut."""
    return cycle.traced and not cycle.sampled and all(hop.type_token != _CUT for hop in cycle.path)


# -- the families of cycles ---------------------------------------------------------------


def _around(cycle: Cycle) -> Sequence[Hop]:
    """The hops in order, once round and on again when the path is closed: adjacent hops are then
    adjacent here, across the closing edge too (a cut, ``…``, is never adjacent to anything)."""
    closed = cycle.traced and not cycle.sampled
    return (*cycle.path, *cycle.path) if closed else cycle.path


def _exception_traceback(path: Sequence[Hop]) -> bool:
    """``exc --.__traceback__--> traceback [--.tb_next--> traceback ...] --.tb_frame--> frame``.

    The frame is then on the cycle: a local or ``self`` of the frame that
    caught the exception (or of one it called) reaches the exception.
    """
    for index, hop in enumerate(path):
        if hop.edge != ".__traceback__":
            continue
        for tb in path[index + 1 :]:
            if tb.type_token != "traceback" or tb.edge not in (".tb_next", ".tb_frame"):
                break
            if tb.edge == ".tb_frame":
                return True
    return False


def _bound_method(path: Sequence[Hop]) -> bool:
    """``obj --.attr--> bound method --.__self__--> obj``: the method's ``__self__`` is on the cycle."""
    return any(hop.type_token == "method" and hop.edge == ".__self__" for hop in path)


def _self_capturing_closure(path: Sequence[Hop]) -> bool:
    """``function --.__closure__--> tuple --[i]--> cell --.cell_contents--> function``, maybe through containers.

    The cell holds the function itself (a recursive inner function), or a
    container that holds it; nothing else (an instance on the way is a
    closure stored on the object it captures: another story).
    """
    functions = [hop for hop in path if hop.type_token.startswith("function:")]
    if len(functions) != 1 or functions[0].edge != ".__closure__":
        return False
    start = path.index(functions[0])
    rotated = [*path[start:], *path[:start]]
    if len(rotated) < 3 or rotated[1].type_token != "tuple" or rotated[2].type_token != "cell":
        return False
    return all(hop.type_token in _CONTAINERS or hop.type_token == "cell" for hop in rotated[3:])


def _per_call(path: Sequence[Hop]) -> bool:
    """A class on the cycle (a class that is garbage was made at run time: its ``__mro__`` holds it), or
    ``function --.__globals__--> dict --['f']--> function`` (a function exec'd into a namespace of its own)."""
    return any(
        hop.type_token.startswith("class:") or (hop.type_token.startswith("function:") and hop.edge == ".__globals__")
        for hop in path
    )


def _parent_back_link(path: Sequence[Hop]) -> bool:
    """Instances and containers only: two instances that refer to each other, or more with a back-link attribute."""
    if not all(_is_instance(hop) or hop.type_token in _CONTAINERS for hop in path):
        return False
    instances = [hop for hop in path if _is_instance(hop)]
    if len(instances) == 2:
        return True
    return len(instances) > 2 and any(_BACK_LINK.match(hop.edge) for hop in instances)


def cycle_hint(cycle: Cycle) -> Hint | None:
    """The hint for a cycle's family, or None when its path does not clearly show one."""
    path = cycle.path
    # The local patterns first: a few adjacent hops tell them, on any printed path.
    if _exception_traceback(_around(cycle)):
        return EXCEPTION_TRACEBACK
    if _bound_method(path):
        return BOUND_METHOD
    if _per_call(path):
        return PER_CALL
    # The others need the whole cycle.
    if not _whole(cycle):
        return None
    if _self_capturing_closure(path):
        return SELF_CAPTURING_CLOSURE
    if _parent_back_link(path):
        return PARENT_BACK_LINK
    return None


# -- the families of leaks ------------------------------------------------------------------


def leak_hint(leak: Leak) -> Hint | None:
    """The hint for a leak's family, or None when its chain does not clearly show one.

    A registry or a cache: the chain starts at a module global or a class
    attribute (they live as long as the process) and ends with a growable
    container holding the leaked object under an index, a key or as a member.
    """
    chain = leak.chain
    if chain is None or not chain.complete or chain.held_by_pytest or len(chain.hops) < 2:
        return None
    if not chain.root.startswith(("module ", "class ")):
        return None
    holder = chain.hops[-2]
    if holder.type_token in _GROWING and _GROWING_EDGE.fullmatch(holder.edge):
        return GROWING_REGISTRY
    return None


def finding_hint(finding: Mapping[str, Any]) -> str | None:
    """The hint line of a finding in the JSON report's form (the HTML report's shapes), or None."""
    try:
        if finding.get("kind") == "leak":
            hint = leak_hint(Leak.from_dict(dict(finding)))
        else:
            hint = cycle_hint(Cycle.from_dict(dict(finding)))
    except (KeyError, TypeError, ValueError):  # a finding from another version's report
        return None
    return None if hint is None else hint_line(hint)
