"""Running a test item again, without reporting the run.

pytest has no public API for this: its runner's ``runtestprotocol(item,
log=False)`` runs setup, call and teardown and returns the reports without
logging them.  pytest-rerunfailures (pytest-dev) uses the same function; we
keep the private import in this one place.  The runner re-creates the
item's fixture request when ``item._request`` is false (it does so itself
after every run, see ``runtestprotocol``); we ask for that explicitly
because we re-run from inside the first run's teardown report.
"""

from __future__ import annotations

import warnings

import pytest


def run_again(item: pytest.Item, nextitem: pytest.Item | None) -> list[pytest.TestReport]:
    """Run ``item`` once more; its reports are returned, never logged.

    Warnings the run emits are recorded and dropped, so the test's warnings
    are not reported twice; filters (``-W error``) still apply.
    """
    from _pytest.runner import runtestprotocol

    if hasattr(item, "_request"):
        item._request = False
    with warnings.catch_warnings(record=True):
        return runtestprotocol(item, log=False, nextitem=nextitem)


def run_failed(reports: list[pytest.TestReport]) -> str | None:
    """Why a re-run does not count, or None when it passed like the first run."""
    for report in reports:
        if report.failed:
            return f"the re-run failed in {report.when}"
        if report.skipped:
            return f"the re-run was skipped in {report.when}"
    return None
