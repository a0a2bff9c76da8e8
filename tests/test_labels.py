"""Edge and object labels: right, and free of side effects on hostile objects."""

from __future__ import annotations

import functools
import gc
import sys
import types
from typing import Any
from unittest import mock

import pytest

from pytest_gcguard.engine.labels import MAX_LABEL_LEN
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.labels import NameCache
from pytest_gcguard.engine.labels import is_instance_dict
from pytest_gcguard.engine.labels import object_label
from pytest_gcguard.engine.labels import safe_repr


class Plain:
    def __init__(self) -> None:
        self.alpha: object = [1]
        self.beta: object = {"k": 1}


class Slotted:
    __slots__ = ("__private", "left")

    def __init__(self, left: object) -> None:
        self.left = left


def label(tail: object, head: object, *context: str) -> str:
    return Labeller(context or (__name__,)).edge_label(tail, head)


def test_instance_attribute_is_labelled_by_name() -> None:
    """An attribute assigned in the class reads as .name."""
    obj = Plain()
    assert label(obj, obj.alpha) == ".alpha"
    assert label(obj, obj.beta) == ".beta"


def test_labelling_does_not_materialise_the_instance_dict() -> None:
    """On 3.11+ reading __dict__ would switch the object to dict storage; referents stay as they were."""
    obj = Plain()
    before = [id(r) for r in gc.get_referents(obj)]
    label(obj, obj.alpha)
    label(obj, obj.beta)
    object_label(obj)
    assert [id(r) for r in gc.get_referents(obj)] == before


def test_attribute_set_outside_the_class_is_found_through_the_context_module() -> None:
    """a.me = a written in this module (not in the class) still reads as .me."""
    obj = Plain()
    obj.me = obj  # type: ignore[attr-defined]
    assert label(obj, obj) == ".me"


def test_a_module_made_again_under_its_name_is_read_again() -> None:
    """Names kept from a module's code label that module's objects only: made again with other code, it is read again.

    (An in-process pytester run makes ``test_foo`` anew in each test: with
    the first one's names, a later test's edges read ``<attribute>``, or not,
    by the order the tests ran in.)
    """
    names = NameCache()

    def module(assignment: str) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__name__": "remade"}
        exec(f"class Box:\n    pass\n\ndef fill(box, value):\n    box.{assignment} = value\n", namespace)
        return namespace

    for attribute in ("alpha", "beta", "alpha"):
        namespace = module(attribute)
        box, value = namespace["Box"](), [1]
        namespace["fill"](box, value)
        labeller = Labeller(names=names, context_namespaces=[namespace])
        assert labeller.edge_label(box, value) == f".{attribute}"
        del namespace, box  # (the next module may get this one's address)


def test_slots_are_labelled() -> None:
    """__slots__ values are read through their member descriptors."""
    target = object()
    obj = Slotted(target)
    assert label(obj, target) == ".left"


def test_instance_dict_edge_is_recognised() -> None:
    """A materialised instance dict is told apart from a dict attribute."""
    obj = Plain()
    real = obj.__dict__  # materialises on 3.11+, on purpose here
    assert is_instance_dict(obj, real)
    assert not is_instance_dict(obj, obj.beta)  # type: ignore[arg-type]


def test_container_edges() -> None:
    """Dict values by key, dict keys, list and tuple items by index, set elements."""
    target = Plain()
    assert label({"key": target}, target) == "['key']"
    assert label({target: 1}, target) == "key"
    assert label([0, target], target) == "[1]"
    assert label((target,), target) == "[0]"
    assert label({1, 2}, 1) == "element"


def test_frame_traceback_and_exception_edges() -> None:
    """local 'name', .f_back, .tb_frame, .__traceback__."""
    try:
        saved = ValueError("x")
        raise saved
    except ValueError as exc:
        tb = exc.__traceback__
    assert tb is not None
    frame = tb.tb_frame
    assert label(frame, saved) == "local 'saved'"
    assert label(tb, frame) == ".tb_frame"
    assert label(saved, tb) == ".__traceback__"
    inner = sys._getframe()
    assert label(inner, inner.f_back) == ".f_back"
    del tb, frame, saved, inner


def test_closure_and_method_edges() -> None:
    """A function's __closure__, a cell's contents, a bound method's __self__ and __func__."""

    def outer() -> Any:
        def f() -> Any:
            return f

        return f

    fn = outer()
    assert fn.__closure__ is not None
    cell = fn.__closure__[0]
    assert label(fn, fn.__closure__) == ".__closure__"
    assert label(cell, fn) == ".cell_contents"
    obj = Plain()
    method = types.MethodType(Plain.__init__, obj)
    assert label(method, obj) == ".__self__"
    assert label(method, Plain.__init__) == ".__func__"


def test_class_edges() -> None:
    """A class refers to its __mro__ tuple."""

    class Local:
        pass

    assert label(Local, Local.__mro__) == ".__mro__"


def test_property_and_cached_property_are_never_run() -> None:
    """Reading a label must not execute a property or fill a cached_property."""
    calls = []

    class Sneaky:
        def __init__(self) -> None:
            self.value = [1]

        @property
        def prop(self) -> object:
            calls.append("prop")
            return self.value

        @functools.cached_property
        def cached(self) -> object:
            calls.append("cached")
            return self.value

    obj = Sneaky()
    assert label(obj, obj.value) == ".value"
    assert calls == []


def test_getattr_hooks_are_not_triggered() -> None:
    """__getattr__ and __getattribute__ overrides never run while labelling."""
    calls = []

    class Hooked:
        def __init__(self) -> None:
            object.__setattr__(self, "data", [1])

        def __getattribute__(self, name: str) -> Any:
            calls.append(name)
            return object.__getattribute__(self, name)

        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            raise AttributeError(name)

    obj = Hooked()
    data = object.__getattribute__(obj, "data")
    calls.clear()
    assert label(obj, data) == ".data"
    object_label(obj)
    assert calls == []


def test_mock_children_are_not_created() -> None:
    """Labelling a Mock does not create child mocks (attribute access would)."""
    m = mock.Mock()
    child = m.child
    children_before = dict(m._mock_children)
    assert label(m, m._mock_children) == "._mock_children"
    object_label(m)
    label(child, m)
    assert dict(m._mock_children) == children_before


class LyingClass:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("lie")

    def __repr__(self) -> str:
        return "Lying()"


def test_object_label_uses_the_real_type() -> None:
    """A __class__ property that raises is never consulted."""
    assert object_label(LyingClass()) == "Lying()"


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class NotStrRepr:
    def __repr__(self) -> Any:
        return 42


class HugeRepr:
    def __repr__(self) -> str:
        return "x" * 10_000_000


class RecursiveRepr:
    def __repr__(self) -> str:
        return repr(self)


@pytest.mark.parametrize("obj", [BadRepr(), NotStrRepr(), RecursiveRepr()], ids=["raises", "not-str", "recursive"])
def test_safe_repr_falls_back(obj: object) -> None:
    """A repr that raises, returns a non-string or recurses gives <Type at 0x...>."""
    text = safe_repr(obj)
    assert text.startswith(f"<{type(obj).__qualname__} at 0x")


def test_safe_repr_truncates() -> None:
    """A 10 MB repr is cut to the label length."""
    text = safe_repr(HugeRepr())
    assert len(text) == MAX_LABEL_LEN
    assert text.endswith("…")


def test_interpreter_objects_get_descriptive_labels() -> None:
    """Frames name their code and line; containers their length; default reprs their class."""
    frame = sys._getframe()
    assert object_label(frame).startswith("frame test_interpreter_objects_get_descriptive_labels (test_labels.py:")
    assert object_label([1, 2, 3]) == "list (len=3)"
    assert object_label(Plain()) == "Plain"
    assert object_label(ValueError("boom")) == "ValueError('boom')"
    assert object_label(Plain) == "class tests.test_labels.Plain" or object_label(Plain).endswith("test_labels.Plain")
    del frame


def test_a_suspended_generator_labels_its_locals() -> None:
    """A generator refers to its frame's locals: local 'self' (3.11+ has no frame object in between)."""

    class Pump:
        def __init__(self) -> None:
            self.it = self.run()
            next(self.it)

        def run(self) -> Any:
            while True:
                yield self

    pump = Pump()
    referents = gc.get_referents(pump.it)
    if any(r is pump for r in referents):
        assert label(pump.it, pump) == "local 'self'"
    else:  # 3.9/3.10: the generator refers to a frame object
        frame = pump.it.gi_frame
        assert label(pump.it, frame) == ".gi_frame"
        assert label(frame, pump) == "local 'self'"
    pump.it.close()


class Names(list):  # type: ignore[type-arg]
    pass


class Tag(str):
    pass


class Count(int):
    pass


class Pair(tuple):  # type: ignore[type-arg]
    pass


class OwnRepr(dict):  # type: ignore[type-arg]
    def __repr__(self) -> str:
        return "OwnRepr(...)"


class Members(set):  # type: ignore[type-arg]
    pass


def test_a_builtin_subclass_is_labelled_with_its_class_name() -> None:
    """Subclasses whose repr is their base's (which does not name the type) get Name(repr); their own repr stands."""
    assert object_label(Names([1, 2])) == "Names([1, 2])"
    assert object_label(Tag("x")) == "Tag('x')"
    assert object_label(Count(3)) == "Count(3)"
    assert object_label(Pair((1,))) == "Pair((1,))"
    assert object_label(OwnRepr()) == "OwnRepr(...)"
    assert object_label(Members({1})) == "Members({1})"  # set's repr names the type already
    long = object_label(Names(range(100)))
    assert len(long) == MAX_LABEL_LEN and long.startswith("Names([0, 1,") and long.endswith("…)")


def test_a_container_subclass_has_attribute_edges_too() -> None:
    """A set or list subclass refers to its attributes (not its elements) by name."""
    members = Members({1})
    members.owner = members  # type: ignore[attr-defined]
    assert label(members, members) == ".owner"
    names = Names([0])
    names.meta = {"k": 1}  # type: ignore[attr-defined]
    assert label(names, names.meta) == ".meta"  # type: ignore[attr-defined]
    names.append(names.meta)  # type: ignore[attr-defined]
    assert Labeller().edge_labels(names, names.meta) == ["[1]", ".meta"]  # type: ignore[attr-defined]
    assert label({1, 2}, 3) == "<reference>"  # a plain set's edge to a non-element is no element
