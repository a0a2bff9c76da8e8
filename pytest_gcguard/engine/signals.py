"""Exceptions raised by a signal's handler where CPython drops them: raised again, so that they reach the test.

A signal's Python handler runs in the first Python code after the signal
arrives.  During a collection that is often a ``gc.callbacks`` entry of the
window's, and what a gc callback raises CPython only reports as unraisable,
then drops: a pytest-timeout alarm handled there would be lost, and a test
hanging in an allocation loop would hang for good (docs/how-it-works.md,
"Finalizers").

The handler already ran, with its side effects -- pytest-timeout's dumps the
stack of every other thread --: only its exception is delivered again.  A
one-shot handler (``_Once``) stands in for it, and the signal is sent again
from another thread once the collection is over; the stand-in puts the
handler back and raises the exception the handler raised.
"""

from __future__ import annotations

import signal
import threading
import types
from typing import Any

from pytest_gcguard.engine.introspect import signal_handler_on


# How long after the collection the signal is sent again: time for the
# collector to finish, so that the exception is raised in the test's code.
DELAY = 0.01


def redeliver(exc: BaseException) -> None:
    """Raise ``exc`` in the main thread in 10 ms, by the signal whose handler raised it; nothing if none did.

    Sent again once the collection is over, the stand-in raises it in the
    test's own code (or, if it lands in our callback again, it comes back here).
    """
    signum = signal_of(exc)
    pthread_kill = getattr(signal, "pthread_kill", None)
    while signum is not None and pthread_kill is not None:
        try:
            stand_in = _Once.stand_in(signum, exc)
            timer = threading.Timer(DELAY, _send, (pthread_kill, threading.main_thread().ident, signum, stand_in))
            timer.daemon = True
            timer.start()
            return
        except BaseException as again:
            # The signal sent came back while still in here (the timer thread
            # was slow to start): the stand-in raised it, and put the handler
            # back; stand in once more.
            exc, signum = again, signal_of(again)


def _send(pthread_kill: Any, ident: int, signum: int, stand_in: _Once | None) -> None:
    """Send the signal, if our stand-in -- or, without one, a Python handler -- is still there to take it.

    Its handler may have been replaced meanwhile: pytest-timeout puts
    ``SIG_DFL`` back for SIGALRM when the test ends, and SIGALRM would then
    end the process.
    """
    current = signal.getsignal(signum)
    if current is stand_in if stand_in is not None else callable(current):
        pthread_kill(ident, signum)


class _Once:
    """Stands in once for a signal's handler: puts it back, and raises what the handler raised before.

    No reference cycle: the exception's traceback holds the frame of
    ``__call__``, which holds this object, which no longer holds the exception.
    """

    __slots__ = ("_exc", "_handler", "_signum")

    def __init__(self, signum: int, handler: Any, exc: BaseException) -> None:
        self._signum = signum
        self._handler = handler
        self._exc: BaseException | None = exc

    @classmethod
    def stand_in(cls, signum: int, exc: BaseException) -> _Once | None:
        """Install a stand-in for ``signum``'s handler; None (and nothing changed) when there is no
        Python handler to put back, or the handler cannot be set here (not the main thread)."""
        handler = signal.getsignal(signum)
        if not callable(handler) or type(handler) is cls:
            return None
        once = cls(signum, handler, exc)
        try:
            signal.signal(signum, once)
        except ValueError:
            return None
        return once

    def __call__(self, signum: int, frame: types.FrameType | None) -> None:
        del frame  # (the interrupted frame: not held by the exception's traceback through us)
        exc, self._exc = self._exc, None
        handler, self._handler = self._handler, None
        signal.signal(self._signum, handler)
        if exc is None:
            return
        try:
            raise exc
        finally:
            del exc


def signal_of(exc: BaseException) -> int | None:
    """The signal whose Python handler is on ``exc``'s traceback (SIGINT for a bare KeyboardInterrupt).

    (Only our own code runs in the callback: a KeyboardInterrupt there is Ctrl-C's.)
    """
    found = signal_handler_on(exc)
    if found is None and issubclass(type(exc), KeyboardInterrupt):
        return int(signal.SIGINT)
    return found
