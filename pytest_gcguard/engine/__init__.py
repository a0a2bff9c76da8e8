"""The engine: find a test's cyclic garbage and surviving objects, and explain them as plain data.

Nothing here imports pytest (``tests/test_layers.py`` checks it), so the
engine also serves the library API (``pytest_gcguard.api``).

* ``window``: the collection window around a test (frozen heap, ``DEBUG_SAVEALL``), made of:
  ``callbacks`` (its ``gc.callbacks`` entry), ``batch`` (which objects a
  collection saved), ``saving`` (what it keeps, up to its cap),
  ``unraisable`` (its ``sys.unraisablehook``) and ``signals`` (signal
  exceptions CPython drops in a gc callback, raised again).
* ``graph``: identity-keyed object graphs, components, shortest cycles.
* ``introspect``: reading types and attributes without running user code.
* ``labels``: labels for objects and for the edges between them.
* ``ownership``: whose code an object is (test, harness, standard library, code under test).
* ``analysis``: a window's garbage into cycle findings.
* ``survivors``: what a test left alive, and whether it grows.
* ``chains``: referrer chains from a root to a live object.
* ``sites``: allocation sites (tracemalloc).
* ``findings``: the plain data the rest of the package consumes.
* ``gcstats``: collections per generation (``--gc-guard-stats``).
* ``threads``: the threads a test started that still run when its window closes.
"""
