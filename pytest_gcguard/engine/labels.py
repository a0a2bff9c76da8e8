"""Readable, side-effect-free labels for objects and for the references between them.

Two rules shape this module:

* **Never materialise an instance ``__dict__`` to find a label.**  On CPython
  3.11/3.12 the first read of ``obj.__dict__`` (also ``vars``, ``dir``,
  ``hasattr(obj, "__dict__")``) allocates a dict and switches the object to
  dict storage; on 3.13 it still allocates.  We would change the heap we are
  diagnosing (see docs/how-it-works.md).  Attribute names are found from
  candidate names instead -- ``__static_attributes__`` (3.13+), ``__slots__``,
  the names the class's and its module's code stores -- read with
  ``object.__getattribute__`` and matched by identity.
* **User code may be hostile.**  ``repr`` may raise, lie, be huge or recursive;
  ``__getattr__``/``__getattribute__`` may have side effects (``Mock`` creates
  children); ``__class__`` may be a property; a metaclass may override
  ``__getattribute__``, ``__eq__`` and ``__hash__``.  So: ``type(obj)`` never
  ``obj.__class__``, ``object.__getattribute__`` never ``getattr``, types
  compared by identity (never ``in`` a tuple or a dict of types), no
  descriptor that could run user code, and every ``repr`` and label hook run
  inside ``introspect.user_code`` (anything it raises, ``SystemExit`` too,
  gets the fallback label).
"""

from __future__ import annotations

import gc
import os
import sys
import time
import types
import weakref
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

from pytest_gcguard.engine.introspect import MISSING
from pytest_gcguard.engine.introspect import GetSetDescriptor
from pytest_gcguard.engine.introspect import class_dict
from pytest_gcguard.engine.introspect import class_namespace
from pytest_gcguard.engine.introspect import frame_locals
from pytest_gcguard.engine.introspect import is_a
from pytest_gcguard.engine.introspect import is_python_class
from pytest_gcguard.engine.introspect import mro_lookup
from pytest_gcguard.engine.introspect import object_getattribute
from pytest_gcguard.engine.introspect import plain_str
from pytest_gcguard.engine.introspect import read_attribute
from pytest_gcguard.engine.introspect import short_type_name
from pytest_gcguard.engine.introspect import type_dict
from pytest_gcguard.engine.introspect import type_module
from pytest_gcguard.engine.introspect import type_mro
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.engine.introspect import type_qualname
from pytest_gcguard.engine.introspect import user_code


if TYPE_CHECKING:
    pass

_T = TypeVar("_T")


# Longest object label we print; memray uses 100, our paths put several on a line.
MAX_LABEL_LEN = 60
# Longest dict key repr inside an edge label such as ['key'].
MAX_KEY_LEN = 40

# A class whose __repr__ took longer than SLOW_REPR seconds SLOW_REPR_STRIKES
# times is not asked again: it gets the fallback label for the rest of the
# process.  A label is not worth stalling a run for, and Python cannot
# interrupt a call (a repr that sleeps, does I/O or formats a huge structure)
# without signals, which belong to the user (pytest-timeout uses SIGALRM).
# Two strikes, not one: a busy machine can pause any call for 0.1 s, and one
# pause must not change a class's labels for the rest of the run.
SLOW_REPR = 0.1
SLOW_REPR_STRIKES = 2
# Set (to anything) only by the test that compares findings with and without
# every shortcut of the explainer (engine/shapes.py): no cache of class names.
EXPLAIN_FULLY = "_PYTEST_GCGUARD_EXPLAIN_FULLY"
SHORTCUTS = not os.environ.get(EXPLAIN_FULLY)
# Classes whose own candidate names are remembered (NameCache.own); past it the cache starts again.
MAX_CACHED_CLASSES = 10_000
# id(type) -> (weak reference to it, slow calls so far).
_slow_reprs: dict[int, tuple[weakref.ref[type], int]] = {}
# 3.11+ stores instance attributes inline; reading __dict__ then allocates it.
_INLINE_VALUES = sys.version_info >= (3, 11)
_FRAME_FILENAME_LIMIT = 30
# Types are looked up by id: ``tp in (dict, list)`` would call the ``__eq__``
# of ``tp``'s metaclass, and a dict of types its ``__hash__``.
_CONTAINERS = frozenset(map(id, (dict, list, tuple, set, frozenset)))
# The builtins' reprs that do not name the type: a Python subclass that keeps
# one (an attribute-access dict, a str enum-like) prints as its base would.
# (set, frozenset, bytearray and deque name type(obj) themselves.)
_NAMELESS_REPRS = tuple(vars(base)["__repr__"] for base in (dict, list, tuple, str, bytes, int, float, complex))
_C_ATTRIBUTES = (
    "__self__",
    "__func__",
    "__wrapped__",
    "__objclass__",
    "__callback__",
    "func",
    "args",
    "keywords",
    "fget",
    "fset",
    "fdel",
    "default_factory",
    "gi_frame",
    "gi_code",
    "cr_frame",
    "cr_code",
    "ag_frame",
    "ag_code",
    "__traceback__",
    "__context__",
    "__cause__",
)

_GENERATOR_FRAMES = {
    id(types.GeneratorType): "gi_frame",
    id(types.CoroutineType): "cr_frame",
    id(types.AsyncGeneratorType): "ag_frame",
}
_GENERATOR_CODES = {
    id(types.GeneratorType): "gi_code",
    id(types.CoroutineType): "cr_code",
    id(types.AsyncGeneratorType): "ag_code",
}

# -- object labels -----------------------------------------------------------


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code_location(code: types.CodeType, lineno: int | None = None) -> str:
    filename = code.co_filename
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = _truncate(base, _FRAME_FILENAME_LIMIT)
    return f"{base}:{code.co_firstlineno if lineno is None else lineno}"


def _code_name(code: types.CodeType) -> str:
    return str(getattr(code, "co_qualname", code.co_name))


def fallback_label(obj: object) -> str:
    return f"<{short_type_name(type(obj))} at {id(obj):#x}>"


def safe_repr(obj: object, limit: int = MAX_LABEL_LEN) -> str:
    """``repr(obj)``, guarded: raising, non-str, recursive, huge or slow output falls back.

    A class whose repr was slow ``SLOW_REPR_STRIKES`` times is never asked again.
    """
    tp = type(obj)
    slow = _slow_reprs.get(id(tp))
    if slow is not None and slow[0]() is not tp:
        slow = None  # another class had this id
    if slow is not None and slow[1] >= SLOW_REPR_STRIKES:
        return fallback_label(obj)
    start = time.perf_counter()
    text: object = None
    with user_code():
        text = repr(obj)
    if time.perf_counter() - start > SLOW_REPR:
        try:
            _slow_reprs[id(tp)] = (weakref.ref(tp), 1 if slow is None else slow[1] + 1)
        except TypeError:
            pass
    if not is_a(text, str):
        return fallback_label(obj)
    return _one_line(str.__str__(text), limit)


def _one_line(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, on one line: a repr may span lines
    (``mock``'s call lists are pretty-printed) or hold control characters,
    and a label is one item of a one-line path."""
    bound = 4 * limit  # never clean more than we may print (a repr can be 10 MB)
    head = text[:bound]
    if not head.isprintable():
        head = " ".join(filter(None, (line.strip() for line in head.splitlines())))
        head = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in head)
    label = _truncate(head, limit)
    if len(text) > bound and not label.endswith("…"):
        label = label[: limit - 1] + "…"
    return label


def object_label(obj: object) -> str:
    """A short label for an object in a path: its repr for user objects,
    a description for interpreter objects (whose repr is long or useless)."""
    tp = type(obj)
    try:
        if tp is types.FrameType:
            frame: types.FrameType = obj  # type: ignore[assignment]
            code = frame.f_code
            return f"frame {_code_name(code)} ({_code_location(code, frame.f_lineno)})"
        if tp is types.FunctionType:
            fn: types.FunctionType = obj  # type: ignore[assignment]
            return f"function {fn.__qualname__} ({_code_location(fn.__code__)})"
        if tp is types.MethodType:
            func = obj.__func__  # type: ignore[attr-defined]
            return f"bound method {func.__qualname__ if type(func) is types.FunctionType else '?'}"
        if tp is types.CodeType:
            return f"code {_code_name(obj)} ({_code_location(obj)})"  # type: ignore[arg-type]
        if tp is types.TracebackType:
            return "traceback"
        if tp is types.CellType:
            return "cell"
        if id(tp) in _GENERATOR_CODES:
            code = object_getattribute(obj, _GENERATOR_CODES[id(tp)])
            return f"{tp.__name__} {_code_name(code)}"
        if tp is types.ModuleType:
            return f"module {safe_repr(object_getattribute(obj, '__name__'))}"
        if is_a(obj, type):
            return f"class {type_name(obj)}"
        if id(tp) in _CONTAINERS:
            return f"{tp.__name__} (len={len(obj)})"  # type: ignore[arg-type]
        if tp is str or tp is bytes:
            return safe_repr(obj[:MAX_LABEL_LEN])  # type: ignore[index]
        if tp is types.BuiltinFunctionType:
            return f"builtin method {safe_repr(object_getattribute(obj, '__qualname__'))[1:-1]}"
        if is_a(obj, BaseException):
            return _exception_label(obj)
        if not is_python_class(tp):
            # C types (descriptors, builtins' internals, C containers whose
            # repr would run their items' reprs): the type says enough.
            return short_type_name(tp)
        found = mro_lookup(tp, "__repr__")
        if found is object.__repr__:
            # The default repr adds only an address: the class name reads better.
            return short_type_name(tp)
        if any(found is builtin for builtin in _NAMELESS_REPRS):
            # AttrDict({'server': …}), not a bare {'server': …} nobody can tell from a dict.
            name = short_type_name(tp)
            return f"{name}({safe_repr(obj, MAX_LABEL_LEN - len(name) - 2)})"
    except Exception:
        return fallback_label(obj)
    return safe_repr(obj)


def _exception_label(exc: BaseException) -> str:
    """``ValueError('boom')``: the class and its arguments, whatever its ``__repr__`` does."""
    try:
        args = BaseException.__dict__["args"].__get__(exc, type(exc))
    except Exception:
        args = ()
    name = short_type_name(type(exc))
    if type(args) is not tuple or not args:
        return name
    shown = safe_repr(args[0], MAX_LABEL_LEN - len(name) - 2)
    return f"{name}({shown}{', …' if len(args) > 1 else ''})"


# -- edge labels ---------------------------------------------------------------


def _code_names(code: types.CodeType, out: set[str]) -> None:
    stack = [code]
    while stack:
        current = stack.pop()
        out.update(current.co_names)
        # setattr(self, "name", ...) and friends name attributes in constants.
        out.update(c for c in current.co_consts if type(c) is str and c.isidentifier())
        stack.extend(c for c in current.co_consts if type(c) is types.CodeType)


def _function_code(value: object) -> types.CodeType | None:
    kind = type(value)
    if kind is staticmethod or kind is classmethod:  # (not "in": a metaclass's __eq__ is code)
        value = value.__func__  # type: ignore[attr-defined]
    if type(value) is property:
        value = value.fget
    if type(value) is types.FunctionType:
        return value.__code__
    return None


_FUNCTION_ATTRIBUTES = (
    "__closure__",
    "__globals__",
    "__defaults__",
    "__kwdefaults__",
    "__dict__",
    "__code__",
    "__annotations__",
    "__module__",
    "__name__",
    "__qualname__",
    "__doc__",
)


def _container_labels(tail: object, head: object) -> list[str] | None:
    """Edge labels out of the builtin containers (their own iteration, never a subclass's); None for others."""
    if is_a(tail, dict):
        labels = []
        for key, value in dict.items(tail):
            if value is head:
                labels.append(f"[{safe_repr(key, MAX_KEY_LEN)}]")
            if key is head:
                labels.append("key")
        return labels
    for base in (list, tuple, deque):
        if is_a(tail, base):
            # The base type's iterator: a subclass's __iter__ could run user code.
            items: Iterable[object] = base.__iter__(tail)  # type: ignore[arg-type]
            return [f"[{i}]" for i, item in enumerate(items) if item is head]
    for kind in (set, frozenset):
        if is_a(tail, kind):
            # By identity: a set subclass's other references are its attributes.
            elements: Iterable[object] = kind.__iter__(tail)  # type: ignore[arg-type]
            return ["element"] if any(item is head for item in elements) else []
    return None


class ModuleNames:
    """The names a module's code stores, and what tells the namespace they were read from.

    The namespace's identity and size, and one of its functions or classes
    held weakly under its name (a witness): a module dropped and made again
    under the same name has a new dict (which may reuse the old one's
    address) and new functions.
    """

    __slots__ = ("_namespace_id", "_size", "_witness", "names")

    def __init__(self, namespace: dict[str, Any], module_name: str, names: frozenset[str]) -> None:
        self.names = names
        self._namespace_id = id(namespace)
        self._size = dict.__len__(namespace)
        self._witness: tuple[str, weakref.ref[Any]] | None = None
        for key, value in list(dict.items(namespace)):
            if type(key) is not str:
                continue
            if type(value) is types.FunctionType:
                own = value.__globals__ is namespace  # (defined here, not imported)
            else:
                own = is_a(value, type) and type_module(value) == module_name
            if own:
                self._witness = (key, weakref.ref(value))
                break

    def holds(self, namespace: dict[str, Any]) -> bool:
        """Whether ``namespace`` is (still) the one the names were read from."""
        if id(namespace) != self._namespace_id or dict.__len__(namespace) != self._size:
            return False
        if self._witness is None:
            return True
        key, ref = self._witness
        value = ref()
        return value is not None and dict.get(namespace, key) is value


class NameCache:
    """Candidate attribute names per class and per module, kept across analyses.

    Classes are held weakly (a class made inside a test must not outlive
    it because we looked at it); ids are checked against the weak reference,
    so a reused id never returns another class's names.
    """

    def __init__(self) -> None:
        self.by_type: dict[int, tuple[weakref.ref[type], frozenset[str]]] = {}
        # By module name, with what tells the namespace they were read from
        # (ModuleNames.holds): a test may make a module of the same name with
        # other code (an in-process pytester run's test_foo), and the names of
        # the first must not label the second's objects in later tests only.
        self.by_module: dict[str, ModuleNames] = {}
        # The names one class's own namespace contributes (not its bases'):
        # a class made in every test is new each time, its library base
        # class is not, and walking the base's methods' code is the cost.
        self.own: dict[int, tuple[weakref.ref[type], tuple[int, ...], frozenset[str]]] = {}
        # The candidate names in the order they are tried, sorted once per class and per module.
        self.sorted_by_type: dict[int, tuple[weakref.ref[type], frozenset[str], tuple[str, ...]]] = {}
        self.sorted_by_module: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {}

    def clear(self) -> None:
        self.by_type.clear()
        self.by_module.clear()
        self.own.clear()
        self.sorted_by_type.clear()
        self.sorted_by_module.clear()


class Labeller:
    """Labels the references from one object to another.

    Make one per analysis: it caches class namespaces (which hold class
    attributes) only for its own lifetime.  Candidate names live in a
    ``NameCache``, shared across analyses when the caller passes one.
    """

    def __init__(
        self,
        context_modules: Iterable[str] = (),
        names: NameCache | None = None,
        custom: Callable[[object], object] | None = None,
        context_namespaces: Iterable[dict[str, Any]] = (),
    ) -> None:
        # The test module's namespace, from pytest's item: a test may drop its
        # own module from sys.modules (trio's test_trio_import), and names
        # read by name from sys.modules would then depend on the test order.
        self._given = {
            name: namespace
            for namespace in context_namespaces
            for name in (plain_str(dict.get(namespace, "__name__")),)
            if name is not None
        }
        self._context_modules = tuple(dict.fromkeys([*context_modules, *self._given]))
        self._names = names if names is not None else NameCache()
        self._namespaces: dict[int, tuple[type, dict[str, object]]] = {}
        self._module_memo: dict[str, frozenset[str]] = {}  # module names checked in this analysis
        # A user's labels (the pytest_gcguard_label hook): a str, or None for ours.
        self._custom = custom

    def label(self, obj: object) -> str:
        """The object's label: the user's, when a hook gives one, else ``object_label``."""
        if self._custom is not None:
            text: object = None  # a raising hook gets our label, never a failed run
            with user_code():
                text = self._custom(obj)
            if is_a(text, str):
                return _one_line(str.__str__(text), MAX_LABEL_LEN)
        return object_label(obj)

    def _namespace(self, tp: type) -> dict[str, object]:
        cached = self._namespaces.get(id(tp))
        if cached is None or cached[0] is not tp:
            cached = (tp, class_namespace(tp))
            self._namespaces[id(tp)] = cached
        return cached[1]

    # ---- candidate attribute names

    def _module_names(self, module_name: str, near: object = None) -> frozenset[str]:
        """The names the code of module ``module_name`` stores; ``near``: a class or function of it.

        The module's namespace is the one the test's item gave, else the
        globals of ``near``'s code, else ``sys.modules``'s: a module a test
        dropped from ``sys.modules`` still has its classes and functions,
        so what they find does not depend on what ran before.  Names are
        kept (across analyses) only when a namespace was found, and used
        again only for that namespace.
        """
        memo = self._module_memo.get(module_name)
        if memo is not None:
            return memo
        namespace = self._given.get(module_name)
        if namespace is None:
            namespace = _namespace_near(near, module_name)
        if namespace is None:
            module = sys.modules.get(module_name)
            namespace = module.__dict__ if type(module) is types.ModuleType else None
        if namespace is None:
            return frozenset()
        cached = self._names.by_module.get(module_name)
        if cached is None or not cached.holds(namespace):
            names = self._read_module_names(namespace, module_name)
            cached = self._names.by_module[module_name] = ModuleNames(namespace, module_name, names)
        self._module_memo[module_name] = cached.names
        return cached.names

    def _read_module_names(self, namespace: dict[str, Any], module_name: str) -> frozenset[str]:
        names: set[str] = set()
        try:
            for value in list(namespace.values()):
                code = _function_code(value)
                if code is not None:
                    _code_names(code, names)
                elif is_a(value, type) and type_module(value) == module_name:
                    names |= self._type_names(value)
        except Exception:
            pass
        return frozenset(names)

    def _type_names(self, tp: type) -> frozenset[str]:
        cached = self._names.by_type.get(id(tp))
        if cached is not None and cached[0]() is tp:
            return cached[1]
        names: set[str] = set()
        for klass in type_mro(tp):
            names |= self._own_names(klass)
        result = frozenset(names)
        try:
            self._names.by_type[id(tp)] = (weakref.ref(tp), result)
        except TypeError:  # a type that cannot be weakly referenced: do not cache
            pass
        return result

    def _own_names(self, klass: type) -> frozenset[str]:
        """The candidate names ``klass``'s own namespace holds (``_type_names`` takes them over the MRO)."""
        namespace = class_dict(klass)
        try:
            # What the names are read from, by identity: a method patched onto
            # the class since (or its code replaced) is read again.
            key = tuple(
                id(value) if code is None else id(code)
                for value in list(namespace.values())
                for code in (_function_code(value),)
            )
        except Exception:
            key = None
        cached = self._names.own.get(id(klass)) if SHORTCUTS and key is not None else None
        if cached is not None and cached[0]() is klass and cached[1] == key:
            return cached[2]
        names: set[str] = set()
        try:
            # Exact strs in an exact tuple or list only: a class statement
            # may set these to anything, and a subclass's methods are code.
            names.update(_plain_strs(namespace.get("__static_attributes__")))
            slots = namespace.get("__slots__")
            for slot in (slots,) if type(slots) is str else _plain_strs(slots):
                names.add(slot)
                if slot.startswith("__") and not slot.endswith("__"):
                    qualname = type_qualname(klass) or ""
                    names.add(f"_{qualname.rsplit('.', 1)[-1].lstrip('_')}{slot}")
            for value in list(namespace.values()):
                code = _function_code(value)
                if code is not None:
                    _code_names(code, names)
        except Exception:
            pass  # what was read before the error counts
        result = frozenset(names)
        if SHORTCUTS and key is not None:
            if len(self._names.own) >= MAX_CACHED_CLASSES:
                self._names.own.clear()  # ints and strs only, but one entry per class a session made
            try:
                self._names.own[id(klass)] = (weakref.ref(klass), key, result)
            except TypeError:  # a type that cannot be weakly referenced: do not cache
                pass
        return result

    def _candidate_names(self, tp: type, head: object) -> Iterable[str]:
        if not SHORTCUTS:
            yield from self._candidate_names_unsorted(tp, head)
            return
        # As below, with each class's and module's names sorted once: the
        # same names in the same order (a sorted set less some names is the
        # sorted set without them), read from the same caches.
        own = self._type_names(tp)
        cached = self._names.sorted_by_type.get(id(tp))
        if cached is None or cached[0]() is not tp or cached[1] is not own:
            if len(self._names.sorted_by_type) >= MAX_CACHED_CLASSES:
                self._names.sorted_by_type.clear()
            ordered = tuple(sorted(own))
            try:
                self._names.sorted_by_type[id(tp)] = (weakref.ref(tp), own, ordered)
            except TypeError:  # a type that cannot be weakly referenced: do not cache
                pass
        else:
            ordered = cached[2]
        yield from ordered
        added: set[str] = set()
        for module_name, near in self._candidate_modules(tp, head):
            if module_name is not None:
                names = self._module_names(module_name, near)
                entry = self._names.sorted_by_module.get(module_name)
                if entry is None or entry[0] is not names:
                    entry = self._names.sorted_by_module[module_name] = (names, tuple(sorted(names)))
                for name in entry[1]:
                    if name not in own and name not in added:
                        added.add(name)
                        yield name

    def _candidate_modules(self, tp: type, head: object) -> list[tuple[str | None, object]]:
        """The modules whose code may name the edge, each with a class or function of it (``_module_names``).

        Code that sets the attribute often lives with the referrer's class,
        the referred object's class (x.owner = self) or function
        (obj.callback = f), or the test.
        """
        return [
            (type_module(tp), tp),
            (type_module(type(head)), type(head)),
            *((name, head) for name in _function_module(head)),
            *((name, None) for name in self._context_modules),
        ]

    def _candidate_names_unsorted(self, tp: type, head: object) -> Iterable[str]:
        yield from sorted(self._type_names(tp))
        seen = set(self._type_names(tp))
        for module_name, near in self._candidate_modules(tp, head):
            if module_name is not None:
                for name in sorted(self._module_names(module_name, near) - seen):
                    seen.add(name)
                    yield name

    # ---- the labels

    def edge_labels(self, tail: object, head: object, *, first: bool = False) -> list[str]:
        """Every label under which ``tail`` refers to ``head`` (may be empty); only one with ``first``."""
        try:
            return self._edge_labels(tail, head, first)
        except Exception:
            return []

    def edge_label(self, tail: object, head: object) -> str:
        labels = self.edge_labels(tail, head, first=True)
        if labels:
            return labels[0]
        tp = type(tail)
        return "<attribute>" if is_python_class(tp) else "<reference>"

    def _edge_labels(self, tail: object, head: object, first: bool) -> list[str]:
        tp = type(tail)
        labels = _container_labels(tail, head)
        if labels is not None:
            # A Python subclass of a container (an attribute-access dict) has
            # attributes too: its __dict__, its slots.
            if (labels and first) or not is_python_class(tp):
                return labels
        else:
            labels = self._interpreter_labels(tail, head)
            if labels is not None:
                return labels
            labels = []
        if is_a(tail, BaseException):
            # BaseException's own slots: a subclass may make "args" a property.
            labels = self._named(tail, head, ("__traceback__", "__context__", "__cause__", "args"), BaseException)
            if type(head) is dict and _exception_dict(tail) is head:
                labels.append(".__dict__")
        if not is_python_class(tp):
            return labels or self._named(tail, head, _C_ATTRIBUTES)
        if head is tp:
            return [".__class__"]
        if labels and first:
            return labels
        return labels + self._instance_labels(tail, head, first)

    def _interpreter_labels(self, tail: object, head: object) -> list[str] | None:
        """Edge labels out of frames, cells, tracebacks, functions, methods, classes, modules and
        generators; None when ``tail`` is none of them."""
        tp = type(tail)
        if tp is types.FrameType:
            return self._frame_labels(tail, head)  # type: ignore[arg-type]
        if tp is types.CellType:
            return [".cell_contents"]
        if tp is types.TracebackType:
            tb: types.TracebackType = tail  # type: ignore[assignment]
            return [f".{name}" for name, value in (("tb_frame", tb.tb_frame), ("tb_next", tb.tb_next)) if value is head]
        if tp is types.FunctionType:
            return self._named(tail, head, _FUNCTION_ATTRIBUTES)
        if tp is types.MethodType:
            return self._named(tail, head, ("__self__", "__func__"))
        if tp is types.MappingProxyType:
            return ["mapping"]
        if is_a(tail, type):
            return self._type_labels(tail, head)
        if tp is types.ModuleType:
            return ["__dict__"] if object_getattribute(tail, "__dict__") is head else []
        if id(tp) in _GENERATOR_FRAMES:
            labels = self._named(tail, head, _C_ATTRIBUTES)
            frame = getattr(tail, _GENERATOR_FRAMES[id(tp)], None)
            # 3.11+: a suspended generator's locals are its referents directly.
            return labels or ([] if frame is None else self._frame_labels(frame, head))
        return None

    def _named(self, tail: object, head: object, names: Iterable[str], owner: type | None = None) -> list[str]:
        """The ``names`` under which ``tail`` refers to ``head``; with ``owner``, read
        through ``owner``'s own descriptors (``tail``'s class and metaclass may override them)."""
        labels = []
        for name in names:
            try:
                value = object_getattribute(tail, name) if owner is None else type_dict(owner)[name].__get__(tail)
            except Exception:
                continue
            if value is head:
                labels.append(f".{name}")
        return labels

    def _type_labels(self, tail: type, head: object) -> list[str]:
        labels = self._named(tail, head, ("__mro__", "__bases__", "__base__"), type)
        try:
            namespace = type_dict(tail)
            # The mapping proxy refers to the type's real dict, which is what
            # gc.get_referents(type) reports.
            if any(r is head for r in gc.get_referents(namespace)):
                labels.append(".__dict__")
            for key, value in namespace.items():
                if value is head:
                    name = plain_str(key)
                    labels.append(f".{name}" if name is not None else f"[{safe_repr(key, MAX_KEY_LEN)}]")
        except Exception:
            pass
        return labels

    def _frame_labels(self, frame: types.FrameType, head: object) -> list[str]:
        labels = []
        for name in ("f_back", "f_code", "f_globals", "f_builtins", "f_trace"):
            if getattr(frame, name, None) is head:
                labels.append(f".{name}")
        local_items = frame_locals(frame)
        cell_contents = MISSING
        if type(head) is types.CellType:
            try:
                cell_contents = head.cell_contents
            except ValueError:
                pass
        for key, value in local_items:
            local = plain_str(key)  # (a class body's namespace may have any keys)
            if local is None:
                continue
            if value is head:
                labels.append(f"local {local!r}")
            elif cell_contents is not MISSING and value is cell_contents:
                labels.append(f"local {local!r} (cell)")
        if not labels and type(frame.f_locals) is dict and frame.f_locals is head:
            labels.append(".f_locals")
        return labels

    def _instance_labels(self, obj: object, head: object, first: bool) -> list[str]:
        if is_a(head, dict) and is_instance_dict(obj, head):
            # The (materialised) instance dict: cheap to tell, no name to look for.
            # (A dict subclass too: the AttrDict recipe sets self.__dict__ = self.)
            return [".__dict__"]
        tp = type(obj)
        namespace = self._namespace(tp)
        labels = []
        for name in self._candidate_names(tp, head):
            if read_attribute(obj, name, namespace) is head:
                labels.append(f".{name}")
                if first:
                    return labels
        return labels


def _namespace_near(near: object, module_name: str) -> dict[str, Any] | None:
    """The globals of ``near``'s code (a function, or a class's first function) when they are ``module_name``'s."""
    try:
        functions = [near] if type(near) is types.FunctionType else []
        if is_a(near, type):
            functions = [value for value in list(class_dict(near).values()) if type(value) is types.FunctionType]
        for function in functions:
            namespace = function.__globals__
            if plain_str(dict.get(namespace, "__name__")) == module_name:
                return namespace
    except Exception:
        pass
    return None


def _function_module(obj: object) -> tuple[str, ...]:
    """The module a function was defined in (its ``__module__``, a plain str), if ``obj`` is one."""
    if type(obj) is not types.FunctionType:
        return ()
    name = plain_str(obj.__module__)
    return () if name is None else (name,)


def _plain_strs(values: object) -> list[str]:
    """The exact strs in an exact tuple or list (``__slots__``, ``__static_attributes__``), read by C code only."""
    if type(values) is not tuple and type(values) is not list:
        return []
    return [value for value in values if type(value) is str]


def _exception_dict(exc: BaseException) -> object:
    try:
        return BaseException.__dict__["__dict__"].__get__(exc, type(exc))
    except Exception:
        return MISSING


def is_instance_dict(obj: object, candidate: dict[Any, Any]) -> bool:
    """Whether ``candidate`` is ``obj.__dict__``, decided without creating it.

    On 3.9/3.10 reading ``__dict__`` has no side effect.  On 3.11+ it may
    allocate, so compare the dict's plain string keys with what
    ``object.__getattribute__`` reads for them (only names with no descriptor
    in the class, so no user code runs).
    """
    if is_a(obj, BaseException):
        return _exception_dict(obj) is candidate
    if not _INLINE_VALUES:
        descriptor = mro_lookup(type(obj), "__dict__")
        if type(descriptor) is not GetSetDescriptor:
            return False
        try:
            return descriptor.__get__(obj, type(obj)) is candidate
        except Exception:
            return False
    checked = 0
    for key, value in dict.items(candidate):
        if type(key) is not str or mro_lookup(type(obj), key) is not MISSING:
            continue
        try:
            if object_getattribute(obj, key) is not value:
                return False
        except Exception:
            return False
        checked += 1
        if checked == 3:
            break
    return checked > 0
