"""Signals whose handler raised where CPython drops the exception: sent again, so that it reaches the test.

A signal's Python handler runs in the first Python code after the signal
arrives.  During a collection that is often a ``gc.callbacks`` entry of the
window's, and what a gc callback raises CPython only reports as unraisable,
then drops: a pytest-timeout alarm handled there would be lost, and a test
hanging in an allocation loop would hang for good (docs/how-it-works.md,
"Finalizers").
"""

from __future__ import annotations

import signal
import threading

from pytest_gcguard.engine.introspect import signal_handler_on


def redeliver(exc: BaseException) -> None:
    """Send again, from another thread in 10 ms, the signal whose handler raised ``exc``.

    Sent again once the collection is over, the handler raises in the test's
    own code (or, if it lands in our callback again, comes back here).
    """
    send_again(signal_of(exc))


def send_again(signum: int | None) -> None:
    """Send ``signum`` to the main thread in 10 ms, from another thread (nothing for None)."""
    pthread_kill = getattr(signal, "pthread_kill", None)
    while signum is not None and pthread_kill is not None:
        try:
            timer = threading.Timer(0.01, pthread_kill, (threading.main_thread().ident, signum))
            timer.daemon = True
            timer.start()
            return
        except BaseException as again:
            # The signal sent came back while still in here (the timer thread
            # was slow to start): the one outstanding is spent, send another.
            signum = signal_of(again)


def signal_of(exc: BaseException) -> int | None:
    """The signal whose Python handler is on ``exc``'s traceback (SIGINT for a bare KeyboardInterrupt).

    (Only our own code runs in the callback: a KeyboardInterrupt there is Ctrl-C's.)
    """
    found = signal_handler_on(exc)
    if found is None and issubclass(type(exc), KeyboardInterrupt):
        return int(signal.SIGINT)
    return found
