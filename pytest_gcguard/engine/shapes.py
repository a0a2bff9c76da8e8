"""Explaining only what a re-run needs: the shapes of its cycles, not their labels.

A re-run is compared with the first run by the shapes of its cycles
(``Cycle.shape_key``: the kind, and each hop's type and edge label with
indices and keys blanked).  Object labels (reprs, hooks), allocation sites,
owners and hanger-on counts are not part of a shape, so a re-run's window is
explained without them (``ShapeLabeller``, ``explain_garbage(shapes_only=True)``):
the edges, the kinds and hence the shapes are computed exactly as for the
first run, and nothing of a re-run's cycles is reported but their shapes.

``OPTIMISED`` is the default; the environment variable
``_PYTEST_GCGUARD_EXPLAIN_FULLY`` (private, for the test that compares the
findings of both, ``tests/test_explain_once.py``) turns off every shortcut
of this kind: shapes-only re-runs, the per-class name cache of ``labels``,
and skipping the survivors of a re-run that follows no leak suspect
(``rerun.Rerun.follows_survivors``).
"""

from __future__ import annotations

from pytest_gcguard.engine.labels import SHORTCUTS
from pytest_gcguard.engine.labels import Labeller


OPTIMISED = SHORTCUTS


class ShapeLabeller(Labeller):
    """Labels the edges like the labeller it wraps (with its names and hook-free), and no object."""

    def __init__(self, labeller: Labeller) -> None:
        self.__dict__.update(labeller.__dict__)  # the same caches and context modules: the same edge labels

    def label(self, obj: object) -> str:
        return ""  # no repr, no label hook: a shape has no object labels
