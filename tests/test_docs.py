"""The demo output the README and the docs show is real: it is compared with a run of the demo suite."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_gcguard
from tests.inner import plugins_off


ROOT = Path(__file__).resolve().parent.parent
# The README's sample was produced on this version; labels of frames and the
# hangers-on counts differ slightly on others.
DOCUMENTED_ON = (3, 11)


# Every ```text block right after a "<!-- demo-output" comment is checked.
SAMPLE_FILES = ("README.md", "docs/quickstart.md", "docs/fixing.md")
_SAMPLE = re.compile(r"^<!-- demo-output[^\n]*-->\n```text\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _samples(name: str) -> list[list[str]]:
    return [block.splitlines() for block in _SAMPLE.findall((ROOT / name).read_text())]


def _readme_sample() -> list[str]:
    (sample,) = _samples("README.md")
    return sample


def _version_neutral(line: str) -> bool:
    return "frame " not in line and "kept alive" not in line


def _untimed(line: str) -> str:
    """A summary line without what took time: "re-ran 3 tests (5 runs, 0.4 s)" differs by the machine."""
    return re.sub(r"(re-ran .* runs?), [0-9.]+ s\)", r"\1, … s)", line)


@functools.cache
def _demo_output(*args: str) -> tuple[str, ...]:
    """The lines a run of the demo prints, as the README's command runs it (plus ``args``)."""
    # Without the test extras' plugins (Hypothesis's hook wrapper adds a frame
    # to a failing test's traceback).
    no_plugins = ["-p", "no:cacheprovider", "-p", "no:xdist", *plugins_off()]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--gc-guard", "docs/demo", *no_plugins, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    return tuple(run.stdout.splitlines())


def test_the_readme_shows_real_demo_output() -> None:
    """Every line of each sample appears, in order, in a real run of the demo."""
    assert len(_readme_sample()) > 10
    samples = {name: _samples(name) for name in SAMPLE_FILES}
    assert len(samples["docs/quickstart.md"]) == 2  # a cycle and a leak
    actual = [_untimed(line) for line in _demo_output()]
    if sys.version_info[:2] != DOCUMENTED_ON:
        actual = [line for line in actual if _version_neutral(line)]
    for name, blocks in samples.items():
        for expected in blocks:
            if sys.version_info[:2] != DOCUMENTED_ON:
                expected = [line for line in expected if _version_neutral(line)]
            position = 0
            for line in map(_untimed, expected):
                assert line in actual[position:], f"{name}: line not in the demo's output (after {position}):\n{line}"
                position = actual.index(line, position) + 1


def test_the_landing_page_shows_the_checked_readme_sample() -> None:
    """docs/index.md includes exactly the README's checked sample (its :start-after:/:end-before: markers)."""
    index = (ROOT / "docs" / "index.md").read_text()
    start = re.search(r'^:start-after: "(.*)"$', index, re.MULTILINE)
    end = re.search(r'^:end-before: "(.*)"$', index, re.MULTILINE)
    assert start and end, "docs/index.md has no {include} of the README's sample"
    readme = (ROOT / "README.md").read_text()
    assert readme.count(start.group(1)) == 1 and readme.count(end.group(1)) == 1
    included = readme.split(start.group(1), 1)[1].split(end.group(1), 1)[0]
    assert included.strip().splitlines() == ["```text", *_readme_sample(), "```"]


def test_dir_lists_every_exported_name() -> None:
    """Sphinx's autodoc (docs/api.md) finds a module's members through dir(): the lazy ones too."""
    assert set(pytest_gcguard.__all__) <= set(dir(pytest_gcguard))


@pytest.mark.parametrize("name", ["README.md", "docs/index.md"])
def test_the_prose_under_the_sample_counts_what_the_sample_shows(name: str) -> None:
    """ "it keeps 25 more objects alive (13 of them frames ..." is the sample's "+25 objects ..., incl. 13 frames"."""
    (kept,) = [line for line in _readme_sample() if "kept alive by this cycle" in line]
    shown = re.search(r"\+(\d+) objects kept alive by this cycle, incl\. (\d+) frames", kept)
    prose = re.search(r"keeps (\d+) more objects alive \((\d+) of\s+them frames", (ROOT / name).read_text())
    assert shown and prose, (kept, name)
    assert prose.groups() == shown.groups()


def test_install_commands_work_before_the_first_release() -> None:
    """Until a release is in the CHANGELOG, no page tells to install pytest-gcguard from the package index."""
    released = re.search(r"^## \[?\d", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    if released:
        pytest.skip(f"released: {released.group(0)}")
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line in page.read_text().splitlines():
            command = line.partition("pip install")[2].partition("#")[0]
            if re.search(r"(^|\s)['\"]?pytest-gcguard(\[|=|>|~|['\"]?(\s|$))", command):
                found.append(f"{page.relative_to(ROOT)}: {line.strip()}")
    assert not found, "installs from the index, where pytest-gcguard is not yet:\n" + "\n".join(found)


def test_the_module_marker_example_runs_as_documented(pytester: pytest.Pytester) -> None:
    """docs/usage.md's ``pytestmark`` example: the module's marker allows one test; the other's own marker wins."""
    usage = (ROOT / "docs" / "usage.md").read_text()
    example = re.search(
        r"<!-- checked: tests/test_docs.py runs this module as test_graphs.py, with graphs.py -->\n```python\n(.*?)```",
        usage,
        re.DOTALL,
    )
    assert example, "docs/usage.md lost its pytestmark example"
    graphs = "class Graph:\n    def __init__(self):\n        self.me = self\n\n\nclass Node:\n    pass\n"
    pytester.makepyfile(graphs=graphs, test_graphs=example.group(1))
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["ERROR test_graphs.py::test_nodes*"])


def test_the_rerun_lines_quoted_are_the_demos() -> None:
    """docs/usage.md's "Re-runs" quotes the demo's re-run line, and the one --gc-guard-leaks=off gives."""
    section = (ROOT / "docs" / "usage.md").read_text().split("## Re-runs", 1)[1].split("\n## ", 1)[0]
    assert "--gc-guard-leaks=off" in section
    quoted = re.findall(r"`(re-ran [^`]*)`", section.replace("\n", " "))
    assert len(quoted) == 2, quoted
    assert _untimed(quoted[0]) in map(_untimed, _demo_output())
    assert _untimed(quoted[1]) in map(_untimed, _demo_output("--gc-guard-leaks=off"))
