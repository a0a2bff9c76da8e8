"""The demo output the README and the docs show is real: it is compared with a run of the demo suite."""

from __future__ import annotations

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


def test_the_readme_shows_real_demo_output() -> None:
    """Every line of each sample appears, in order, in a real run of the demo."""
    # As the README's command runs it: without the test extras' plugins
    # (Hypothesis's hook wrapper adds a frame to a failing test's traceback).
    no_plugins = ["-p", "no:cacheprovider", "-p", "no:xdist", *plugins_off()]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--gc-guard", "docs/demo", *no_plugins],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert len(_readme_sample()) > 10
    samples = {name: _samples(name) for name in SAMPLE_FILES}
    assert len(samples["docs/quickstart.md"]) == 2  # a cycle and a leak
    actual = [_untimed(line) for line in run.stdout.splitlines()]
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
