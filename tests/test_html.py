"""The HTML report (--gc-guard-html): structure, pictures, escaping, self-containment, the option, a real run."""

from __future__ import annotations

import dataclasses
import re
import shutil
import struct
import subprocess
import sys
import types
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_gcguard.engine.findings import CYCLE
from pytest_gcguard.engine.findings import STDLIB
from pytest_gcguard.engine.findings import TEST_LOCAL
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.reporting import html
from pytest_gcguard.reporting import svg
from pytest_gcguard.reporting.json_report import build
from pytest_gcguard.reporting.summary import make_payload
from tests.inner import GRAPH_CLASS


# ---- documents built from hand-made payloads, as the reporter builds them

# HTML's void elements (no end tag); SVG's self-closed ones (<rect .../>) arrive as startendtag.
VOID = {"meta", "input", "br", "img", "hr", "link"}


def ring(names: list[str], edge: str = ".next", module: str = "lib.Graph", *, traced: bool = True) -> Cycle:
    path = tuple(Hop(f"Graph({name!r})", module, edge) for name in names)
    return Cycle(CYCLE, path, count=1, objects=len(names), kept_alive=2, traced=traced)


def leak() -> Leak:
    hops = (Hop("list (len=4)", "list", "[3]"), Hop("<Entry>", "lib.Entry", ""))
    return Leak("lib.Entry", (1, 2, 3, 4), Chain("module lib, global REGISTRY", hops))


def document(tests: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """The JSON report's document for these tests, as the reporter builds it."""
    return build(tests, plugin_version="0.0", pytest_version="9", settings={"mode": "fail"})


THREE = ring(["one", "two", "three"])
LOCAL = Cycle(TEST_LOCAL, (Hop("<ExceptionInfo>", "_pytest._code.code.ExceptionInfo", "._excinfo"),), 1, 1, 0)
STD = Cycle(
    STDLIB, (Hop("<Logger>", "logging.Logger", ".manager"), Hop("<Manager>", "logging.Manager", ".root")), 1, 2, 0
)
DEP = Cycle(CYCLE, (Hop("<ndarray>", "numpy.ndarray", ".base"),), 1, 1, 0)


def run_document() -> dict[str, Any]:
    """Two tests fail on one 3-ring, one on a leak, one on a dependency's cycle; allowed, test-local, stdlib, clean."""
    return document(
        [
            ("tests/test_a.py::test_ring", "error", make_payload([(THREE, "failed")])),
            ("tests/test_a.py::test_ring_again", "error", make_payload([(THREE, "failed")])),
            ("tests/test_a.py::test_ring_allowed", "passed", make_payload([(THREE, "allowed")])),
            ("tests/test_b.py::test_leak", "error", make_payload([], leaks=[(leak(), "failed")], reruns=3)),
            ("tests/test_b.py::test_numpy", "error", make_payload([(DEP, "failed")])),
            ("tests/test_b.py::test_local", "passed", make_payload([(LOCAL, "info")])),
            ("tests/test_b.py::test_logging", "passed", make_payload([(STD, "info")], note="a note")),
            ("tests/test_b.py::test_clean", "passed", make_payload([])),
        ]
    )


FAILING = ["tests/test_a.py::test_ring", "tests/test_a.py::test_ring_again", "tests/test_b.py::test_leak"]


class Page(HTMLParser):
    """The page parsed: every element checked closed in order, its text, its ids, shape blocks and their pictures."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.ids: list[str] = []
        self.urls: list[str] = []
        self.tags: Counter[str] = Counter()
        self.shapes: dict[str, dict[str, Any]] = {}  # id -> {"nodes": n, "svgs": n, "text": str, "search": str}
        self.headings: list[str] = []
        self.feed(text)
        self.close()
        assert self.stack == [], f"unclosed elements: {[tag for tag, _ in self.stack]}"

    def _shape(self) -> dict[str, Any] | None:
        for tag, attrs in reversed(self.stack):
            if tag == "details" and "shape" in attrs.get("class", "").split():
                return self.shapes[attrs["id"]]
        return None

    def _element(self, tag: str, attrs: dict[str, str]) -> None:
        self.tags[tag] += 1
        if "id" in attrs:
            self.ids.append(attrs["id"])
        self.urls += [attrs[key] for key in ("src", "href", "xlink:href", "action") if key in attrs]
        if tag == "details" and "shape" in attrs.get("class", "").split():
            self.shapes[attrs["id"]] = {"nodes": 0, "svgs": 0, "text": "", "search": attrs["data-k"]}
        shape = self._shape()
        if shape is not None and tag == "g" and "node" in attrs.get("class", "").split():
            shape["nodes"] += 1
        if shape is not None and tag == "svg":
            shape["svgs"] += 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag not in VOID:
            self.stack.append((tag, values))
        self._element(tag, values)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, {k: v or "" for k, v in attrs})

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        opened, _ = self.stack.pop()
        assert opened == tag, f"</{tag}> closes <{opened}>"

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        shape = self._shape()
        if shape is not None:
            shape["text"] += data
        if self.stack and self.stack[-1][0] in ("h2", "h3"):
            self.headings.append(data.strip())

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def test_the_page_holds_totals_groups_shapes_pictures_and_every_failing_test() -> None:
    page = Page(html.render(run_document(), dependencies={"numpy"}))
    assert page.tags["html"] == page.tags["body"] == 1 and page.tags["script"] == 1
    assert len(page.ids) == len(set(page.ids)), "ids are unique"
    text = page.all_text
    for nodeid in FAILING:
        assert nodeid in text
    assert "tests/test_b.py::test_numpy" in text
    # The totals: 8 tests checked, 4 failed by gc-guard, findings by status.
    assert re.search(r"8\s*tests checked", text) and re.search(r"4\s*tests failed by gc-guard", text)
    assert "4 failed" in text and "1 allowed" in text and "2 info" in text
    # Origins, then modules: the project's package, the dependency, test-local, the standard library.
    origins = [h for h in page.headings if h.startswith(("project", "dependency", "test-local", "standard"))]
    # (The standard library's cycles fail as --gc-guard-fail-on says: issue 14.)
    assert origins == ["project: lib", "dependency: numpy", "test-local (the tests' own code; not failing)",
                       "standard library"]  # fmt: skip
    assert {"lib", "numpy", "tests/test_b.py", "logging"} <= set(page.headings)
    # One block per shape (the ring of three once, for its three tests), each with one picture.
    assert len(page.shapes) == 5
    assert all(shape["svgs"] == 1 for shape in page.shapes.values())
    (three,) = [s for s in page.shapes.values() if "Graph('three')" in s["text"]]
    assert three["nodes"] == 3
    assert "Graph('one') --.next--> Graph('two') --.next--> Graph('three') --.next--> Graph('one')" in three["text"]
    assert "2 failed" in three["text"] and "1 allowed" in three["text"] and "3 tests" in three["text"]
    assert "tests/test_a.py::test_ring_allowed" in three["text"]
    assert "+6 objects kept alive" in three["text"]  # hangers-on, over the three tests
    (chain,) = [s for s in page.shapes.values() if "REGISTRY" in s["text"]]
    assert chain["nodes"] == 3  # the root, the list, the leaked object
    assert "1, 2, 3, 4" in chain["text"] and "+1, +1, +1" in chain["text"]
    assert "list (len=4) --[3]--> <Entry>" in chain["text"]
    assert "lib.graph" in three["search"] and "lib" in chain["search"]
    assert "tests/test_b.py::test_logging: a note" in text


def test_the_page_fails_the_structure_check_when_an_element_is_left_open() -> None:
    """The parser's check can fail."""
    with pytest.raises(AssertionError, match="closes"):
        Page(html.render(run_document()).replace("</summary>", "", 1))


HOSTILE = '<script>alert("x")</script>'


def test_hostile_reprs_test_ids_and_edges_show_as_text() -> None:
    evil = Cycle(CYCLE, (Hop(HOSTILE, 'ev"il.<marquee>Type', f"['{HOSTILE}']"), Hop("ok", "lib.X", ".a")), 1, 2, 0)
    nodeid = f"test_x.py::test_x[{HOSTILE}]"
    text = html.render(document([(nodeid, "error", make_payload([(evil, "failed")]))]), hint=lambda f: HOSTILE)
    page = Page(text)
    assert page.tags["script"] == 1, "only the page's own script"
    assert page.tags["marquee"] == 0
    assert HOSTILE in page.all_text and nodeid in page.all_text
    assert "<script>alert" not in text


def test_the_page_is_self_contained() -> None:
    text = html.render(run_document())
    page = Page(text)
    assert page.urls, "the 'what failed' links are seen"
    assert all(url.startswith("#") for url in page.urls), page.urls
    assert "http" not in text  # no URL at all: no asset, no namespace, no link
    assert page.tags["link"] == page.tags["img"] == page.tags["iframe"] == 0


def test_a_hint_has_a_place_in_each_shape_block() -> None:
    hints = {"leak": "bound the registry"}
    page = Page(html.render(run_document(), hint=lambda finding: hints.get(finding["kind"])))
    (with_hint,) = [s for s in page.shapes.values() if "bound the registry" in s["text"]]
    assert "REGISTRY" in with_hint["text"]


@pytest.mark.parametrize(
    ("names", "traced", "nodes"),
    [
        (["self"], True, 1),  # a self-loop
        (["a", "b"], True, 2),
        ([str(i) for i in range(svg.RING_MAX)], True, svg.RING_MAX),  # the largest ring
        ([str(i) for i in range(svg.RING_MAX + 1)], True, svg.RING_MAX + 1),  # a column with a back arrow
        ([str(i) for i in range(40)], True, svg.COLUMN_MAX),  # elided: first, "N more", last
        (["a", "b", "c"], False, 3),  # untraced: an open chain, a dashed arrow back
    ],
)
def test_every_length_of_cycle_gets_a_picture(names: list[str], traced: bool, nodes: int) -> None:
    cycle = ring(names, traced=traced)
    page = Page(html.render(document([("t.py::t", "error", make_payload([(cycle, "failed")]))])))
    (shape,) = page.shapes.values()
    assert shape["nodes"] == nodes
    if len(names) > svg.COLUMN_MAX:
        assert f"\u2026 {len(names) - svg.COLUMN_MAX + 1} more" in shape["text"]
    picture = html.picture(
        document([("t.py::t", "error", make_payload([(cycle, "failed")]))])["tests"][0]["findings"][0]
    )
    assert ("dashed" in picture) == (not traced)
    # Every coordinate is a number.
    assert not re.search(r"(nan|inf)", picture)


@pytest.mark.parametrize(
    ("token", "module"),
    [
        ("lib.Graph", "lib"),
        ("pkg.mod.Outer.Inner", "pkg.mod"),
        ("numpy.ndarray", "numpy"),
        ("class:pkg.mod.Meta", "pkg.mod"),
        ("tests.test_x.test_f.<locals>.Foo", "tests.test_x"),
        ("frame:call", None),
        ("function:outer.<locals>.inner", None),
        ("list", None),
    ],
)
def test_a_type_token_names_its_module(token: str, module: str | None) -> None:
    assert html.type_module(token) == module


def test_a_capitalised_module_is_not_taken_for_a_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Lib.Image.Image``: the module the finding names, or a loaded one, ends the module part (PIL's layout)."""
    assert html.type_module("Caps.Image.Image") == "Caps"  # nothing tells: the capitalised parts are classes
    assert html.type_module("Caps.Image.Image", ("Caps.Image",)) == "Caps.Image"
    assert html.type_module("class:Caps.Image.Image.Inner", ("Caps.Image",)) == "Caps.Image"
    monkeypatch.setitem(sys.modules, "Caps.Image", types.ModuleType("Caps.Image"))
    assert html.type_module("Caps.Image.Image") == "Caps.Image"
    assert html.type_module("Caps.Image.make.<locals>.C") == "Caps.Image"


MOCK = Cycle(
    TEST_LOCAL,
    (Hop("<Mock id='1'>", "unittest.mock.Mock", "._mock_children"), Hop("dict (len=1)", "dict", "['child']")),
    1,
    2,
    0,
    origin="harness",
    origin_name="unittest.mock",
)


def test_cycles_the_harness_made_are_filed_apart_from_the_test_s_own() -> None:
    """As the summary's own line does: a test-local cycle of origin harness is not "the tests' own code"."""
    local = dataclasses.replace(LOCAL, origin="test", origin_name="test_b")
    page = Page(
        html.render(
            document(
                [
                    ("tests/test_b.py::test_local", "passed", make_payload([(local, "info")])),
                    ("tests/test_b.py::test_mock", "passed", make_payload([(MOCK, "info")])),
                ]
            )
        )
    )
    harness = "test harness (pytest/hypothesis/unittest.mock; not failing)"
    own = "test-local (the tests' own code; not failing)"
    assert page.headings[page.headings.index(own) :] == [own, "tests/test_b.py", harness, "unittest.mock"]
    text = page.all_text
    assert text.index(own) < text.index("<ExceptionInfo>") < text.index(harness) < text.index("<Mock id='1'>")
    assert text.count("<Mock id='1'>") == text.count("<Mock id='1'>", text.index(harness))  # none under the test's


def test_five_thousand_findings_make_one_picture_per_shape() -> None:
    """300 shapes over 5,000 tests: 300 pictures, each test id listed once, the failing ones once more."""
    shapes = [ring([f"n{i}", f"m{i}", f"o{i}"][: 1 + i % 3], module=f"pkg{i % 7}.mod{i % 13}.T{i}") for i in range(300)]
    tests = [
        (f"tests/test_{i % 50}.py::test_{i}", "error", make_payload([(shapes[i % 300], "failed")])) for i in range(5000)
    ]
    text = html.render(document(tests))
    page = Page(text)
    assert len(page.shapes) == 300
    assert page.tags["svg"] == 300 + 1  # and the page's arrowhead
    body = page.all_text
    assert body.count("tests/test_0.py::test_0") == 2 and body.count("tests/test_49.py::test_4999") == 2
    # Shapes past the first OPEN_SHAPES start closed (the browser lays out what is open, or on screen).
    opened = [m for m in re.findall(r'<details class="shape"[^>]*>', text) if " open" in m]
    assert len(opened) == html.OPEN_SHAPES
    # "What failed" lists the first shapes, then the rest collapsed.
    assert f"{300 - html.FAILED_SHOWN} more shapes" in body


def test_warn_mode_shows_what_warned() -> None:
    """In warn mode nothing fails; the page leads with what warned, and opens those blocks."""
    text = html.render(document([("t.py::t", "passed", make_payload([(THREE, "warned")]))]))
    page = Page(text)
    assert "What warned" in page.headings
    assert re.search(r"0\s*tests failed by gc-guard", page.all_text)
    assert re.search(r"1\s*tests warned by gc-guard", page.all_text)
    assert re.search(r'<details class="shape" id="s0"[^>]* open>', text)


def test_a_closure_cycle_is_grouped_by_the_file_its_function_names() -> None:
    """Functions and frames carry no module, only their file: the page groups them by it."""
    path = (
        Hop("function outer.<locals>.inner (matching.py:513)", "function:outer.<locals>.inner", ".__closure__"),
        Hop("tuple (len=1)", "tuple", "[0]"),
        Hop("cell", "cell", ".cell_contents"),
    )
    closure = Cycle(CYCLE, path, 1, 3, 0)
    page = Page(html.render(document([("t.py::t", "error", make_payload([(closure, "failed")]))])))
    assert "matching.py" in page.headings
    assert any(h.startswith("code under test, package not known") for h in page.headings)


@pytest.mark.parametrize(
    ("types", "module"),
    [
        (["tests.test_schema.test_load.<locals>.Sch", "dict", "marshmallow.fields.String"], "marshmallow.fields"),
        pytest.param(
            ["abc.GeneratedSchema", "dict", "marshmallow.fields.String"],
            "marshmallow.fields",
            marks=pytest.mark.skipif(sys.version_info < (3, 10), reason="sys.stdlib_module_names is 3.10+"),
        ),
        (["lib.A", "lib.B", "other.C"], "lib"),
    ],
)
def test_a_cycle_is_placed_in_the_module_of_the_code_under_test(types: list[str], module: str) -> None:
    """The tests' own modules, then the standard library's, count last (as in marshmallow's suite)."""
    path = tuple(Hop(f"<{t}>", t, ".x") for t in types)
    tests = [("tests/test_schema.py::test_load", "error", make_payload([(Cycle(CYCLE, path, 1, 3, 0), "failed")]))]
    (shape,) = html.collect(document(tests))
    assert shape.module == module


def test_a_chain_cut_short_starts_with_why() -> None:
    hops = (Hop("list (len=4)", "list", "[3]"), Hop("<Entry>", "lib.Entry", ""))
    cut = Leak("lib.Entry", (1, 2, 3, 4), Chain("chain cut at depth 12", hops, complete=False))
    picture = html.picture(
        document([("t.py::t", "error", make_payload([], leaks=[(cut, "failed")]))])["tests"][0]["findings"][0]
    )
    assert '<g class="node more"><title>\u2026 chain cut at depth 12</title>' in picture
    assert 'class="node root"' not in picture


# ---- the option, end to end

LIB = (
    GRAPH_CLASS
    + """

class Entry:
    pass


REGISTRY = []


def ring(name):
    one, two, three = Graph(name + "1"), Graph(name + "2"), Graph(name + "3")
    one.next, two.next, three.next = two, three, one


def leak():
    REGISTRY.append(Entry())
"""
)

SUITE = """
import lib

def test_ring():
    lib.ring("r")

def test_leak():
    lib.leak()

def test_clean():
    pass
"""


def test_a_real_run_writes_the_html_report(pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]) -> None:
    pytester.makepyfile(lib=LIB, test_suite=SUITE)
    result = guarded("--gc-guard-html=report.html")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines([f"HTML report written to {pytester.path / 'report.html'}"])
    page = Page((pytester.path / "report.html").read_text(encoding="utf-8"))
    assert "test_suite.py::test_ring" in page.all_text and "test_suite.py::test_leak" in page.all_text
    (cycle,) = [s for s in page.shapes.values() if "Graph('r1')" in s["text"]]
    assert cycle["nodes"] == 3
    assert "Graph('r1') --.next--> Graph('r2') --.next--> Graph('r3') --.next--> Graph('r1')" in cycle["text"]
    (chain,) = [s for s in page.shapes.values() if "REGISTRY" in s["text"]]
    assert "module lib, global REGISTRY" in chain["text"]
    assert "hint: a registry or cache that only grows" in chain["text"]  # (reporting/hints.py)
    assert re.search(r"3\s*tests checked", page.all_text) and re.search(r"2\s*tests failed by gc-guard", page.all_text)
    assert "project: lib" in page.headings


def test_an_html_report_that_cannot_be_written_at_the_end_fails_the_run(
    pytester: pytest.Pytester, guarded: Callable[..., pytest.RunResult]
) -> None:
    """A test removes the report's directory: the summary says so, the JSON report is still written, exit 1."""
    (pytester.path / "out").mkdir()
    pytester.makepyfile(test_rm="import shutil\n\ndef test_rm():\n    shutil.rmtree('out')\n")
    result = guarded("--gc-guard-html=out/report.html", "--gc-guard-report=report.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["report written to *report.json", "ERROR: could not write the HTML report to */out/report.html: *"]
    )


@pytest.mark.parametrize(
    ("args", "ini", "error"),
    [
        (
            ["--gc-guard-report=same.json"],
            "gc_guard_html = same.json",
            "--gc-guard-html and --gc-guard-report name the same file (*same.json): "
            "one report would overwrite the other",
        ),
        (
            ["--gc-guard-baseline=b.json", "--gc-guard-html=b.json"],
            "",
            "--gc-guard-html and --gc-guard-baseline name the same file (*b.json): "
            "the HTML report would overwrite the baseline",
        ),
        (
            ["--gc-guard-html=no/such/dir/r.html"],
            "",
            "--gc-guard-html: cannot write the HTML report: */no/such/dir does not exist",
        ),
    ],
)
def test_bad_html_paths_are_usage_errors(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult], args: list[str], ini: str, error: str
) -> None:
    """Refused at start-up, naming the option; the ini twin is read (the first case names the report via the ini)."""
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    (pytester.path / "b.json").write_text('{"version": 1, "entries": []}\n')
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = inprocess("--gc-guard", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {error}"])


def test_the_html_option_needs_the_guard(pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = inprocess("--gc-guard-html=r.html")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*PytestConfigWarning: gc-guard is off: --gc-guard-html has no effect without --gc-guard"]
    )
    assert not (pytester.path / "r.html").exists()


# ---- in a browser

CHROMIUM = shutil.which("chromium")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on the PATH (Debian: apt-get install chromium)")
def test_headless_chromium_shows_the_page(tmp_path: Path) -> None:
    """The page opens in a real browser: a screenshot is taken, and the DOM it built has every failing test id."""
    assert CHROMIUM is not None
    page = tmp_path / "report.html"
    page.write_text(html.render(run_document()), encoding="utf-8")
    common = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "out.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=180,
    )
    assert _png_size(shot) == (1200, 1600)
    assert shot.stat().st_size > 20_000, "not a blank page"
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], check=True, capture_output=True, timeout=180, text=True
    )
    for nodeid in FAILING:
        assert nodeid in dom.stdout
    assert dom.stdout.count('class="node') >= 3
    # The search box: typing a test id (any case) leaves only its shape shown.
    typed = tmp_path / "typed.html"
    script = '<script>var q = document.getElementById("q"); q.value = "TEST_LEAK";'
    script += ' q.dispatchEvent(new Event("input"));</script>'
    typed.write_text(page.read_text(encoding="utf-8").replace("</body>", script + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [*common, "--virtual-time-budget=5000", "--dump-dom", typed.as_uri()],
        check=True,
        capture_output=True,
        timeout=180,
        text=True,
    )
    shown = re.findall(r'<details class="shape" id="(s\d+)"(?![^>]*hidden)', dom.stdout)
    assert len(shown) == 1 and len(re.findall(r'<details class="shape"', dom.stdout)) == 5
    assert "1 of 5 shapes shown" in dom.stdout
