"""Safe introspection: read types, class attributes and instance attributes without running user code.

User code may be hostile: ``repr`` may raise, ``__getattr__``/``__getattribute__``
may have side effects (``Mock`` creates children), ``__class__`` may be a
property, and a metaclass may override ``__getattribute__``.  So every helper
here reads through ``type``'s and ``object``'s own slots: ``type(obj)`` never
``obj.__class__``, ``object.__getattribute__`` never ``getattr``, and no
descriptor that could run user code.  Used by the labeller, the ownership
rules, the survivor scan and the analysis.
"""

from __future__ import annotations

import sys
import types
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
# Attribute names of C types that hold references; read only on non-heap types.
type_dict = type.__dict__["__dict__"].__get__
type_qualname = type.__dict__["__qualname__"].__get__
type_module = type.__dict__["__module__"].__get__
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
    flags = tp.__flags__
    return bool(flags & _HEAPTYPE) and not (_HAS_IMMUTABLETYPE and flags & _IMMUTABLETYPE)


def type_name(tp: type) -> str:
    """``module.Qualname`` of a type, read without running metaclass code."""
    try:
        qualname = type_qualname(tp)
        module = type_module(tp)
    except Exception:
        return "?"
    if not is_a(qualname, str):
        qualname = "?"
    if module == "builtins" or not is_a(module, str):
        return str(qualname)
    return f"{module}.{qualname}"


def short_type_name(tp: type) -> str:
    try:
        qualname = type_qualname(tp)
    except Exception:
        return "?"
    return qualname if is_a(qualname, str) else "?"


def class_dict(tp: type) -> Any:
    try:
        return type_dict(tp)
    except Exception:
        return {}


def mro_lookup(tp: type, name: str) -> object:
    """The class attribute ``name`` as ``type.__getattribute__`` would find it."""
    try:
        mro = type_dict(type)["__mro__"].__get__(tp)
    except Exception:
        return MISSING
    for klass in mro:
        value = class_dict(klass).get(name, MISSING)
        if value is not MISSING:
            return value
    return MISSING


def is_data_descriptor(attr: object) -> bool:
    kind = type(attr)
    return mro_lookup(kind, "__set__") is not MISSING or mro_lookup(kind, "__delete__") is not MISSING


def class_namespace(tp: type) -> dict[str, object]:
    """Every class attribute as ``type.__getattribute__`` would find it: the MRO merged, nearest first."""
    try:
        mro = type_dict(type)["__mro__"].__get__(tp)
    except Exception:
        return {}
    merged: dict[str, object] = {}
    for klass in reversed(mro):
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
