"""The HTML report (``--gc-guard-html=PATH``): one self-contained page for people, made from the JSON report's document.

``render(document)`` takes what ``json_report.build`` returns, so the page
shows the same data as ``--gc-guard-report``.  The page: the run's totals and
what failed; then the findings grouped by origin (the project's packages and
each dependency, test-local, the standard library, heap audits), by module,
and by shape -- one block per shape, whatever the number of tests it was
found in, with the labelled path as the terminal prints it, a picture
(``svg.py``), the numbers and every test id.  No external asset and no
network: the style, the arrowhead and a little script (the search box) are
inline.  Every text from the findings is escaped.

Large runs stay quick to open: one picture per shape (not per test), shape
blocks past the first few failing ones closed, test lists collapsed, and
``content-visibility: auto`` so the browser lays out only what is on screen.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from html import escape
from pathlib import PurePosixPath
from typing import Any

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import HARNESS_ORIGIN
from pytest_gcguard.engine.findings import INTERNAL
from pytest_gcguard.engine.findings import STDLIB
from pytest_gcguard.engine.findings import TEST_LOCAL
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import UNLOADED
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.judging.judge import FAILED
from pytest_gcguard.judging.judge import WARNED
from pytest_gcguard.reporting import svg
from pytest_gcguard.reporting.text import HARNESS_MADE
from pytest_gcguard.reporting.text import SAMPLED_NOTE
from pytest_gcguard.reporting.text import UNTRACED_NOTE
from pytest_gcguard.reporting.text import format_cycle_path
from pytest_gcguard.reporting.text import format_leak
from pytest_gcguard.reporting.text import format_sites
from pytest_gcguard.reporting.text import plural


# Statuses in the order the page lists them (docs/report.md, findings[].status).
STATUSES = ("failed", "warned", "known", "allowed", "one-time", "not-judged", "info")
KIND_NAMES = {
    CYCLE: "cycle",
    UNCOLLECTABLE: "uncollectable",
    TEST_LOCAL: "test-local cycle",
    STDLIB: "standard-library cycle",
    INTERNAL: "standard-library C implementation cycle",
    UNLOADED: "cycle of a module unloaded by the test",
    "leak": "leak",
    "audit": "heap-audit cycle",
}
# What fails a test, or would without warn mode: the page shows these first.
GATE = (FAILED, WARNED)
OPEN_SHAPES = 20  # failing (or warned) shape blocks shown open; the rest start closed
FAILED_SHOWN = 10  # shapes listed under "What failed" before the rest are collapsed
OPEN_TESTS = 3  # a test list this long or shorter starts open
TITLE_HOPS = 6  # types named in a shape's one-line title
# Origin groups in page order: the project, its dependencies, then what never fails.
PROJECT, DEPENDENCY, UNKNOWN, LOCAL, HARNESS, LIBRARY, AUDIT = range(7)
# The file in a function's or frame's label: "function f.<locals>.g (matching.py:513)".
_LABEL_FILE = re.compile(r"\(([^()\s:]+):\d+\)$")

# A hint for a finding (the lead's fix hints): given the exemplar finding, a line or None.
HintFor = Callable[[dict[str, Any]], "str | None"]


@dataclass
class Shape:
    """One shape of finding over the whole run: its exemplar, where it belongs, and every test that made it."""

    finding: dict[str, Any]  # the first test's finding (the JSON report's form)
    origin: tuple[int, str]  # (group rank, heading)
    module: str
    tests: list[tuple[str, str]] = field(default_factory=list)  # (test id or audit window, status)
    statuses: Counter[str] = field(default_factory=Counter)
    totals: Counter[str] = field(default_factory=Counter)  # a cycle's count, objects, kept_alive summed
    per_run: list[int] = field(default_factory=list)  # a leak's objects per run, per test

    @property
    def kind(self) -> str:
        return str(self.finding["kind"])

    @property
    def failing(self) -> bool:
        """Whether it failed a test (or warned, in warn mode)."""
        return any(status in self.statuses for status in GATE)

    def add(self, test: str, finding: dict[str, Any]) -> None:
        status = str(finding.get("status", "info"))
        self.tests.append((test, status))
        self.statuses[status] += 1
        if finding["kind"] == "leak":
            self.per_run.append(int(finding.get("per_run", 0)))
        else:
            self.totals.update({key: int(finding.get(key, 0)) for key in ("count", "objects", "kept_alive")})


def render(document: dict[str, Any], *, dependencies: Collection[str] = (), hint: HintFor | None = None) -> str:
    """The page for a JSON report document; ``dependencies``: top-level packages that are not the project's."""
    shapes = collect(document, dependencies)
    body = [
        _header(document),
        _totals(document, shapes),
        _what_failed(shapes),
        _SEARCH,
        _groups(shapes, hint),
        _notes(document),
    ]
    return _PAGE.format(css=_CSS, arrow=_ARROW, body="\n".join(body), script=_SCRIPT)


def collect(document: dict[str, Any], dependencies: Collection[str] = ()) -> list[Shape]:
    """Every finding of the document grouped by shape, in the order first found."""
    shapes: dict[tuple[str, str], Shape] = {}
    modules = Modules.of(document)

    def add(test: str, finding: dict[str, Any], place: tuple[tuple[int, str], str]) -> None:
        key = (str(finding["kind"]), str(finding["shape"]))
        shape = shapes.get(key)
        if shape is None:
            shape = shapes[key] = Shape(finding, *place)
        shape.add(test, finding)

    for test in document["tests"]:
        for finding in test["findings"]:
            add(test["nodeid"], finding, _place(finding, test["nodeid"], modules, dependencies))
    for audit in document.get("audits", ()):
        window = audit["first"] if audit["tests"] == 1 else f"{audit['first']} ... {audit['last']}"
        window = f"during {plural(audit['tests'], 'test')}: {window}"
        for finding in audit["findings"]:
            module = modules.of_finding(finding) or "(builtins only)"
            add(window, finding, ((AUDIT, "heap audits (not failing)"), module))
    return list(shapes.values())


def _place(
    finding: dict[str, Any], nodeid: str, modules: Modules, dependencies: Collection[str]
) -> tuple[tuple[int, str], str]:
    """A finding's origin group and module."""
    kind = finding["kind"]
    # (By origin: the page is made from the JSON report, which names no member's owner.)
    if kind == TEST_LOCAL and finding.get("origin") == HARNESS_ORIGIN:
        # The summary's own line too ("cycles made by the test harness"): not the test's code.
        return (HARNESS, f"test harness ({HARNESS_MADE}; not failing)"), finding.get("origin_name") or "(harness)"
    if kind == TEST_LOCAL:
        return (LOCAL, "test-local (the tests' own code; not failing)"), nodeid.split("::", 1)[0]
    if kind == UNLOADED:
        return (LOCAL, "unloaded by the test (removed from sys.modules; not failing)"), nodeid.split("::", 1)[0]
    module = modules.of_finding(finding)
    if kind == INTERNAL:
        return (LIBRARY, "standard library, C implementation (not failing)"), finding.get("origin_name") or "builtins"
    if kind == STDLIB:
        return (LIBRARY, "standard library"), module or _label_file(finding) or "builtins"
    if module is None:
        where = (UNKNOWN, "code under test, package not known (functions, frames and builtins only)")
        return where, _label_file(finding) or "(no file named)"
    package = module.split(".", 1)[0]
    if package in dependencies:
        return (DEPENDENCY, f"dependency: {package}"), module
    return (PROJECT, f"project: {package}"), module


def packages(document: dict[str, Any]) -> set[str]:
    """The top-level packages the document's findings are in (``render`` sorts them into project and dependencies)."""
    modules = Modules.of(document)
    names = (modules.of_finding(f) for test in document["tests"] for f in test["findings"])
    return {name.split(".", 1)[0] for name in names if name is not None}


def type_module(token: str, known: Collection[str] = ()) -> str | None:
    """The module a hop's type token names (``lib.Graph`` -> ``lib``), or None for builtins, frames, functions.

    A type token is ``module.Qualname``, and nothing in it says where the
    one ends: module names may be capitalised (``PIL.Image.Image``).  A
    ``<locals>`` part and the function before it are dropped, and the last
    part is the class; of what is left, the capitalised trailing parts are
    taken to be enclosing classes (PEP 8: ``lib.mod.Outer.Inner`` ->
    ``lib.mod``), up to one that ends a module the finding names
    (``known``: its ``origin_name``) or a loaded module.
    """
    token = token[len("class:") :] if token.startswith("class:") else token
    if token.startswith(("frame:", "function:")) or "." not in token:
        return None
    parts = token.split(".<locals>", 1)[0].split(".")
    if ".<locals>" in token and len(parts) > 1:
        parts.pop()  # the function the class was made in
    else:
        parts.pop()  # the class itself
    while len(parts) > 1 and parts[-1][:1].isupper() and not _names_a_module(".".join(parts), known):
        parts.pop()  # an enclosing class
    return ".".join(parts) or None


def _names_a_module(name: str, known: Collection[str]) -> bool:
    return name in known or name in sys.modules


@dataclass(frozen=True)
class Modules:
    """Which module a finding is placed in.

    A leak is in its class's module; a cycle in the module its path names
    most often (the first of ties), the tests' own modules and then the
    standard library's counting last: a class defined in a test whose cycle
    runs through the code under test is the code under test's finding (its
    kind says so), and a class made by ``type()`` under ``abc.ABCMeta`` says
    it is from ``abc``.  (``sys.stdlib_module_names`` is 3.10+; on 3.9 the
    standard library's modules count like any.)
    """

    test_stems: frozenset[str]  # test files' names without .py: "test_schema"
    stdlib: frozenset[str]

    @classmethod
    def of(cls, document: dict[str, Any]) -> Modules:
        stems = {PurePosixPath(t["nodeid"].split("::", 1)[0]).stem for t in document["tests"]}
        return cls(frozenset(stems | {"conftest"}), frozenset(getattr(sys, "stdlib_module_names", ())))

    def of_finding(self, finding: dict[str, Any]) -> str | None:
        if finding["kind"] == "leak":
            return type_module(str(finding["type"]))
        known = (str(finding.get("origin_name", "")),)
        modules = [m for m in (type_module(hop["type"], known) for hop in finding["path"]) if m is not None]
        if not modules:
            return None
        counts = Counter(modules)
        return max(dict.fromkeys(modules), key=lambda m: (*self._rank(m), counts[m]))

    def _rank(self, module: str) -> tuple[bool, bool]:
        return module.split(".", 1)[0] not in self.stdlib, module.rsplit(".", 1)[-1] not in self.test_stems


def _label_file(finding: dict[str, Any]) -> str | None:
    """The file a cycle's first function or frame label names (``matching.py``), for a cycle without class."""
    for hop in finding.get("path", ()):
        match = _LABEL_FILE.search(str(hop["label"]))
        if match:
            return match.group(1)
    return None


def _header(document: dict[str, Any]) -> str:
    python = document.get("python", {})
    settings = document.get("settings", {})
    plugin = document.get("plugin", {})
    facts = [
        f"pytest-gcguard {plugin.get('version', '?')}",
        f"pytest {document.get('pytest', '?')}",
        f"{python.get('implementation', 'Python')} {python.get('version', '?')} ({python.get('gc_model', '?')} gc)",
        f"mode {settings.get('mode', '?')}",
        f"leaks {'on' if settings.get('leaks', True) else 'off'}",
    ]
    if settings.get("trace"):
        facts.append(f"traced ({settings['trace']} frames)")
    if settings.get("baseline"):
        facts.append(f"baseline {settings['baseline']}")
    return f'<header><h1>gc-guard report</h1><p class="meta">{escape(" · ".join(facts))}</p></header>'


def _status_badges(statuses: Counter[str] | dict[str, int]) -> str:
    ordered = sorted(statuses.items(), key=lambda item: (_rank(item[0]), item[0]))
    return " ".join(f'<span class="b {escape(_css_status(s))}">{n} {escape(s)}</span>' for s, n in ordered)


def _rank(status: str) -> int:
    return STATUSES.index(status) if status in STATUSES else len(STATUSES)


def _css_status(status: str) -> str:
    return f"s-{status}" if status in STATUSES else "s-other"


def _totals(document: dict[str, Any], shapes: list[Shape]) -> str:
    tests = document["tests"]
    statuses: Counter[str] = Counter(f.get("status", "info") for t in tests for f in t["findings"])
    failed = sum(1 for t in tests if any(f.get("status") == FAILED for f in t["findings"]))
    warned = sum(1 for t in tests if any(f.get("status") == WARNED for f in t["findings"]))
    cards = [
        (len(tests), "tests checked", ""),
        (failed, "tests failed by gc-guard", " bad" if failed else " good"),
        *([(warned, "tests warned by gc-guard (warn mode)", " warn")] if warned else []),
        (sum(1 for t in tests if t["findings"]), "tests with findings", ""),
        (sum(1 for s in shapes if s.origin[0] != AUDIT), _shapes_label(shapes), ""),
        (sum(statuses.values()), "findings (test \u00d7 shape)", ""),
    ]
    html = "".join(f'<div class="card{cls}"><b>{n}</b><span>{escape(what)}</span></div>' for n, what, cls in cards)
    by_status = _status_badges(statuses) or "none"
    return f'<section id="totals"><div class="cards">{html}</div><p>Findings by status: {by_status}</p></section>'


def _shapes_label(shapes: list[Shape]) -> str:
    audited = sum(1 for s in shapes if s.origin[0] == AUDIT)
    return f"shapes (+{audited} of heap audits)" if audited else "shapes"


def _title(finding: dict[str, Any]) -> str:
    """A shape in one line: its types (``Graph \u2192 Graph \u21ba``), or a leak's class and root."""
    if finding["kind"] == "leak":
        chain = finding.get("chain")
        root = chain["root"] if chain else "?"
        short = str(finding["type"]).rsplit(".", 1)[-1]
        return f"{short} +{finding.get('per_run', 0)} per run, kept alive by {root}"
    names = [_short_type(hop["type"]) for hop in finding["path"]]
    more = f" \u2192 \u2026 {len(names) - TITLE_HOPS} more" if len(names) > TITLE_HOPS else ""
    closed = " \u21ba" if finding.get("traced", True) and not finding.get("sampled") else " (open)"
    return " \u2192 ".join(names[:TITLE_HOPS]) + more + closed


def _short_type(token: str) -> str:
    prefix, _, rest = token.rpartition(":")
    name = rest.rsplit(".", 1)[-1]
    return f"{prefix} {name}" if prefix else name


def _what_failed(shapes: list[Shape]) -> str:
    """The shapes that failed tests (or warned, in warn mode), most tests first, and every such test."""
    failing = sorted(
        ((i, s) for i, s in enumerate(shapes) if s.failing),
        key=lambda item: (-sum(item[1].statuses[g] for g in GATE), item[0]),
    )
    if not failing:
        return '<section id="failed"><h2>What failed</h2><p class="good">Nothing failed the gate.</p></section>'
    items = [
        f'<li><a href="#s{i}">{escape(_title(s.finding))}</a> <span class="k">{escape(KIND_NAMES.get(s.kind, s.kind))}'
        f" in {escape(s.module)}</span> \u2014 "
        + ", ".join(f"{plural(s.statuses[g], 'test')} {g}" for g in GATE if s.statuses[g])
        + "</li>"
        for i, s in failing
    ]
    listed = "".join(items[:FAILED_SHOWN])
    if len(items) > FAILED_SHOWN:
        rest = "".join(items[FAILED_SHOWN:])
        more = plural(len(items) - FAILED_SHOWN, "more shape")
        listed += f'<li class="more"><details><summary>{more}</summary><ul>{rest}</ul></details></li>'
    tests = sorted({(t, status) for _, s in failing for t, status in s.tests if status in GATE})
    verbs = [g for g in GATE if any(status == g for _, status in tests)]
    verb = " or ".join(verbs)
    return (
        f'<section id="failed"><h2>What {verb}</h2><p>{plural(len(failing), "shape")} {verb} '
        f"{plural(len({t for t, _ in tests}), 'test')}:</p><ul>{listed}</ul>"
        f"{_test_list(list(tests), verb.replace(' or ', '/') + ' test', opened=False)}</section>"
    )


def _test_list(tests: list[tuple[str, str]], noun: str = "test", *, opened: bool | None = None) -> str:
    """Every test id, in a <details> (open when short); each one's status when they differ."""
    mixed = len({status for _, status in tests}) > 1
    items = "".join(
        f"<li>{escape(t)}" + (f' <span class="b {_css_status(s)}">{escape(s)}</span>' if mixed else "") + "</li>"
        for t, s in tests
    )
    is_open = len(tests) <= OPEN_TESTS if opened is None else opened
    return (
        f'<details class="tests"{" open" if is_open else ""}><summary>{plural(len(tests), noun)}</summary>'
        f"<ul>{items}</ul></details>"
    )


def _groups(shapes: list[Shape], hint: HintFor | None) -> str:
    """Origin sections, each with its modules, each with its shape blocks: failing first, then the widespread."""
    index = {id(s): i for i, s in enumerate(shapes)}
    origins: dict[tuple[int, str], dict[str, list[Shape]]] = {}
    for shape in shapes:
        origins.setdefault(shape.origin, {}).setdefault(shape.module, []).append(shape)
    opened = 0
    parts = ['<main id="groups">']
    for origin in sorted(origins, key=lambda o: _group_order(o, origins[o])):
        modules = origins[origin]
        count = sum(len(group) for group in modules.values())
        parts.append(f'<section class="origin"><h2>{escape(origin[1])} <small>{plural(count, "shape")}</small></h2>')
        for module in sorted(modules, key=lambda m: _module_order(m, modules[m])):
            group = sorted(modules[module], key=_shape_order)
            parts.append(f'<section class="module"><h3>{escape(module)}</h3>')
            for shape in group:
                is_open = shape.failing and opened < OPEN_SHAPES
                opened += is_open
                text = hint(shape.finding) if hint is not None else None
                parts.append(_shape_block(shape, index[id(shape)], hint=text, opened=is_open))
            parts.append("</section>")
        parts.append("</section>")
    if not shapes:
        parts.append('<p class="good">No findings.</p>')
    parts.append("</main>")
    return "\n".join(parts)


def _group_order(origin: tuple[int, str], modules: dict[str, list[Shape]]) -> tuple[int, int, str]:
    """Origins in rank order (the project, dependencies, ...), each rank's most failing (or warned) first."""
    return (origin[0], -sum(s.statuses[g] for group in modules.values() for s in group for g in GATE), origin[1])


def _module_order(module: str, shapes: list[Shape]) -> tuple[int, str]:
    """The modules with the most failing (or warned) tests first."""
    return (-sum(s.statuses[g] for s in shapes for g in GATE), module)


def _shape_order(shape: Shape) -> tuple[bool, int, str]:
    return (not shape.failing, -len(shape.tests), str(shape.finding["shape"]))


def _shape_block(shape: Shape, index: int, *, hint: str | None = None, opened: bool = False) -> str:
    """One shape: a one-line summary (click to open), then its hint, path, picture, numbers and tests."""
    finding = shape.finding
    kind = KIND_NAMES.get(shape.kind, shape.kind)
    types = [finding["type"]] if shape.kind == "leak" else [hop["type"] for hop in finding["path"]]
    search = " ".join([shape.module, shape.origin[1], kind, *types]).lower()
    summary = (
        f'<summary><span class="kind">{escape(kind)}</span> {_status_badges(shape.statuses)} '
        f'<span class="n">{plural(len({t for t, _ in shape.tests}), "test")}</span> '
        f'<span class="title">{escape(_title(finding))}</span></summary>'
    )
    hint_html = f'<p class="hint">{escape(hint)}</p>' if hint else ""
    text = "\n".join(_text(finding))
    return (
        f'<details class="shape" id="s{index}" data-k="{escape(search)}"{" open" if opened else ""}>{summary}'
        f'<div class="body">{hint_html}<pre class="path">{escape(text)}</pre>'
        f'<div class="picture">{picture(finding)}</div>'
        f'<p class="numbers">{escape(_numbers(shape))}</p>{_test_list(shape.tests)}</div></details>'
    )


def _hops(data: Iterable[dict[str, Any]]) -> tuple[Hop, ...]:
    return tuple(Hop.from_dict(hop) for hop in data)


def _leak(finding: dict[str, Any]) -> Leak:
    chain = finding.get("chain")
    allocation = finding.get("allocation") or {}
    return Leak(
        class_name=str(finding["type"]),
        counts=tuple(int(n) for n in finding["counts"]),
        chain=None if chain is None else Chain.from_dict(chain),
        site=str(allocation.get("site", "")),
        site_share=int(allocation.get("share", 0)),
        site_total=int(allocation.get("of", 0)),
    )


def _text(finding: dict[str, Any]) -> list[str]:
    """The labelled path (or a leak's lines) as the terminal prints them, and the allocation sites."""
    if finding["kind"] == "leak":
        lines = [line.strip() for line in format_leak(_leak(finding))]
        if finding.get("kept_by"):  # folded into another kind's leak in the text (engine/keepers.py)
            lines.append(f"kept by the leaked {finding['kept_by']} objects: one leak, reported under that kind")
        return [lines[0].replace("gc-guard: test leaks", "leaks", 1), *lines[1:]]
    cycle = Cycle.from_dict(finding)
    return [format_cycle_path(cycle), *format_sites(cycle.path)]


def picture(finding: dict[str, Any]) -> str:
    """The SVG of a finding: a ring for a cycle, a column for a leak's chain or an open path."""
    if finding["kind"] == "leak":
        chain = finding.get("chain")
        if chain is None:
            return '<p class="k">(no chain found from a root to the leaked objects)</p>'
        return svg.chain(str(chain["root"]), _hops(chain["hops"]), bool(chain.get("complete", True)))
    path = _hops(finding["path"])
    if not path:
        return ""
    if not finding.get("traced", True):
        note = "sample ends here" if finding.get("sampled") else "not visible to gc"
        return svg.open_chain(path, note)
    return svg.ring(path)


def _numbers(shape: Shape) -> str:
    finding = shape.finding
    if shape.kind == "leak":
        counts = ", ".join(str(n) for n in finding["counts"])
        deltas = ", ".join(f"+{d}" for d in finding["deltas"])
        low, high = min(shape.per_run), max(shape.per_run)
        per_run = f"+{low}" if low == high else f"+{low} to +{high} (over the tests)"
        return (
            f"Live count after the first run and each re-run: {counts} (deltas {deltas}); "
            f"{per_run} per run (the counts are the first test's)."
        )
    totals = shape.totals
    parts = [f"{plural(totals['count'], 'cycle')} of this shape, {plural(totals['objects'], 'object')} in them"]
    if totals["kept_alive"]:
        parts.append(f"+{plural(totals['kept_alive'], 'object')} kept alive by them (hangers-on)")
    if not finding.get("traced", True):
        parts.append(SAMPLED_NOTE if finding.get("sampled") else UNTRACED_NOTE)
    where = "over all its tests" if len(shape.tests) > 1 else "in its test"
    return "; ".join(parts) + f" ({where})."


def _notes(document: dict[str, Any]) -> str:
    """Tests gc-guard has more to say about: unexplained garbage, unconfirmed leaks, finalizer warnings."""
    lines = []
    for test in document["tests"]:
        nodeid = test["nodeid"]
        if test.get("error"):
            lines.append(f"{nodeid}: could not explain the garbage: {test['error']}")
        if test.get("note"):
            lines.append(f"{nodeid}: {test['note']}")
        for text in test.get("finalizer_warnings", ()):
            lines.append(f"{nodeid}: a finalizer's warning made an error: {text}")
        if test.get("unsaved"):
            lines.append(f"{nodeid}: {plural(test['unsaved'], 'more object')} in cycles freed without being analysed")
    lines += [
        f"heap audit of {audit['first']} ... {audit['last']}: {audit['error']}"
        for audit in document.get("audits", ())
        if audit.get("error")
    ]
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    summary = f"<summary>{plural(len(lines), 'note')}</summary>"
    return f'<section id="notes"><h2>Notes</h2><details>{summary}<ul>{items}</ul></details></section>'


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gc-guard report</title>
<style>{css}</style>
</head>
<body>
{arrow}
{body}
<script>{script}</script>
</body>
</html>
"""

_ARROW = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    f'<marker id="{svg.ARROW}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
    'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#52525b"/></marker></defs></svg>'
)

_SEARCH = (
    '<div id="search"><input id="q" type="search" placeholder="Filter by test id, type or module" '
    'aria-label="Filter by test id, type or module"> <span id="shown"></span></div>'
)

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px 40px;color:#18181b}
h1{font-size:22px;margin:18px 0 2px}
h2{font-size:18px;margin:22px 0 8px}
h3{font-size:15px;margin:14px 0 6px;font-family:monospace}
h2 small{font-weight:normal;color:#71717a;font-size:13px}
.meta,.k{color:#71717a}
.good{color:#15803d}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #e4e4e7;border-radius:8px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:24px}
.card.bad b{color:#b91c1c}
.card.good b{color:#15803d}
.card.warn b{color:#c2410c}
.card span{color:#52525b;font-size:12px}
.b{display:inline-block;border-radius:9px;padding:0 7px;font-size:12px;background:#e4e4e7;color:#27272a}
.s-failed{background:#fee2e2;color:#991b1b}
.s-warned{background:#ffedd5;color:#9a3412}
.s-known{background:#e0e7ff;color:#3730a3}
.s-allowed{background:#dcfce7;color:#166534}
.s-info{background:#f4f4f5;color:#52525b}
#search{position:sticky;top:0;background:#fff;padding:8px 0;z-index:1;border-bottom:1px solid #e4e4e7}
#q{width:420px;max-width:70%;padding:5px 8px;font-size:14px}
#shown{color:#71717a}
.origin{border-top:2px solid #d4d4d8;margin-top:14px}
.module{margin-left:8px}
.shape{border:1px solid #e4e4e7;border-radius:6px;margin:6px 0;content-visibility:auto;contain-intrinsic-size:auto 40px}
.shape>summary{cursor:pointer;padding:6px 8px;list-style-position:inside}
.shape .kind{font-size:12px;color:#52525b;text-transform:uppercase;letter-spacing:.03em}
.shape .n{color:#52525b}
.shape .title{font-family:monospace}
.body{padding:0 12px 10px}
.hint{background:#fefce8;border-left:3px solid #ca8a04;padding:4px 8px}
pre.path{white-space:pre-wrap;word-break:break-word;background:#f8fafc;padding:8px;border-radius:4px;margin:6px 0}
.picture{overflow-x:auto}
.pic{max-width:100%;height:auto}
.pic rect{fill:#fff;stroke:#71717a}
.pic .root rect{fill:#fef3c7;stroke:#b45309}
.pic .more rect{fill:#f4f4f5;stroke-dasharray:4 3}
.pic .node text{font:11px monospace;text-anchor:middle;fill:#18181b}
.pic .node text.t{fill:#71717a;font-size:10px}
.pic .edge{fill:none;stroke:#52525b;stroke-width:1.3}
.pic .dashed{stroke-dasharray:5 4}
.pic text.e{font:11px monospace;fill:#1d4ed8;paint-order:stroke;stroke:#fff;stroke-width:3px}
.numbers{color:#3f3f46}
details.tests>summary{cursor:pointer;color:#3f3f46}
details.tests ul{font-family:monospace;font-size:12.5px;margin:4px 0;max-height:22em;overflow:auto}
[hidden]{display:none!important}
"""

# The search box: a shape stays shown when its types, module or kind match,
# or one of its test ids does (then only the matching ids are listed).
_SCRIPT = """
(function () {
  var q = document.getElementById('q'), shown = document.getElementById('shown'), timer = null;
  var shapes = Array.prototype.slice.call(document.querySelectorAll('#groups .shape'));
  function filter() {
    var s = q.value.trim().toLowerCase(), visible = 0;
    shapes.forEach(function (shape) {
      var own = !s || shape.getAttribute('data-k').indexOf(s) >= 0, any = false;
      shape.querySelectorAll('.tests li').forEach(function (li) {
        var hit = own || li.textContent.toLowerCase().indexOf(s) >= 0;
        li.hidden = !hit;
        any = any || hit;
      });
      shape.hidden = !(own || any);
      if (s && !own && any) { shape.open = true; shape.querySelector('details.tests').open = true; }
      if (!shape.hidden) { visible++; }
    });
    document.querySelectorAll('#groups section').forEach(function (sec) {
      sec.hidden = !sec.querySelector('.shape:not([hidden])');
    });
    shown.textContent = s ? visible + ' of ' + shapes.length + ' shapes shown' : shapes.length + ' shapes';
  }
  q.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(filter, 150); });
  shown.textContent = shapes.length + ' shapes';
})();
"""
