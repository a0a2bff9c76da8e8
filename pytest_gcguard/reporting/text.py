"""Text for people: a test's failure text (cycles, leaks, finalizer warnings), and the paths the summary prints.

The end-of-run summary itself is ``summary.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_gcguard.engine.findings import DEPENDENCY
from pytest_gcguard.engine.findings import FACTORY_MADE
from pytest_gcguard.engine.findings import HARNESS_ORIGIN
from pytest_gcguard.engine.findings import PROJECT
from pytest_gcguard.engine.findings import STDLIB_ORIGIN
from pytest_gcguard.engine.findings import TEST_ORIGIN
from pytest_gcguard.engine.findings import UNCOLLECTABLE
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.engine.findings import allocating_modules
from pytest_gcguard.engine.findings import owner_names
from pytest_gcguard.engine.keepers import folded_leaks
from pytest_gcguard.engine.ownership import is_harness_module
from pytest_gcguard.reporting.hints import Hint
from pytest_gcguard.reporting.hints import cycle_hint
from pytest_gcguard.reporting.hints import hint_line
from pytest_gcguard.reporting.hints import leak_hint


# Distinct cycle shapes printed for one test before "... and N more".
MAX_SHAPES_SHOWN = 5
# Members' allocation sites printed for one cycle before "... and N more".
MAX_SITES_SHOWN = 8


def plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


# Why a printed chain is open: the reference closing it is C code's, or the window analysed a sample.
UNTRACED_NOTE = "the reference closing the cycle is not visible to gc"
SAMPLED_NOTE = "cut short: the cycle goes on past the sample of this garbage that gc-guard analysed"


def format_path(path: Sequence[Hop], traced: bool = True, *, sampled: bool = False) -> str:
    """``A --.x--> B --.y--> A``: every edge labelled, back to the start.

    An untraced cycle prints as the open chain that gc.get_referents shows;
    a sampled one as the chain up to where the sample ends.
    """
    if not path:
        return ""
    if not traced:
        parts = [f"{hop.label} --{hop.edge}-->" for hop in path[:-1]]
        return " ".join([*parts, path[-1].label]) + f"   ({SAMPLED_NOTE if sampled else UNTRACED_NOTE})"
    parts = [f"{hop.label} --{hop.edge}-->" for hop in path]
    return " ".join(parts) + f" {path[0].label}"


def format_cycle_path(cycle: Cycle) -> str:
    """``format_path`` of a cycle finding's path."""
    return format_path(cycle.path, cycle.traced, sampled=cycle.sampled)


def distinct_sites(path: Sequence[Hop]) -> list[str]:
    """The allocation sites of a path's members, each once, in path order."""
    return list(dict.fromkeys(hop.site for hop in path if hop.site))


def format_sites(path: Sequence[Hop]) -> list[str]:
    """``allocated at:`` and one line per member (label, then site) when tracing found sites."""
    members = list(dict.fromkeys((hop.label, hop.site) for hop in path if hop.site))
    if not members:
        return []
    width = min(max(len(label) for label, _ in members), 40)
    lines = ["allocated at:"]
    lines.extend(f"  {label:<{width}}  {site}" for label, site in members[:MAX_SITES_SHOWN])
    if len(members) > MAX_SITES_SHOWN:
        lines.append(f"  ... and {plural(len(members) - MAX_SITES_SHOWN, 'more member')}")
    return lines


def format_allocated(cycle: Cycle) -> str | None:
    """``allocated in lib.orderedset``: who made a cycle of plain containers (found by tracing a re-run)."""
    modules = allocating_modules(cycle.member_types)
    return f"allocated in {', '.join(modules)}" if modules else None


# Whose test-local cycles the summary and the HTML report list apart from the test's own (origin "harness").
HARNESS_MADE = "pytest/hypothesis/unittest.mock"


def made_by_harness(cycle: Cycle) -> bool:
    """A test-local cycle whose members with an owner are all pytest's, Hypothesis's (and the like): the harness's.

    Not the test's own code, though it never fails either (issue 14: pytest's
    ``ExceptionInfo.exconly.<locals>._get_single_subexc`` closure, Hypothesis's
    ``ConjectureData`` <-> provider).
    """
    if cycle.origin == HARNESS_ORIGIN:  # (unittest.mock's, a pytest plugin's: CodeOwners knows them)
        return True
    owners = [owner_names(entry) for entry in cycle.member_types]
    return bool(owners) and all(names and is_harness_module(names[0]) for names in owners)


_MADE_BY = {
    PROJECT: "the project",
    STDLIB_ORIGIN: "the standard library",
    TEST_ORIGIN: "the test",
    HARNESS_ORIGIN: "the test harness",
}


def made_by(cycle: Cycle) -> str | None:
    """``made by attrs 25.4.0 (dependency)``, ``made by the standard library (asyncio.selector_events)``."""
    if cycle.origin_note.startswith(FACTORY_MADE):
        return cycle.origin_note  # the class's module is the factory's: the note says who made it, if anyone can
    if not cycle.origin:
        return None
    if cycle.origin == DEPENDENCY:
        text = f"made by {cycle.origin_name or 'a dependency'} (dependency)"
    else:
        who = _MADE_BY.get(cycle.origin, cycle.origin)
        text = f"made by {who} ({cycle.origin_name})" if cycle.origin_name else f"made by {who}"
    return f"{text}: {cycle.origin_note}" if cycle.origin_note else text


def format_kept_alive(cycle: Cycle) -> str | None:
    if not cycle.kept_alive:
        return None
    kinds = ", ".join(plural(n, name) for name, n in cycle.kept_alive_types)
    noun = "these cycles" if cycle.count > 1 else "this cycle"
    return f"+{plural(cycle.kept_alive, 'object')} kept alive by {noun}, incl. {kinds}"


def format_cycle(cycle: Cycle, indent: str = "    ") -> list[str]:
    lines = []
    if cycle.count > 1:
        lines.append(f"{indent[:-2]}{cycle.count} cycles like this ({plural(cycle.objects, 'object')}):")
    lines.append(indent + format_cycle_path(cycle))
    allocated = format_allocated(cycle)
    if allocated:
        lines.append(indent + allocated)
    origin = made_by(cycle)
    if origin:
        lines.append(indent + origin)
    lines.extend(indent + line for line in format_sites(cycle.path))
    kept = format_kept_alive(cycle)
    if kept:
        lines.append(indent + kept)
    return lines


def _format_shapes(cycles: Sequence[Cycle]) -> list[str]:
    lines = []
    hinted: set[str] = set()
    for cycle in cycles[:MAX_SHAPES_SHOWN]:
        lines.extend(format_cycle(cycle))
        lines.extend(_fix_hint(cycle_hint(cycle), hinted, "    "))
    if len(cycles) > MAX_SHAPES_SHOWN:
        lines.append(f"  ... and {plural(len(cycles) - MAX_SHAPES_SHOWN, 'more shape')}")
    return lines


# How to exempt a test's cycles, printed under its report.
MARKER_HINT = '@pytest.mark.allow_cycles(reason="...")'


def cycle_failure_text(
    cycles: Sequence[Cycle],
    *,
    unsaved: int = 0,
    sampled: int = 0,
    hint: str | None = MARKER_HINT,
    subject: str = "test",
) -> str:
    """The text of a gc-guard failure or warning for one test (``subject``: or for a block, with the library API)."""
    count = sum(c.count for c in cycles)
    objects = sum(c.objects for c in cycles)
    lines = [
        f"gc-guard: {subject} created {plural(count, 'reference cycle')} ({plural(objects, 'object')}) "
        "that only the cycle collector can free"
    ]
    lines.extend(_format_shapes(cycles))
    if unsaved:
        lines.append(
            f"  +{plural(unsaved, 'more object')} in cycles, freed without being analysed "
            f"(the {subject} made more cyclic garbage than gc-guard keeps per {subject}; the collector's count)"
        )
    if sampled:
        lines.append(
            f"  sampled: one collection found {plural(sampled, 'object')} of cyclic garbage at once; "
            "gc-guard analysed the first and the last of them, as many as it keeps"
        )
    if hint:
        lines.append(f"  to exempt: {hint}")
    return "\n".join(lines)


def uncollectable_failure_text(cycles: Sequence[Cycle]) -> str:
    """The text of a gc-guard failure or warning for objects the collector could not free."""
    objects = sum(c.objects + c.kept_alive for c in cycles)
    lines = [
        f"gc-guard: test left {plural(objects, 'object')} that the cycle collector cannot free "
        "(a legacy tp_del finalizer in a cycle); they stay in gc.garbage for good"
    ]
    lines.extend(_format_shapes(cycles))
    return "\n".join(lines)


def format_chain(chain: Chain) -> list[str]:
    """``kept alive by: ROOT`` and the labelled hops down to the object."""
    parts = [f"{hop.label} --{hop.edge}-->" for hop in chain.hops[:-1]]
    path = " ".join([*parts, chain.hops[-1].label]) if chain.hops else ""
    lines = [f"  kept alive by: {chain.root}", f"    {path}"]
    if not chain.complete:
        lines.append("    (the search stopped before reaching a root)")
    if chain.shared > 1:
        lines.append(f"  ({chain.shared} of the leaked objects share this path up to the last key or index)")
    return lines


def format_leak(leak: Leak) -> list[str]:
    kind = leak.class_name.rsplit(".", 1)[-1]
    deltas = ", ".join(f"+{d}" for d in leak.deltas)
    lines = [
        f"gc-guard: test leaks {plural(leak.per_run, kind + ' object')} per run "
        f"(live count {deltas} over {plural(len(leak.deltas), 're-run')})"
    ]
    if leak.chain is not None:
        lines.extend(format_chain(leak.chain))
    if leak.site:
        if leak.site_total <= 1:
            share = ""
        elif leak.site_share == leak.site_total:
            share = f" (all {leak.site_total} objects of this kind the last run left)"
        else:
            share = f" ({leak.site_share} of the {leak.site_total} objects of this kind the last run left)"
        lines.append(f"  allocated at {leak.site}{share}")
    return lines


def format_finalizer_warnings(texts: Sequence[str]) -> str:
    """Warnings made errors by the user's filters, raised in finalizers of the test's garbage."""
    lines = ["gc-guard: finalizers of this test's garbage raised warnings that the warning filters make errors:"]
    lines.extend(f"    {text}" for text in texts)
    lines.append(
        "  (Python can report an exception raised in a finalizer only as 'Exception ignored'; "
        "gc-guard collected this garbage in this test's teardown, so the warning is this test's)"
    )
    return "\n".join(lines)


def _fix_hint(hint: Hint | None, hinted: set[str], indent: str) -> list[str]:
    """The hint's line, under the first finding of its family in one failure text (the next ones would repeat it)."""
    if hint is None or hint.family in hinted:
        return []
    hinted.add(hint.family)
    return [indent + hint_line(hint)]


def kept_kinds_line(kept: Sequence[str]) -> str:
    """``with 2 more kinds kept with it: Runner, TestRunner`` (short names, sorted; in full when two share one)."""
    short = [name.rsplit(".", 1)[-1] for name in kept]
    kinds = ", ".join(sorted(s if short.count(s) == 1 else name for s, name in zip(short, kept)))
    return f"with {plural(len(kept), 'more kind')} kept with it: {kinds}"


def leak_failure_text(leaks: Sequence[Leak]) -> str:
    lines: list[str] = []
    hinted: set[str] = set()
    for leak, kept in folded_leaks(leaks):
        lines.extend(format_leak(leak))
        if kept:
            lines.append(f"  {kept_kinds_line([k.class_name for k in kept])}")
        lines.extend(_fix_hint(leak_hint(leak), hinted, "  "))
    lines.append('  to exempt: @pytest.mark.allow_leaks(reason="...")')
    return "\n".join(lines)


def failure_text(
    cycles: Sequence[Cycle],
    leaks: Sequence[Leak],
    finalizer_warnings: Sequence[str],
    *,
    unsaved: int = 0,
    sampled: int = 0,
    exceeded: str | None = None,
) -> str:
    """The whole text of a test's gc-guard failure or warning: stuck objects, cycles, leaks, finalizer warnings."""
    parts = []
    stuck = [c for c in cycles if c.kind == UNCOLLECTABLE]
    if stuck:
        parts.append(uncollectable_failure_text(stuck))
    if len(stuck) < len(cycles):
        extra = "".join(f"\n  ({note})" for note in exceeded.splitlines()) if exceeded else ""
        others = [c for c in cycles if c.kind != UNCOLLECTABLE]
        parts.append(cycle_failure_text(others, unsaved=unsaved, sampled=sampled) + extra)
    if leaks:
        parts.append(leak_failure_text(leaks))
    if finalizer_warnings:
        parts.append(format_finalizer_warnings(finalizer_warnings))
    return "\n".join(parts)
