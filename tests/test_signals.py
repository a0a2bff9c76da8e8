"""A signal handler's exception that CPython dropped is raised again, without running the handler again (item 20a).

Before, the signal itself was sent again: the handler ran twice or more --
pytest-timeout's printed its stack dump up to seven times.
"""

from __future__ import annotations

import signal
import time
import types
from collections.abc import Iterator

import pytest

from pytest_gcguard.engine.signals import redeliver


pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")


class Alarm(Exception):
    pass


class CountingHandler:
    """A handler that counts its calls, and raises ``Alarm`` unless told not to."""

    def __init__(self, raises: bool = True) -> None:
        self.calls = 0
        self.raises = raises

    def handle(self, signum: int, frame: types.FrameType | None) -> None:
        self.calls += 1
        if self.raises:
            raise Alarm("the test's own alarm")


def _dropped(handler: CountingHandler) -> Alarm:
    """What the handler raised, caught as CPython catches it in a gc callback (and drops it)."""
    try:
        signal.raise_signal(signal.SIGALRM)
        time.sleep(1)  # (the handler runs before this returns)
    except Alarm as exc:
        return exc
    raise AssertionError("the handler did not raise")


def _wait() -> None:
    """Long enough for the signal to be sent again (10 ms later), in short sleeps: it lands in one."""
    for _ in range(100):
        time.sleep(0.01)


@pytest.fixture
def handler() -> Iterator[CountingHandler]:
    counting = CountingHandler()
    previous = signal.signal(signal.SIGALRM, counting.handle)
    try:
        yield counting
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_the_handler_s_exception_is_raised_again_and_the_handler_runs_once(handler: CountingHandler) -> None:
    exc = _dropped(handler)
    redeliver(exc)
    with pytest.raises(Alarm) as raised:
        _wait()
    assert raised.value is exc
    assert handler.calls == 1
    assert signal.getsignal(signal.SIGALRM) == handler.handle  # put back


def test_nothing_is_sent_once_the_handler_was_replaced(handler: CountingHandler) -> None:
    """pytest-timeout puts SIG_DFL back when the test ends: a SIGALRM sent then would end the process."""
    exc = _dropped(handler)
    redeliver(exc)
    later = CountingHandler(raises=False)
    signal.signal(signal.SIGALRM, later.handle)
    _wait()
    assert later.calls == 0
    assert handler.calls == 1
