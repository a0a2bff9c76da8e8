"""Safe introspection: read types, class attributes and instance attributes without running user code.

User code may be hostile: ``repr`` may raise, ``__getattr__``/``__getattribute__``
may have side effects (``Mock`` creates children), ``__class__`` may be a
property, and a metaclass may override ``__getattribute__``, ``__eq__`` or
``__hash__``.  So every helper here reads through ``type``'s and
``object``'s own slots: ``type(obj)`` never ``obj.__class__``,
``type.__dict__["__flags__"].__get__(tp)`` never ``tp.__flags__``,
``object.__getattribute__`` never ``getattr``, and no descriptor that could
run user code.  Used by the labeller, the ownership rules, the survivor scan
and the analysis.

Where gc-guard must run user code on the user's behalf -- a ``repr`` for a
label, the ``pytest_gcguard_*`` hooks -- it does so inside ``user_code()``:
whatever that code raises, ``SystemExit`` and ``KeyboardInterrupt`` too, is
the user code's failure and gets a fallback, never the end of the session;
only what a signal raised (Ctrl-C, pytest-timeout's alarm) goes on.
"""

from __future__ import annotations

import ctypes
import dis
import functools
import gc
import signal
import struct
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar
from typing import overload


if TYPE_CHECKING:
    from typing import TypeGuard

_T = TypeVar("_T")

# What read_attribute and mro_lookup return for "absent, or not safe to read".
MISSING: Any = object()

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE
# Py_TPFLAGS_IMMUTABLETYPE (3.10+): C extensions' heap types (re.Pattern, and
# since 3.12 collections.deque) have it, classes made by a class statement do not.
_IMMUTABLETYPE = 1 << 8
_HAS_IMMUTABLETYPE = sys.version_info >= (3, 10)
MemberDescriptor = types.MemberDescriptorType
GetSetDescriptor = types.GetSetDescriptorType
# Class attributes whose __get__ is C code without side effects; an instance
# attribute of the same name still shadows them.
_SAFE_NON_DATA = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.ClassMethodDescriptorType,
    staticmethod,
    classmethod,
)
# type's own slots, read without asking the type's metaclass: ``tp.__flags__``
# goes through the metaclass's __getattribute__, which may raise or lie.
type_dict = type.__dict__["__dict__"].__get__
type_flags = type.__dict__["__flags__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_name = type.__dict__["__name__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_weakrefoffset = type.__dict__["__weakrefoffset__"].__get__
_module_dict: Callable[[object], dict[str, Any]] = vars(types.ModuleType)["__dict__"].__get__
_exception_traceback = BaseException.__dict__["__traceback__"].__get__
object_getattribute = object.__getattribute__
_RAISE_VARARGS = dis.opmap["RAISE_VARARGS"]


_type_basicsize = type.__dict__["__basicsize__"].__get__
_GC_TYPE = 1 << 14  # Py_TPFLAGS_HAVE_GC
_OBJECT_HEADER = object.__basicsize__  # ob_refcnt and ob_type (and the free-threaded build's own fields)
_WORD = struct.calcsize("P")
_OPAQUE_WORDS = 32  # of an object's fixed part, at most
# Fixed parts with no object pointer in them (beyond the header): nothing to read.
# (By id: a set would ask a metaclass's __hash__.)
_FLAT = frozenset(
    map(id, (str, bytes, bytearray, int, float, complex, bool, type(None), type(...), type(NotImplemented)))
)


@overload
def is_a(obj: object, cls: type[_T]) -> TypeGuard[_T]: ...
@overload
def is_a(obj: object, cls: tuple[type, ...]) -> bool: ...
def is_a(obj: object, cls: type | tuple[type, ...]) -> bool:
    """``isinstance`` that never asks the object: ``isinstance`` falls back to
    ``obj.__class__``, which a class may make a property that raises or lies."""
    return issubclass(type(obj), cls)


def is_python_class(tp: type) -> bool:
    """Made by a class statement (or type()), not by C code.

    ``Py_TPFLAGS_HEAPTYPE`` alone does not tell: since 3.10 more and more C
    types of the standard library are heap types (``functools.partial`` in
    3.10+, ``collections.deque`` in 3.12+), so a C container would read as a
    user class on one version and not on another.
    """
    flags = type_flags(tp)
    return bool(flags & _HEAPTYPE) and not (_HAS_IMMUTABLETYPE and flags & _IMMUTABLETYPE)


def is_opaque(tp: type) -> bool:
    """Whether instances of ``tp`` may hold references the collector cannot see (``opaque_words``)."""
    return sys.implementation.name == "cpython" and not type_flags(tp) & _GC_TYPE and id(tp) not in _FLAT


LRU_CACHE_WRAPPER = type(functools.lru_cache(maxsize=1)(len))  # functools._lru_cache_wrapper (C)
_lru_cache_info: Callable[[object], tuple[Any, ...]] = vars(LRU_CACHE_WRAPPER)["cache_info"]


def lru_cache_bound(obj: object) -> int | None:
    """The ``maxsize`` of a ``functools.lru_cache`` wrapper; None for anything else, or an unbounded one.

    Read with the wrapper type's own ``cache_info`` (C code), never through
    the object's attributes.
    """
    if type(obj) is not LRU_CACHE_WRAPPER:
        return None
    try:
        maxsize = _lru_cache_info(obj)[2]  # CacheInfo(hits, misses, maxsize, currsize)
    except Exception:
        return None
    return maxsize if type(maxsize) is int else None


def opaque_words(obj: object) -> tuple[int, ...]:
    """The pointer-sized words of ``obj``'s fixed part, when its type has no GC support; else nothing.

    The collector cannot look into such an object -- ``gc.get_referents``
    gives nothing, ``gc.get_referrers`` never names it -- though its C
    struct can hold references: ``io.TextIOWrapper``'s
    ``IncrementalNewlineDecoder`` holds the codec's decoder, so a leaked
    stream's decoder has "no Python referrer".  The words are read as
    numbers and never followed: a caller compares them with the ids of
    objects it holds (an object it holds cannot be freed and its id reused).
    Only the type's ``__basicsize__`` is read, which every instance has, and
    only on CPython, where an id is the object's address.
    """
    tp = type(obj)
    if not is_opaque(tp):
        return ()
    count = min((_type_basicsize(tp) - _OBJECT_HEADER) // _WORD, _OPAQUE_WORDS)
    if count <= 0:
        return ()
    return struct.unpack(f"{count}P", ctypes.string_at(id(obj) + _OBJECT_HEADER, count * _WORD))


def plain_str(value: object) -> str | None:
    """``value`` as an exact ``str`` (None if it is no string): a ``str`` subclass's
    ``__eq__``, ``__hash__`` or ``__format__`` is user code."""
    return str.__str__(value) if is_a(value, str) else None  # (a copy, by C code)


def type_qualname(tp: type) -> str | None:
    try:
        return plain_str(_type_qualname(tp))
    except Exception:
        return None


def type_short_name(tp: type) -> str | None:
    """``tp.__name__``, read without the metaclass; None unless a string."""
    try:
        return plain_str(_type_name(tp))
    except Exception:
        return None


def type_module(tp: type) -> str | None:
    """``tp.__module__``, read without the metaclass; None unless a string
    (a class statement may set ``__module__`` to anything)."""
    try:
        return plain_str(_type_module(tp))
    except Exception:
        return None


def type_mro(tp: type) -> tuple[type, ...]:
    """``tp.__mro__``, read without the metaclass."""
    mro = _type_mro(tp)
    return mro if type(mro) is tuple else (tp,)  # (None while the type is being made)


def type_weakrefoffset(tp: type) -> int:
    """``tp.__weakrefoffset__``, read without the metaclass: non-zero when instances can be weakly referenced."""
    return int(_type_weakrefoffset(tp))


def module_dict(module: object) -> dict[str, Any] | None:
    """A module's ``__dict__``, read without its class's ``__getattr__`` or properties; None for a non-module."""
    return _module_dict(module) if is_a(module, types.ModuleType) else None


def referents(obj: object) -> list[Any]:
    """``gc.get_referents(obj)``, except that a module is walked through its namespace only.

    A module's ``tp_traverse`` also visits what its C code keeps in the
    module's state (``m_traverse``), and that is interpreter internals, not
    references: CPython 3.12.0-3.12.5's ``_asyncio`` visits the ``FutureIter``
    free list there, so ``gc.get_referents`` hands out freed objects, and
    dropping them frees them again until the free list loops on itself and
    the next walk never ends (python/cpython#122695).  What a module's code
    keeps in its namespace is what a leak can be kept by.
    """
    if is_a(obj, types.ModuleType):
        return [_module_dict(obj)]
    return gc.get_referents(obj)


def type_name(tp: type) -> str:
    """``module.Qualname`` of a type, read without running metaclass code."""
    qualname = type_qualname(tp) or "?"
    module = type_module(tp)
    if module is None or module == "builtins":
        return qualname
    return f"{module}.{qualname}"


def short_type_name(tp: type) -> str:
    return type_qualname(tp) or "?"


def defined_in(fn: object) -> str | None:
    """The module a function, method or class the user passed was defined in (its ``__module__``), safely read."""
    if type(fn) is types.MethodType:
        fn = fn.__func__
    if is_a(fn, type):
        return type_module(fn)
    return plain_str(read_attribute(fn, "__module__"))


def class_dict(tp: type) -> Any:
    try:
        return type_dict(tp)
    except Exception:
        return {}


def mro_lookup(tp: type, name: str) -> object:
    """The class attribute ``name`` as ``type.__getattribute__`` would find it."""
    for klass in type_mro(tp):
        value = class_dict(klass).get(name, MISSING)
        if value is not MISSING:
            return value
    return MISSING


def is_data_descriptor(attr: object) -> bool:
    kind = type(attr)
    return mro_lookup(kind, "__set__") is not MISSING or mro_lookup(kind, "__delete__") is not MISSING


def class_namespace(tp: type) -> dict[str, object]:
    """Every class attribute as ``type.__getattribute__`` would find it: the MRO merged, nearest first."""
    merged: dict[str, object] = {}
    for klass in reversed(type_mro(tp)):
        try:
            merged.update(class_dict(klass))
        except Exception:
            continue
    return merged


def read_attribute(obj: object, name: str, namespace: dict[str, object] | None = None) -> object:
    """Read the instance attribute ``name`` without running user code.

    Returns ``MISSING`` when it is absent, or when reading it could run code
    (a property, ``cached_property`` or any other Python descriptor).
    ``namespace``: ``class_namespace(type(obj))``, when the caller has it.
    """
    tp = type(obj)
    attr = mro_lookup(tp, name) if namespace is None else namespace.get(name, MISSING)
    if attr is not MISSING:
        if type(attr) is MemberDescriptor:
            try:
                return attr.__get__(obj, tp)
            except Exception:
                return MISSING
        if is_data_descriptor(attr):
            return MISSING
        if not is_a(attr, _SAFE_NON_DATA) and mro_lookup(type(attr), "__get__") is not MISSING:
            return MISSING
    try:
        return object_getattribute(obj, name)
    except Exception:
        return MISSING


def frame_locals(frame: types.FrameType) -> list[tuple[object, object]]:
    """A frame's ``(name, value)`` locals; empty if they cannot be read safely.

    A class body's locals are its namespace: whatever mapping the metaclass's
    ``__prepare__`` returned, whose ``items()`` is user code.
    """
    items: list[object] = []
    with user_code():
        items = list(frame.f_locals.items())
    return [item for item in items if type(item) is tuple and len(item) == 2]


# -- calling user code ---------------------------------------------------------


def signal_handler_on(exc: BaseException) -> int | None:
    """The signal whose Python handler is on ``exc``'s traceback: it raised ``exc``.

    Handlers are told by their code object (functions and bound methods;
    no attribute of a handler is looked up through its class).
    """
    handlers = {}
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (ValueError, OSError):  # pragma: no cover
            continue
        if type(handler) is types.MethodType:
            handler = handler.__func__
        if type(handler) is types.FunctionType:
            handlers[handler.__code__] = signum
    tb: types.TracebackType | None = _exception_traceback(exc)
    while tb is not None:
        found = handlers.get(tb.tb_frame.f_code)
        if found is not None:
            return int(found)
        tb = tb.tb_next
    return None


def _raised_by_a_raise_statement(exc: BaseException) -> bool:
    """Whether ``exc`` started at a ``raise`` statement (bare ``raise`` and
    ``raise e`` keep the traceback where it first started)."""
    tb: types.TracebackType | None = _exception_traceback(exc)
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code.co_code
    return 0 <= tb.tb_lasti < len(code) and code[tb.tb_lasti] == _RAISE_VARARGS


def from_signal(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by a signal, not by the code it interrupted.

    True when a Python signal handler is on its traceback (pytest-timeout's
    alarm, a SIGTERM handler calling ``sys.exit``, a custom Ctrl-C handler),
    and for a ``KeyboardInterrupt`` that no ``raise`` statement raised: the
    default SIGINT handler is C code, so a real Ctrl-C leaves no frame of its
    own; it raises at the instruction the interpreter stopped at to run
    handlers (a call, a loop's jump), never at a ``raise``.  So a ``__repr__``
    that says ``raise KeyboardInterrupt`` is the repr's failure, and a
    Ctrl-C while that repr sleeps is the user's.
    """
    if signal_handler_on(exc) is not None:
        return True
    return issubclass(type(exc), KeyboardInterrupt) and not _raised_by_a_raise_statement(exc)


def describe_error(exc: BaseException) -> str:
    """``ValueError: boom`` for an exception of the user's; ``str(exc)`` is user code, run inside ``user_code``."""
    text: object = None
    with user_code():
        text = str(exc)
    text = plain_str(text)
    name = short_type_name(type(exc))
    return f"{name}: {text}" if text else name


class user_code:
    """Runs code of the user's on gc-guard's behalf; what it raises ends its ``with`` block only.

    ::

        text = fallback
        with user_code():
            text = repr(obj)

    A ``repr``, an attribute hook, ``__eq__``/``__hash__``, a
    ``pytest_gcguard_*`` hook: whatever it raises -- ``SystemExit``,
    ``KeyboardInterrupt``, ``GeneratorExit``, pytest's ``Exit`` and
    ``Failed`` included -- is a failure of that code, and the caller's
    fallback stands.  Without the plugin nobody would have called it, so it
    must neither fail a test nor end the session.  What a signal raised while
    it ran (``from_signal``: Ctrl-C, pytest-timeout's alarm) is not the code's:
    it goes on, as if the signal had arrived in gc-guard's own code.

    ``error``: what was raised (``describe_error``), with ``describe=True``;
    else the exception's class name.  None when nothing was raised.
    """

    __slots__ = ("_describe", "error")

    def __init__(self, *, describe: bool = False) -> None:
        self._describe = describe
        self.error: str | None = None

    def __enter__(self) -> user_code:
        return self

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: types.TracebackType | None
    ) -> bool:
        if exc is None or from_signal(exc):
            return False
        self.error = describe_error(exc) if self._describe else short_type_name(type(exc))
        return True
