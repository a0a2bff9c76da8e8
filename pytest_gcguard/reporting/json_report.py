"""The machine-readable report (``--gc-guard-report=PATH``): one JSON document per run.

The schema is ``docs/report-schema.json`` (JSON Schema, draft 2020-12),
described in ``docs/report.md``.  Version 1; a change that is not backwards
compatible raises the version.
"""

from __future__ import annotations

import platform
import sys
import sysconfig
from collections.abc import Iterable
from typing import Any

from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.engine.findings import allocating_modules
from pytest_gcguard.judging.baseline import fingerprint
from pytest_gcguard.reporting.text import distinct_sites


SCHEMA = "https://pytest-gcguard.invalid/report-schema.json"
VERSION = 1


def gc_model() -> str:
    """Which collector this interpreter has: the design's three cases (docs/how-it-works.md)."""
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return "free-threaded"
    if (3, 14, 0) <= sys.version_info[:3] < (3, 14, 5):
        return "incremental"  # 3.14.0-3.14.4; 3.14.5 went back to the generational collector
    return "generational"


def cycle_finding(nodeid: str, data: dict[str, Any]) -> dict[str, Any]:
    cycle = Cycle.from_dict(data)
    finding: dict[str, Any] = {
        "kind": cycle.kind,
        "status": data.get("status", "info"),
        "fingerprint": fingerprint(nodeid, cycle.kind, cycle.shape),
        "shape": cycle.shape,
        "path": [_hop(h) for h in cycle.path],
        "traced": cycle.traced,
        **({"sampled": True} if cycle.sampled else {}),
        "count": cycle.count,
        "objects": cycle.objects,
        "kept_alive": cycle.kept_alive,
        "origin": cycle.origin,
        "origin_name": cycle.origin_name,
        **({"origin_note": cycle.origin_note} if cycle.origin_note else {}),
    }
    sites = distinct_sites(cycle.path)
    if sites:
        finding["allocation"] = sites
    modules = allocating_modules(cycle.member_types)
    if modules:
        finding["allocated_in"] = modules  # who made a cycle of plain containers
    return finding


def _hop(hop: Hop) -> dict[str, str]:
    data = {"label": hop.label, "type": hop.type_token, "edge": hop.edge}
    if hop.site:
        data["site"] = hop.site
    return data


def leak_finding(nodeid: str, data: dict[str, Any]) -> dict[str, Any]:
    leak = Leak.from_dict(data)
    chain = None
    if leak.chain is not None:
        chain = {
            "root": leak.chain.root,
            "hops": [_hop(h) for h in leak.chain.hops],
            "complete": leak.chain.complete,
            "shared": leak.chain.shared,
        }
    finding: dict[str, Any] = {
        "kind": "leak",
        "status": data.get("status", "failed"),
        "fingerprint": fingerprint(nodeid, "leak", leak.shape),
        "shape": leak.shape,
        "type": leak.class_name,
        "counts": list(leak.counts),
        "deltas": list(leak.deltas),
        "per_run": leak.per_run,
        "chain": chain,
    }
    if leak.site:
        finding["allocation"] = {"site": leak.site, "share": leak.site_share, "of": leak.site_total}
    if leak.kept_by:
        finding["kept_by"] = leak.kept_by  # the grown kind that keeps it: one leak, reported under that kind
    if leak.running_thread:
        finding["running_thread"] = leak.running_thread  # kept by a thread the test left running: not judged
    return finding


def build(
    tests: Iterable[tuple[str, str, dict[str, Any]]],
    *,
    plugin_version: str,
    pytest_version: str,
    settings: dict[str, Any],
    audits: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The report: run metadata, each checked test (node id, outcome, payload), and the heap audits."""
    entries = []
    for nodeid, outcome, payload in tests:
        findings = [cycle_finding(nodeid, c) for c in payload.get("cycles", ())]
        findings += [leak_finding(nodeid, leak) for leak in payload.get("leaks", ())]
        entry: dict[str, Any] = {"nodeid": nodeid, "outcome": outcome, "reruns": payload.get("reruns", 0)}
        entry["findings"] = findings
        for key in ("note", "error", "unsaved", "sampled", "finalizer_warnings", "gc_stats"):
            if payload.get(key):
                entry[key] = payload[key]
        entries.append(entry)
    return {
        "$schema": SCHEMA,
        "version": VERSION,
        "plugin": {"name": "pytest-gcguard", "version": plugin_version},
        "pytest": pytest_version,
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "gc_model": gc_model(),
        },
        "settings": settings,
        "tests": entries,
        "audits": [audit_entry(audit) for audit in audits],
    }


def audit_entry(audit: dict[str, Any]) -> dict[str, Any]:
    """A heap audit: the window of tests it covers, and the cycles it found (kind ``audit``)."""
    findings = []
    for data in audit["cycles"]:
        finding = cycle_finding("(heap audit)", data)
        finding["kind"] = "audit"
        finding["status"] = "info"
        findings.append(finding)
    entry = {"first": audit["first"], "last": audit["last"], "tests": audit["tests"], "findings": findings}
    if audit.get("error"):
        entry["error"] = audit["error"]
    return entry
