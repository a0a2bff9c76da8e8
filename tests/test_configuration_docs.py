"""docs/configuration.md lists exactly the options, ini keys and markers pytest reports for the plugin.

The real lists come from pytest itself: ``pytest --help`` and ``pytest
--markers`` with the plugin, minus the same without it (``-p no:gcguard``), so
an option added anywhere, under any name, must be documented.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest


REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"

# "  --gc-guard-mode={fail,warn}", "  -x, --exitfirst   help": the flags of one option.
_OPTION_LINE = re.compile(r"^  (-[^\s].*?)(?:\s{2,}|$)")
# "  gc_guard_allow (linelist):" under "[pytest] ini-options in ..." ("configuration options" in pytest 9).
_INI_LINE = re.compile(r"^  ([\w-]+) \(([\w-]+)\):")
# "@pytest.mark.allow_cycles(reason=None, *, types=None): help"
_MARKER_LINE = re.compile(r"^@pytest\.mark\.(\w+)(\(.*?\))?: ")
_CODE = re.compile(r"`([^`]+)`")


@dataclass
class Reported:
    """What pytest reports: options, ini keys with their types, markers with their signatures."""

    options: set[str] = field(default_factory=set)
    ini: dict[str, str] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)


def _name(flag: str) -> str:
    """``--gc-guard-trace[=N]``, ``--gc-guard-mode={fail,warn}`` -> the option's name."""
    return re.split(r"[=\[ ]", flag.strip().strip("`"), maxsplit=1)[0]


def parse_help(lines: list[str], markers: list[str]) -> Reported:
    reported = Reported()
    in_ini = False
    for line in lines:
        if line and not line.startswith(" "):
            in_ini = line.startswith("[pytest]")  # "ini-options in ..." (pytest 8), "configuration options in ..." (9)
            continue
        ini = _INI_LINE.match(line)
        if in_ini and ini:
            reported.ini[ini.group(1)] = ini.group(2)
        option = _OPTION_LINE.match(line)
        if not in_ini and option:
            reported.options.update(_name(flag) for flag in option.group(1).split(", "))
    for line in markers:
        marker = _MARKER_LINE.match(line)
        if marker:
            reported.markers[marker.group(1)] = marker.group(2) or ""
    return reported


def reported_by_pytest(run: Callable[..., pytest.RunResult], *plugin_args: str) -> Reported:
    help_run = run("--help", *plugin_args)
    markers_run = run("--markers", *plugin_args)
    assert help_run.ret == pytest.ExitCode.OK, help_run.stderr.str()
    assert markers_run.ret == pytest.ExitCode.OK, markers_run.stderr.str()
    return parse_help(help_run.outlines, markers_run.outlines)


def ours(run: Callable[..., pytest.RunResult]) -> Reported:
    """What the plugin adds: pytest's lists with it, minus pytest's lists without it."""
    on = reported_by_pytest(run)
    off = reported_by_pytest(run, "-p", "no:gcguard")
    return Reported(
        options=on.options - off.options,
        ini={name: kind for name, kind in on.ini.items() if name not in off.ini},
        markers={name: sig for name, sig in on.markers.items() if name not in off.markers},
    )


@dataclass
class Documented:
    """The reference page: each table row's cells by the row's name; each marker's signature."""

    options: dict[str, list[str]] = field(default_factory=dict)
    ini: dict[str, list[str]] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)
    arguments: dict[str, list[str]] = field(default_factory=dict)


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def parse_reference(text: str) -> Documented:
    documented = Documented()
    section = subsection = ""
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            signature = re.match(rf"@pytest\.mark\.{re.escape(subsection)}(\(.*\))$", line.strip())
            if section == "Markers" and signature:
                documented.markers[subsection] = signature.group(1)
            continue
        if line.startswith("## "):
            section, subsection = line[3:].strip(), ""
        elif line.startswith("### "):
            subsection = line[4:].strip().strip("`")
            if section == "Markers":
                documented.markers.setdefault(subsection, "")
                documented.arguments.setdefault(subsection, [])
        elif line.startswith("| `"):
            cells = _cells(line)
            name = _name(cells[0])
            if section == "Command-line options":
                documented.options[name] = cells
            elif section == "ini keys":
                documented.ini[name] = cells
            elif section == "Markers" and subsection:
                documented.arguments[subsection].append(name)
    return documented


def _twins(cell: str) -> set[str]:
    return {_name(code) for code in _CODE.findall(cell)}


def _ini_default(value: object) -> str:
    """How the reference writes a default: `false`, `fail`, none."""
    if isinstance(value, bool):
        return str(value).lower()
    if value in ("", []):
        return "none"
    return str(value)


def _parameters(signature: str) -> list[str]:
    """``(reason=None, *, types=None)`` -> ``["reason", "types"]``."""
    names = [part.split("=")[0].strip() for part in signature.strip("()").split(",")]
    return [name for name in names if name and name != "*"]


def problems(real: Reported, documented: Documented, ini_defaults: dict[str, object]) -> list[str]:
    found: list[str] = []

    def compare(what: str, actual: set[str], listed: set[str]) -> None:
        found.extend(f"undocumented {what}: {name}" for name in sorted(actual - listed))
        found.extend(f"documented {what} that pytest does not report: {name}" for name in sorted(listed - actual))

    compare("command-line option", real.options, set(documented.options))
    compare("ini key", set(real.ini), set(documented.ini))
    compare("marker", set(real.markers), set(documented.markers))

    for name, (_, kind, default, twin, _meaning) in documented.ini.items():
        if name in real.ini and kind != real.ini[name]:
            found.append(f"ini key {name}: documented type {kind!r}, pytest says {real.ini[name]!r}")
        if name in ini_defaults and default.strip("`") != _ini_default(ini_defaults[name]):
            found.append(f"ini key {name}: documented default {default!r}, real default {ini_defaults[name]!r}")
        for option in sorted(_twins(twin)):
            if name not in _twins(documented.options.get(option, ["", "", "", ""])[3]):
                found.append(f"ini key {name} names {option} as its twin, but {option}'s row does not name {name}")
    for name, (_, kind, default, twin, meaning) in documented.options.items():
        if not (kind and default and meaning):
            found.append(f"option {name}: its type, default or meaning is empty")
        for key in sorted(_twins(twin)):
            if name not in _twins(documented.ini.get(key, ["", "", "", ""])[3]):
                found.append(f"option {name} names {key} as its twin, but {key}'s row does not name {name}")
    for name, signature in real.markers.items():
        if name not in documented.markers:
            continue
        if documented.markers[name] != signature:
            found.append(f"marker {name}: documented as {documented.markers[name]!r}, pytest says {signature!r}")
        if documented.arguments[name] != _parameters(signature):
            found.append(f"marker {name}: arguments table {documented.arguments[name]}, signature {signature}")
    return found


def test_the_reference_lists_every_option_ini_key_and_marker(
    pytester: pytest.Pytester, inprocess: Callable[..., pytest.RunResult]
) -> None:
    real = ours(inprocess)
    # The plugin's own names, and the ones this page is known to hold: the parsing works.
    assert {"--gc-guard", "--no-gc-guard", "--gc-guard-trace"} <= real.options
    assert real.ini.get("gc_guard") == "bool"
    assert real.ini.get("gc_guard_allow") == "linelist"
    assert set(real.markers) >= {"allow_cycles", "allow_leaks"}
    config = pytester.parseconfig()
    ini_defaults = {name: config.getini(name) for name in real.ini}
    documented = parse_reference(REFERENCE.read_text())
    found = problems(real, documented, ini_defaults)
    assert not found, "docs/configuration.md is out of date:\n" + "\n".join(found)


def test_a_missing_or_stale_entry_is_named() -> None:
    """The comparison names what is undocumented and what is gone, with the real page's rows."""
    documented = parse_reference(REFERENCE.read_text())
    real = Reported(
        options=(set(documented.options) - {"--gc-guard-mode"}) | {"--gc-guard-frobnicate"},
        ini={name: cells[1] for name, cells in documented.ini.items()} | {"gc_guard_frobnicate": "string"},
        markers={"allow_cycles": documented.markers["allow_cycles"], "allow_foo": "(reason=None)"},
    )
    found = problems(real, documented, {"gc_guard_mode": "warn"})
    assert found == [
        "undocumented command-line option: --gc-guard-frobnicate",
        "documented command-line option that pytest does not report: --gc-guard-mode",
        "undocumented ini key: gc_guard_frobnicate",
        "undocumented marker: allow_foo",
        "documented marker that pytest does not report: allow_leaks",
        "ini key gc_guard_mode: documented default '`fail`', real default 'warn'",
    ]
