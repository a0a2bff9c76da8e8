"""Type slots and module attributes are read without the user's code: a hostile metaclass or module is never asked."""

from __future__ import annotations

import codecs
import gc
import io
import sys
import types

import pytest

from pytest_gcguard.engine.introspect import is_python_class
from pytest_gcguard.engine.introspect import opaque_words
from pytest_gcguard.engine.introspect import type_mro
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.labels import object_label
from pytest_gcguard.engine.survivors import _is_module_level
from pytest_gcguard.engine.survivors import weakly_referable


class RaisingMeta(type):
    def __getattribute__(cls, name: str) -> object:
        raise SystemExit(f"metaclass asked for {name}")

    def __eq__(cls, other: object) -> bool:
        raise SystemExit("metaclass __eq__")

    __hash__ = type.__hash__


def hostile_class(module: str, qualname: str = "Hostile") -> type:
    """A class of RaisingMeta (made in a function: pytest's collection would ask it for attributes)."""

    def __init__(self: object) -> None:
        self.me = self  # type: ignore[attr-defined]

    return RaisingMeta("Hostile", (), {"__module__": module, "__qualname__": qualname, "__init__": __init__})


@pytest.fixture
def hostile_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A module whose __getattr__ (PEP 562) records the names it is asked for: only its dict may be read.

    (It records rather than raises: pytest itself asks a failing test's modules for attributes.)
    """
    module = types.ModuleType("hostile_module")
    asked: list[str] = []

    def module_getattr(name: str) -> object:
        asked.append(name)
        raise AttributeError(name)

    module.__dict__.update(__getattr__=module_getattr, asked=asked)
    monkeypatch.setitem(sys.modules, "hostile_module", module)
    return module


def test_a_hostile_metaclass_is_never_asked(hostile_module: types.ModuleType) -> None:
    """Flags, MRO, names, weakref offset and the module-level lookup come from ``type``'s own slots."""
    hostile = hostile_class("hostile_module")
    hostile_module.__dict__["Hostile"] = hostile
    assert is_python_class(hostile)
    assert type_mro(hostile) == (hostile, object)
    assert type_name(hostile) == "hostile_module.Hostile"
    assert weakly_referable(hostile)
    assert _is_module_level(hostile)
    assert not _is_module_level(hostile_class("hostile_module", "Outer.Hostile"))
    obj = hostile()
    # The labeller looks through the module's globals for attribute names: an
    # instance there has a type whose metaclass compares by raising.
    hostile_module.__dict__["instance"] = hostile()
    try:
        assert object_label(obj) == "Hostile"
        assert Labeller(("hostile_module",)).edge_label(obj, obj) == ".me"
        assert Labeller(("hostile_module",)).edge_labels(obj, object()) == []
    finally:
        del obj.me, hostile_module.__dict__["instance"].me
    assert hostile_module.__dict__["asked"] == []


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="an id is an address on CPython only")
def test_the_words_of_an_object_the_collector_cannot_look_into_hold_what_it_refers_to() -> None:
    """io.TextIOWrapper's newline decoder: its decoder is found by id in its struct, never followed.

    It has no GC support up to 3.12; 3.13's does, and the collector sees its decoder itself.
    """
    kind = type(codecs.getincrementaldecoder("utf-8")())
    before = [obj for obj in gc.get_objects() if type(obj) is kind]
    stream = io.TextIOWrapper(io.BytesIO(b"x"), encoding="utf-8")
    stream.read()  # makes the codec's decoder, which only the newline decoder holds
    (decoder,) = [obj for obj in gc.get_objects() if type(obj) is kind and not any(obj is old for old in before)]
    (newlines,) = [ref for ref in gc.get_referents(stream) if type(ref).__name__ == "IncrementalNewlineDecoder"]
    if gc.is_tracked(newlines):  # 3.13+: the collector looks into it, and so nothing is read
        assert any(ref is decoder for ref in gc.get_referents(newlines))
        assert opaque_words(newlines) == ()
    else:
        assert gc.get_referents(newlines) == []  # all the collector sees of it
        assert id(decoder) in opaque_words(newlines)
    assert opaque_words(stream) == ()  # the collector looks into it: nothing to read
    assert opaque_words("a" * 100) == opaque_words(10**100) == opaque_words(b"x" * 64) == ()
