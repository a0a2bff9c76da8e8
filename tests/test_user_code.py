"""``introspect.user_code``: what the user's code raises ends its ``with`` block only -- unless a signal raised it."""

from __future__ import annotations

import signal
import sys
import types
from collections.abc import Iterator
from collections.abc import MutableMapping
from typing import Any

import pytest

from pytest_gcguard.engine.introspect import from_signal
from pytest_gcguard.engine.introspect import user_code
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.labels import safe_repr


class Boom(BaseException):
    """Neither an Exception nor a KeyboardInterrupt: what no ``except Exception`` catches."""


def _raise(exc: BaseException) -> None:
    raise exc


@pytest.mark.parametrize(
    "exc",
    [SystemExit(3), KeyboardInterrupt(), GeneratorExit(), Boom("x"), ValueError("v")],
    ids=["SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException", "Exception"],
)
def test_whatever_user_code_raises_ends_only_its_block(exc: BaseException) -> None:
    """``raise KeyboardInterrupt`` in a repr is the repr's failure, not a Ctrl-C."""
    with user_code() as call:
        _raise(exc)
    assert call.error == type(exc).__qualname__
    with user_code(describe=True) as call:
        _raise(exc)
    assert call.error is not None and call.error.startswith(type(exc).__qualname__)


def test_nothing_raised_no_error() -> None:
    with user_code() as call:
        pass
    assert call.error is None


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Python's own SIGINT handler (C code: raises KeyboardInterrupt), as in a terminal."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("default_sigint")
def test_a_real_ctrl_c_goes_on() -> None:
    """SIGINT delivered while the user's code runs interrupts, as it would in gc-guard's own code."""
    with pytest.raises(KeyboardInterrupt) as info, user_code():
        signal.raise_signal(signal.SIGINT)
    assert from_signal(info.value)


@pytest.mark.usefixtures("default_sigint")
def test_a_ctrl_c_re_raised_by_the_user_code_goes_on() -> None:
    """A Ctrl-C caught and raised again keeps its traceback: still a signal's."""

    def catch_and_raise_again() -> None:
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt as exc:
            raise exc from None

    with pytest.raises(KeyboardInterrupt), user_code():
        catch_and_raise_again()


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1 here")
@pytest.mark.parametrize("exc", [TimeoutError("alarm"), SystemExit(0)], ids=["alarm-like", "sys.exit"])
def test_what_a_python_signal_handler_raises_goes_on(exc: BaseException) -> None:
    """pytest-timeout's alarm, a SIGTERM handler calling sys.exit: their exceptions are the signal's, not the code's."""

    def handler(signum: int, frame: types.FrameType | None) -> None:
        raise exc

    before = signal.signal(signal.SIGUSR1, handler)
    try:
        with pytest.raises(type(exc)), user_code():
            signal.raise_signal(signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, before)


class ExitingRepr:
    def __repr__(self) -> str:
        raise SystemExit(3)


class InterruptingRepr:
    def __repr__(self) -> str:
        raise KeyboardInterrupt


@pytest.mark.parametrize("obj", [ExitingRepr(), InterruptingRepr()], ids=["SystemExit", "KeyboardInterrupt"])
def test_safe_repr_falls_back_whatever_the_repr_raises(obj: object) -> None:
    assert safe_repr(obj).startswith(f"<{type(obj).__qualname__} at 0x")


def test_a_label_hook_raising_system_exit_gets_our_label() -> None:
    def hook(obj: object) -> str:
        raise SystemExit(5)

    assert Labeller(custom=hook).label([1, 2]) == "list (len=2)"


class RaisingNamespace(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise SystemExit("a class body's namespace")


class PreparingMeta(type):
    @classmethod
    def __prepare__(mcs, name: str, bases: tuple[type, ...], /, **kwds: Any) -> MutableMapping[str, object]:
        return RaisingNamespace()


def test_a_class_body_frame_whose_namespace_raises_gets_no_local_labels() -> None:
    """A class body's locals are the mapping __prepare__ returned: its items() is user code."""
    frames: list[types.FrameType] = []

    class Body(metaclass=PreparingMeta):
        frames.append(sys._getframe())

    frame = frames.pop()
    try:
        assert type(frame.f_locals) is RaisingNamespace
        assert Labeller().edge_labels(frame, Body) == []
    finally:
        del frame
