"""Where an object was allocated: tracemalloc's traceback, told as ``lib.py:12 in make_ring``.

Used when ``--gc-guard-trace`` runs ``tracemalloc``.  Of the frames kept
for an object, the *site* is the innermost one outside the standard library
and pytest (the line of the code under test, or of the test, that made the
object).  Sites go on the hops of printed paths and on leaks; the JSON report
has them as each hop's ``site`` and each finding's ``allocation``.

Two limits of tracemalloc shape what can be told:

* Objects reused from a free list (empty lists, dicts, tuples) carry the
  traceback of their latest reuse only if tracemalloc traced their memory
  block; otherwise there is no site (bpo-35053).
* On CPython 3.11, ``tracemalloc.get_object_traceback()`` misses instances of
  classes with a managed ``__dict__`` -- most classes -- because it does not
  account for the two pointers stored before the object
  (python/cpython#101430, fixed in 3.12).  There we look the memory block up
  at the right address through the C function that tracemalloc itself uses.
"""

from __future__ import annotations

import _tracemalloc
import ast
import bisect
import ctypes
import linecache
import os
import sys
import tracemalloc
from collections.abc import Callable
from collections.abc import Iterable
from types import FrameType
from types import FunctionType
from typing import Union

from pytest_gcguard.engine.introspect import is_python_class
from pytest_gcguard.engine.introspect import module_dict
from pytest_gcguard.engine.introspect import plain_str
from pytest_gcguard.engine.introspect import type_flags
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.ownership import Origin


DEFAULT_FRAMES = 5
# Frames kept when a re-run traces allocations only to name the module that
# made a cycle of plain containers (``windows.TestWindows.traced``): enough
# to get past a frame or two of the standard library (``copy.deepcopy``) to
# the code that called it, few enough to keep the re-run cheap -- every
# allocation walks them, and pytest's stack is deep (on marshmallow's
# test_schema.py the suite's CPU time was +45 % with 3 frames, +230 % with 8).
OWNER_FRAMES = 3
# tracemalloc.start() refuses more (ValueError "the number of frames must be in
# range [1; 65535]"): CPython keeps a traceback's length in 16 bits.
MAX_FRAMES = 65535
Frame = tuple[str, int]  # file name, line number

_PTR = ctypes.sizeof(ctypes.c_void_p)
_MANAGED_DICT = 1 << 4  # Py_TPFLAGS_MANAGED_DICT (3.11)
_GC_TRACKED_TYPE = 1 << 14  # Py_TPFLAGS_HAVE_GC
_TYPE_SUBCLASS = 1 << 31  # Py_TPFLAGS_TYPE_SUBCLASS: the object is a class


def _preheader_lookup(version: tuple[int, int]) -> Callable[[object], tuple[Frame, ...] | None] | None:
    """On 3.11 only: the traceback of an object with a managed dict (python/cpython#101430)."""
    if version != (3, 11) or sys.implementation.name != "cpython":
        return None
    try:
        get = ctypes.pythonapi._PyTraceMalloc_GetTraceback
    except AttributeError:  # pragma: no cover - a build without the symbol
        return None
    get.restype = ctypes.py_object
    get.argtypes = [ctypes.c_uint, ctypes.c_size_t]

    def lookup(obj: object) -> tuple[Frame, ...] | None:
        flags = type_flags(type(obj))
        if not (flags & _MANAGED_DICT and flags & _GC_TRACKED_TYPE):
            return None
        # The block starts before the GC header (2 pointers) and the
        # managed dict and values pointers (2 more).  A lookup in
        # tracemalloc's table by address: nothing is dereferenced.
        frames = get(0, id(obj) - 4 * _PTR)
        if not isinstance(frames, tuple):
            return None
        return tuple((str(name), int(line)) for name, line in frames)

    return lookup


_lookup_preheader = _preheader_lookup((sys.version_info[0], sys.version_info[1]))
# What tracemalloc.get_object_traceback() wraps in a Traceback of Frame
# objects: a tuple of (file name, line) pairs, innermost first (3.9-3.13).
# A re-run reads the traceback of each object of its garbage, thousands of
# them; the wrapping was most of that cost.
_raw_traceback: Callable[[object], tuple[Frame, ...] | None] | None = getattr(
    _tracemalloc, "_get_object_traceback", None
)


def allocation_frames(obj: object) -> tuple[Frame, ...]:
    """The frames kept for ``obj``'s allocation, innermost first; empty when unknown."""
    if not tracemalloc.is_tracing():
        return ()
    if _raw_traceback is not None:
        frames = _raw_traceback(obj)
        if frames is not None:
            return tuple(frames)
    else:  # pragma: no cover - an interpreter without the C function
        traceback = tracemalloc.get_object_traceback(obj)
        if traceback is not None:
            # tracemalloc.Traceback is sorted oldest first (3.7+).
            return tuple((frame.filename, frame.lineno) for frame in reversed(traceback))
    if _lookup_preheader is not None:
        return _lookup_preheader(obj) or ()
    return ()


class Tracing:
    """Runs tracemalloc for a session, or reuses the user's (``-X tracemalloc``).

    Stops only what it started, so the user's tracing outlives the session.
    """

    def __init__(self, frames: int = DEFAULT_FRAMES) -> None:
        self.frames = frames
        self.started = False

    def start(self) -> None:
        if tracemalloc.is_tracing():
            return  # the user's: keep its frame limit, and leave it running
        tracemalloc.start(self.frames)
        self.started = True

    def stop(self) -> None:
        if self.started and tracemalloc.is_tracing():
            tracemalloc.stop()
        self.started = False


class SiteFinder:
    """Tells allocation sites in words, with file names relative to ``base``; and the modules that allocated."""

    def __init__(self, owners: CodeOwners | None = None, base: str | os.PathLike[str] | None = None) -> None:
        self._owners = owners or CodeOwners()
        self._base = os.path.realpath(base) + os.sep if base is not None else None
        self._functions: dict[str, _FunctionIndex] = {}
        self._paths: dict[str, str] = {}
        self._modules = _ModuleFiles()

    def module(self, obj: object) -> str | None:
        """The module whose code allocated ``obj``: of the kept frames, the innermost outside
        the standard library and the harness that runs a loaded module's file (test modules
        too); None when tracemalloc kept no such frame.

        A frame of generated code (``<string>``) names no module: the frame
        that called it does.
        """
        for name, _ in allocation_frames(obj):
            if self._owners.file_origin(name) in (Origin.USER, Origin.TEST):
                module = self._modules.of(name)
                if module is not None:
                    return module
        return None

    def frames(self, obj: object) -> list[str]:
        """Every kept frame in words, the site first, then the others innermost first."""
        frames = allocation_frames(obj)
        if not frames:
            return []
        chosen = self._choose(frames)
        ordered = [frames[chosen], *frames[:chosen], *frames[chosen + 1 :]]
        return [self.describe(name, line) for name, line in ordered]

    def site(self, obj: object) -> str:
        """``lib.py:12 in make_ring``, or ``""`` when tracemalloc has no traceback for ``obj``."""
        frames = allocation_frames(obj)
        if not frames:
            return ""
        return self.describe(*frames[self._choose(frames)])

    def _choose(self, frames: tuple[Frame, ...]) -> int:
        """The innermost frame outside the standard library and pytest; else the innermost."""
        for index, (name, _) in enumerate(frames):
            if self._owners.file_origin(name) in (Origin.USER, Origin.TEST):
                return index
        return 0

    def describe(self, filename: str, line: int) -> str:
        index = self._functions.get(filename)
        if index is None:
            index = self._functions[filename] = _FunctionIndex(filename)
        function = index.function_at(line)
        where = f"{self._display(filename)}:{line}"
        return f"{where} in {function}" if function else where

    def _display(self, filename: str) -> str:
        shown = self._paths.get(filename)
        if shown is None:
            shown = self._paths[filename] = _display_path(filename, self._base)
        return shown


class KnownAllocations:
    """The allocating modules of a window's garbage, read while tracemalloc ran, for an analysis run untraced.

    Tracing every allocation the analysis makes would cost more than the
    test did; the garbage's own allocations are all it needs.  Keyed by
    ``id()``: the caller keeps the objects alive while the analysis runs.
    """

    def __init__(self, finder: SiteFinder, objects: Iterable[object]) -> None:
        # Only members with no owner of their own can need one (analysis._member_types):
        # not instances of Python classes, classes, functions or frames.
        self._modules = {id(obj): finder.module(obj) for obj in objects if _has_no_owner(type(obj))}

    def site(self, obj: object) -> str:
        return ""  # (the printed path is the first run's: no site is shown)

    def module(self, obj: object) -> str | None:
        return self._modules.get(id(obj))


Sites = Union[SiteFinder, KnownAllocations]


def _has_no_owner(tp: type) -> bool:
    """Whether instances of ``tp`` are owned by nobody (``ownership.member_owner``), read from the type alone."""
    return not (is_python_class(tp) or type_flags(tp) & _TYPE_SUBCLASS or tp is FunctionType or tp is FrameType)


class _ModuleFiles:
    """Which loaded module a source file is (``__file__`` to ``__name__``); read again once more modules are loaded."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._loaded = -1  # len(sys.modules) when read

    def of(self, filename: str) -> str | None:
        name = self._names.get(filename)
        if name is None and len(sys.modules) != self._loaded:
            self._read()
            name = self._names.get(filename)
        return name

    def _read(self) -> None:
        names: dict[str, str] = {}
        for name, module in list(sys.modules.items()):
            namespace = module_dict(module)
            filename = plain_str(namespace.get("__file__")) if namespace is not None else None
            # A file loaded under two names (a script and __main__, a test
            # module under two import modes): the same name whatever the
            # order of sys.modules -- not __main__, then the shortest.
            if filename is not None and (filename not in names or _preferred(name, names[filename])):
                names[filename] = name
        self._names = names
        self._loaded = len(sys.modules)


def _preferred(name: str, other: str) -> bool:
    return (name == "__main__", len(name), name) < (other == "__main__", len(other), other)


def _display_path(filename: str, base: str | None) -> str:
    """Relative to the base directory when under it, else to the longest ``sys.path`` entry."""
    if filename.startswith("<"):
        return filename
    real = os.path.realpath(filename)
    if base is not None and real.startswith(base):
        return real[len(base) :]
    best = ""
    for entry in sys.path:
        if not entry:  # "" is the current directory
            continue
        prefix = os.path.realpath(entry) + os.sep
        if real.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return real[len(best) :] if best else filename


class _FunctionIndex:
    """Which function's body holds a line of one source file (from its AST, read once)."""

    def __init__(self, filename: str) -> None:
        self._starts: list[int] = []
        self._spans: list[tuple[int, int, str]] = []
        try:
            source = "".join(linecache.getlines(filename))
            tree = ast.parse(source) if source else None
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            tree = None
        if tree is not None:
            spans = sorted(_spans(tree.body, ""))
            self._spans = spans
            self._starts = [start for start, _, _ in spans]

    def function_at(self, line: int) -> str:
        """The innermost function or class whose lines hold ``line``; ``<module>`` outside them all."""
        if not self._spans:
            return ""
        # Scopes nest: of those holding the line, the innermost starts last.
        for position in range(bisect.bisect_right(self._starts, line) - 1, -1, -1):
            _, end, name = self._spans[position]
            if line <= end:
                return name
        return "<module>"


_Scope = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _spans(nodes: Iterable[ast.AST], prefix: str) -> Iterable[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function and class, at any depth."""
    for node in nodes:
        if isinstance(node, _Scope):
            name = f"{prefix}{node.name}"
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield start, node.end_lineno or node.lineno, name
            yield from _spans(node.body, f"{name}.")
        elif not isinstance(node, ast.expr):  # statements, except handlers, match cases
            yield from _spans(ast.iter_child_nodes(node), prefix)


__all__ = [
    "DEFAULT_FRAMES",
    "MAX_FRAMES",
    "OWNER_FRAMES",
    "KnownAllocations",
    "SiteFinder",
    "Sites",
    "Tracing",
    "allocation_frames",
]
