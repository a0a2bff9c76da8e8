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
"""

from __future__ import annotations

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
_type_qualname = type.__dict__["__qualname__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_weakrefoffset = type.__dict__["__weakrefoffset__"].__get__
_module_dict: Callable[[object], dict[str, Any]] = vars(types.ModuleType)["__dict__"].__get__
object_getattribute = object.__getattribute__


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


def plain_str(value: object) -> str | None:
    """``value`` as an exact ``str`` (None if it is no string): a ``str`` subclass's
    ``__eq__``, ``__hash__`` or ``__format__`` is user code."""
    return str.__str__(value) if is_a(value, str) else None  # (a copy, by C code)


def type_qualname(tp: type) -> str | None:
    try:
        return plain_str(_type_qualname(tp))
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
