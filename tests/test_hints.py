"""Fix hints (issue 18): the common families of cycles and leaks, told from a finding's labelled path.

The recognisers run in process on hand-made findings whose paths are the
ones real runs print (tests/test_oracle.py checks the labels themselves);
one guarded subprocess runs an inner suite that really makes a cycle or a
leak of each family, modelled on the fixed bug docs/fixing.md shows for it,
and its report must carry that family's hint.  The docs page must have a
section for every hint's anchor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.reporting import hints
from pytest_gcguard.reporting.hints import BOUND_METHOD
from pytest_gcguard.reporting.hints import EXCEPTION_TRACEBACK
from pytest_gcguard.reporting.hints import GROWING_REGISTRY
from pytest_gcguard.reporting.hints import HINTS
from pytest_gcguard.reporting.hints import PARENT_BACK_LINK
from pytest_gcguard.reporting.hints import PER_CALL
from pytest_gcguard.reporting.hints import SELF_CAPTURING_CLOSURE
from pytest_gcguard.reporting.hints import Hint
from pytest_gcguard.reporting.hints import cycle_hint
from pytest_gcguard.reporting.hints import hint_line
from pytest_gcguard.reporting.hints import leak_hint
from pytest_gcguard.reporting.text import cycle_failure_text
from pytest_gcguard.reporting.text import leak_failure_text
from tests.inner import teardown_sections


ROOT = Path(__file__).resolve().parent.parent


def cycle(*hops: tuple[str, str], traced: bool = True, sampled: bool = False) -> Cycle:
    """A cycle finding from (type token, edge) pairs; labels do not matter to the recognisers."""
    path = tuple(Hop(f"object {i}", token, edge) for i, (token, edge) in enumerate(hops))
    return Cycle(CYCLE, path, count=1, objects=len(path), kept_alive=0, traced=traced, sampled=sampled)


def leak(root: str, *hops: tuple[str, str], complete: bool = True, held_by_pytest: bool = False) -> Leak:
    chain = Chain(root, tuple(Hop(f"object {i}", t, e) for i, (t, e) in enumerate(hops)), complete, held_by_pytest)
    return Leak("lib.Thing", (1, 2, 3, 4), chain)


# ---- the recognisers, on the paths real runs print

EXCEPTION_LOCAL = cycle(
    ("ValueError", ".__traceback__"), ("traceback", ".tb_frame"), ("frame:keep_error", "local 'err'")
)
EXCEPTION_ON_SELF = cycle(
    ("lib.Client", ".error"),
    ("ConnectionError", ".__traceback__"),
    ("traceback", ".tb_frame"),
    ("frame:call", "local 'self'"),
)
BOUND_METHOD_ON_SELF = cycle(("lib.Button", ".on_click"), ("method", ".__self__"))
PARENT_CHILDREN = cycle(("lib.Node", ".children"), ("list", "[0]"), ("lib.Node", ".parent"))
RECURSIVE_CLOSURE = cycle(("function:make.<locals>.walk", ".__closure__"), ("tuple", "[0]"), ("cell", ".cell_contents"))
CLASS_MRO = cycle(("class:lib.make.<locals>.Point", ".__mro__"), ("tuple", "[0]"))
EXEC_GLOBALS = cycle(("function:f", ".__globals__"), ("dict", "['f']"))
RING_OF_THREE = cycle(("lib.Graph", ".next"), ("lib.Graph", ".next"), ("lib.Graph", ".next"))


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        (EXCEPTION_LOCAL, EXCEPTION_TRACEBACK),
        (EXCEPTION_ON_SELF, EXCEPTION_TRACEBACK),
        (BOUND_METHOD_ON_SELF, BOUND_METHOD),
        (PARENT_CHILDREN, PARENT_BACK_LINK),
        (RECURSIVE_CLOSURE, SELF_CAPTURING_CLOSURE),
        (CLASS_MRO, PER_CALL),
        (EXEC_GLOBALS, PER_CALL),
    ],
    ids=["exception-local", "exception-on-self", "bound-method", "parent", "closure", "class", "exec"],
)
def test_each_family_is_told_from_its_path(finding: Cycle, expected: Hint) -> None:
    assert cycle_hint(finding) == expected


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        # The path starts where the analysis likes (the most telling member):
        # the traceback edge may close the path, and tracebacks chain.
        (
            cycle(("traceback", ".tb_frame"), ("frame:f", "local 'e'"), ("ValueError", ".__traceback__")),
            EXCEPTION_TRACEBACK,
        ),
        (
            cycle(
                ("lib.Job", ".failure"),
                ("KeyError", ".__traceback__"),
                ("traceback", ".tb_next"),
                ("traceback", ".tb_frame"),
                ("frame:inner", "local 'job'"),
            ),
            EXCEPTION_TRACEBACK,
        ),
        # One exception's __context__ holds the one whose traceback closes the cycle.
        (
            cycle(
                ("lib.Job", ".error"),
                ("RuntimeError", ".__context__"),
                ("OSError", ".__traceback__"),
                ("traceback", ".tb_frame"),
                ("frame:run", "local 'self'"),
            ),
            EXCEPTION_TRACEBACK,
        ),
        # A bound method kept in a list the instance owns.
        (cycle(("lib.Bus", ".handlers"), ("list", "[2]"), ("method", ".__self__")), BOUND_METHOD),
        # A closure reaching itself through a dict it captures.
        (
            cycle(
                ("function:make.<locals>.h", ".__closure__"),
                ("tuple", "[0]"),
                ("cell", ".cell_contents"),
                ("dict", "['h']"),
            ),
            SELF_CAPTURING_CLOSURE,
        ),
        # A class made per call, through a method's __class__ cell (super()).
        (
            cycle(
                ("class:lib.f.<locals>.C", ".__dict__"),
                ("dict", "['m']"),
                ("function:f.<locals>.C.m", ".__closure__"),
                ("tuple", "[0]"),
                ("cell", ".cell_contents"),
            ),
            PER_CALL,
        ),
        # A table, its columns (a dict subclass of its own) and a column's back-link.
        (
            cycle(("lib.Table", ".columns"), ("lib.TableColumns", "['a']"), ("lib.Column", ".parent_table")),
            PARENT_BACK_LINK,
        ),
        # Two objects that refer to each other, whatever the names.
        (cycle(("lib.Left", ".peer"), ("lib.Right", ".peer")), PARENT_BACK_LINK),
    ],
    ids=["rotated", "tb-next", "context", "method-in-list", "closure-via-dict", "super-cell", "three", "two-peers"],
)
def test_the_families_are_told_in_their_variants(finding: Cycle, expected: Hint) -> None:
    assert cycle_hint(finding) == expected


@pytest.mark.parametrize(
    "finding",
    [
        RING_OF_THREE,  # three objects, no back-link: nothing says how it is meant
        cycle(("lib.Graph", ".next")),  # a self-reference
        cycle(("lib.A", ".b"), ("lib.B", ".c"), ("lib.C", ".a")),
        # A lambda that captures the object it is stored on: not a self-capturing closure.
        cycle(
            ("lib.Model", ".hook"),
            ("function:Model.__init__.<locals>.<lambda>", ".__closure__"),
            ("tuple", "[0]"),
            ("cell", ".cell_contents"),
        ),
        # A partial holding the object it is stored on: a callable, not a child.
        cycle(("lib.Model", ".hook"), ("functools.partial", ".args"), ("tuple", "[0]")),
        # A frame on the path without a traceback: a generator's, say.
        cycle(("lib.Stream", ".gen"), ("generator", ".gi_frame"), ("frame:read", "local 'self'")),
        # An exception's traceback edge not followed by a traceback's frame edge.
        cycle(("ValueError", ".__traceback__"), ("traceback", ".tb_next")),
        cycle(),
    ],
    ids=["ring", "self", "triangle", "lambda-on-self", "partial", "generator", "no-frame", "empty"],
)
def test_no_hint_when_the_path_shows_no_family(finding: Cycle) -> None:
    assert cycle_hint(finding) is None


def hops(finding: Cycle) -> list[tuple[str, str]]:
    return [(hop.type_token, hop.edge) for hop in finding.path]


@pytest.mark.parametrize(
    "finding",
    [
        cycle(*hops(RECURSIVE_CLOSURE), traced=False),
        cycle(*hops(PARENT_CHILDREN), sampled=True),
        cycle(("lib.Node", ".children"), ("…", "…"), ("lib.Node", ".parent")),
    ],
    ids=["untraced-closure", "sampled-parent", "cut-parent"],
)
def test_families_that_need_the_whole_cycle_get_no_hint_from_part_of_it(finding: Cycle) -> None:
    """An open chain or a cut path may hide what closes the cycle: no back-link or closure hint then."""
    assert cycle_hint(finding) is None


def test_local_patterns_are_told_on_an_open_chain_too() -> None:
    """exception -> traceback -> frame is on the cycle, whatever closes it."""
    assert cycle_hint(cycle(*hops(EXCEPTION_LOCAL), traced=False)) == EXCEPTION_TRACEBACK
    assert cycle_hint(cycle(*hops(EXCEPTION_LOCAL), sampled=True)) == EXCEPTION_TRACEBACK


@pytest.mark.parametrize(
    "finding",
    [
        leak("module lib, global _REGISTRY", ("list", "[3]"), ("lib.Thing", "")),
        leak("module lib, global _CACHE", ("dict", "['k3']"), ("lib.Thing", "")),
        leak("class lib.Plugin, attribute instances", ("list", "[3]"), ("lib.Plugin", "")),
        leak("module lib, global _SEEN", ("set", "element"), ("lib.Thing", "")),
        leak("module lib, global _BY_OBJECT", ("dict", "key"), ("lib.Thing", "")),
        leak(
            "module lib, global BUS",
            ("lib.Bus", ".handlers"),
            ("dict", "['saved']"),
            ("list", "[9]"),
            ("lib.Handler", ""),
        ),
    ],
    ids=["list", "dict", "class-attribute", "set", "dict-key", "nested"],
)
def test_a_registry_that_only_grows_is_told(finding: Leak) -> None:
    assert leak_hint(finding) == GROWING_REGISTRY


@pytest.mark.parametrize(
    "finding",
    [
        Leak("lib.Thing", (1, 2, 3, 4)),  # no chain
        leak("module lib, global _REGISTRY", ("list", "[3]"), ("lib.Thing", ""), complete=False),
        leak("pytest's own structures", ("list", "[3]"), ("lib.Thing", ""), held_by_pytest=True),
        leak("local 'items' of running frame loop (lib.py:3) in thread worker", ("list", "[3]"), ("lib.Thing", "")),
        leak("C code (no Python referrer)", ("list", "[3]"), ("lib.Thing", "")),
        leak("module lib, global APP", ("lib.App", ".current"), ("lib.Thing", "")),  # one object, replaced
        leak("module lib, global _ITEMS", ("tuple", "[3]"), ("lib.Thing", "")),  # a tuple does not grow
        leak("module lib, global _ONE", ("lib.Thing", "")),
    ],
    ids=["no-chain", "cut", "pytest", "running-frame", "no-referrer", "attribute", "tuple", "the-global-itself"],
)
def test_no_leak_hint_when_the_chain_shows_no_registry(finding: Leak) -> None:
    assert leak_hint(finding) is None


# ---- the terminal lines


def test_the_hint_line_names_the_docs_section() -> None:
    assert hint_line(EXCEPTION_TRACEBACK) == (
        "hint: an exception stored where its own traceback's frame can reach it — del the local in a finally "
        "block, or store exc.with_traceback(None); see docs/fixing.md#exception-traceback"
    )
    assert EXCEPTION_TRACEBACK.url == "docs/fixing.md#exception-traceback"


def test_a_failure_text_prints_each_familys_hint_once_under_its_first_shape() -> None:
    """Two shapes of one family, one of another, one of none: two hint lines, each under its shape."""
    text = cycle_failure_text([EXCEPTION_LOCAL, EXCEPTION_ON_SELF, RING_OF_THREE, BOUND_METHOD_ON_SELF])
    lines = text.splitlines()
    hint_lines = [line for line in lines if line.lstrip().startswith("hint:")]
    assert hint_lines == ["    " + hint_line(EXCEPTION_TRACEBACK), "    " + hint_line(BOUND_METHOD)]
    # Right under the shape it is about (the path's line), before the exemption line.
    assert lines.index(hint_lines[0]) == 2
    assert lines[lines.index(hint_lines[1]) - 1].startswith("    object 0 --.on_click-->")
    assert lines[-1].startswith("  to exempt:")


def test_a_leak_failure_text_prints_the_hint_after_the_chain() -> None:
    text = leak_failure_text([leak("module lib, global _REGISTRY", ("list", "[3]"), ("lib.Thing", ""))])
    assert text.splitlines()[-2:] == [
        "  " + hint_line(GROWING_REGISTRY),
        '  to exempt: @pytest.mark.allow_leaks(reason="...")',
    ]


# ---- each family end to end: a real cycle or leak, and its report

# Each function makes one finding of one family, the way the bug
# docs/fixing.md shows for it did.
FAMILIES_LIB = """
import itertools


def create_connection(addresses):
    # socket.create_connection before bpo-31234: the last error kept in a local
    err = None
    for address in addresses:
        try:
            raise ConnectionRefusedError(address)
        except OSError as exc:
            err = exc
    return err is not None


class Client:
    def __init__(self):
        self.error = None

    def call(self):
        try:
            raise ConnectionError("server went away")
        except ConnectionError as exc:
            self.error = exc


class Scheduler:
    # torch's CyclicLR before pytorch#85462: a bound method of its own kept on itself
    def __init__(self):
        self.scale_fn = self._triangular_scale_fn

    def _triangular_scale_fn(self, x):
        return 1.0


class Column:
    def __init__(self, name):
        self.name = name
        self.parent_table = None


class Table:
    # astropy before astropy#2879: each column held its table
    def __init__(self, names):
        self.columns = {}
        for name in names:
            column = Column(name)
            column.parent_table = self
            self.columns[name] = column


def format_nested(items):
    # numpy's arrayprint before numpy#10621: a recursive closure
    def recurser(value, depth):
        if isinstance(value, list):
            return "[" + ", ".join(recurser(v, depth + 1) for v in value) + "]"
        return str(value)

    return recurser(items, 0)


def options(method, **opts):
    # ray's ActorMethod.options before ray#61934: a class made on every call
    class FuncWrapper:
        def remote(self, *args):
            return method(*args, **opts)

    return FuncWrapper()


class Image:
    pass


_IMAGE_REGISTRY = {}
_ids = itertools.count()


def register_image():
    # deepeval before deepeval#2551: a module-level dict of every image, never pruned
    image = Image()
    _IMAGE_REGISTRY[next(_ids)] = image
    return image


class Graph:
    def __init__(self, name):
        self.name = name
        self.next = None


def ring():
    one, two, three = Graph("one"), Graph("two"), Graph("three")
    one.next, two.next, three.next = two, three, one
"""

FAMILIES_TESTS = """
import lib


def test_exception_local():
    assert lib.create_connection(["a", "b"])


def test_exception_on_self():
    lib.Client().call()


def test_bound_method():
    lib.Scheduler()


def test_parent_back_link():
    lib.Table(["a", "b"])


def test_self_capturing_closure():
    assert lib.format_nested([1, [2, 3]]) == "[1, [2, 3]]"


def test_class_per_call():
    lib.options(print).remote


def test_growing_registry():
    lib.register_image()


def test_no_family():
    lib.ring()
"""

EXPECTED = {
    "test_exception_local": EXCEPTION_TRACEBACK,
    "test_exception_on_self": EXCEPTION_TRACEBACK,
    "test_bound_method": BOUND_METHOD,
    "test_parent_back_link": PARENT_BACK_LINK,
    "test_self_capturing_closure": SELF_CAPTURING_CLOSURE,
    "test_class_per_call": PER_CALL,
    "test_growing_registry": GROWING_REGISTRY,
}


def test_each_familys_report_shows_its_hint(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A real cycle or leak of each family fails its test, and its report carries the family's hint line;
    a ring of three (no family) fails without one."""
    pytester.makepyfile(lib=FAMILIES_LIB, test_families=FAMILIES_TESTS)
    result = guarded()
    result.assert_outcomes(passed=8, errors=8)
    sections = teardown_sections(result.stdout.str())
    assert set(sections) == {*EXPECTED, "test_no_family"}, result.stdout.str()
    for name, expected in EXPECTED.items():
        found = [line.strip() for line in sections[name].splitlines() if line.lstrip().startswith("hint:")]
        assert found == [hint_line(expected)], f"{name}:\n{sections[name]}"
    assert "hint:" not in sections["test_no_family"], sections["test_no_family"]


# ---- the docs page


def _slug(heading: str) -> str:
    """The anchor GitHub and myst (and docutils, for these plain headings) give a heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def _sections() -> dict[str, str]:
    text = (ROOT / "docs" / "fixing.md").read_text()
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {_slug(title): body for title, body in zip(parts[1::2], parts[2::2])}


def test_every_hint_links_to_a_section_of_the_docs_page() -> None:
    sections = _sections()
    anchors = [hint.anchor for hint in HINTS]
    assert len(set(anchors)) == len(HINTS) == 6
    missing = [anchor for anchor in anchors if anchor not in sections]
    assert not missing, f"docs/fixing.md has no section for {missing}; it has {sorted(sections)}"
    # Every Hint the module defines is one of HINTS (so this check sees them all).
    defined = {value for value in vars(hints).values() if isinstance(value, Hint)}
    assert defined == set(HINTS)


@pytest.mark.parametrize("hint", HINTS, ids=[hint.family for hint in HINTS])
def test_each_familys_section_shows_a_real_fix_before_and_after(hint: Hint) -> None:
    """A before/after example, and the public fix it comes from."""
    body = _sections()[hint.anchor]
    assert "# before" in body and "# after" in body, body
    assert re.search(r"\(https://github\.com/[\w.-]+/[\w.-]+/(pull|issues)/\d+\)", body), body


def test_the_docs_page_is_in_the_toctree() -> None:
    index = (ROOT / "docs" / "index.md").read_text()
    toctree = index.split("```{toctree}", 1)[1].split("```", 1)[0]
    assert "fixing" in toctree.split()
