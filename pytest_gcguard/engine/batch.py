"""What one collection saved, found in ``gc.garbage`` by identity.

The collector appends what it saves last, after every finalizer of the
collection ran; what finalizers did to ``gc.garbage`` before it (appended,
removed, cleared) stays theirs.  ``batch_start`` tells the two apart.
"""

from __future__ import annotations

import functools
import gc
import operator
import sys
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any


# A tail longer than this is checked at its head only (_closed_head), in
# memory bounded by HEAD: a collection that found ten million objects
# would otherwise cost a dictionary entry and three counters for each.
EXACT_TAIL = 16_384
HEAD = 4_096
_CHUNK = 4_096  # objects whose referents are read at once, past the head
_is_not_none = functools.partial(operator.is_not, None)


def _hits(referents: Iterable[object], get: Callable[[int], int | None]) -> Iterator[int]:
    """The positions (``get``: id -> position) of the ``referents`` that have one, at C speed."""
    return filter(_is_not_none, map(get, map(id, referents)))  # type: ignore[arg-type]


def batch_start(garbage: list[Any], before: tuple[int, ...], counted: int | None) -> int:
    """Where, in ``garbage`` at a collection's "stop", what that collection appended begins.

    ``before``: the ids of gc.garbage's items at its "start"; ``counted``:
    the collection's ``collected + uncollectable``, or None if unknown.
    The collector appends what it saves after every finalizer of the
    collection ran (delete_garbage, then handle_legacy_finalizers, both after
    finalize_garbage in CPython's gc_collect_main), so it is a tail of the
    list.  But finalizers may have appended to, removed from or cleared
    gc.garbage before it, and ``collected`` also counts the weak references
    freed after their callbacks ran (handle_weakrefs' return value is added
    to it), so neither the length at "start" nor the count places the tail
    by itself: they only bound it, and _closed_tail finds it by identity.
    """
    end = len(garbage)
    known = len(before)
    low = 0 if counted is None else max(0, end - counted)  # (the count is never too small)
    if end >= known and all(id(garbage[i]) == before[i] for i in range(known)):
        low = max(low, known)  # what was there is still there: what follows was appended
    seen = set(before)
    if len(garbage) - low > EXACT_TAIL:
        start = _closed_head(garbage, low, seen)
        if start is not None:
            return start
    return _closed_tail(garbage, low, seen)


def _closed_tail(garbage: list[Any], low: int, before: set[int]) -> int:
    """The start of the longest tail of ``garbage[low:]`` that only gc.garbage and itself refer to.

    What a collection saved was unreachable: every reference to one of its
    objects came from another of them (CPython counts them with the same
    tp_traverse that gc.get_referents uses), and it has gained only the one
    from gc.garbage since -- no Python code runs between the collector's
    appends and our first entry's "stop".  What a finalizer appended,
    or what was there before, is referred to from elsewhere, or sits in
    ``before``.  (Only an object that a finalizer put in gc.garbage and
    nothing else refers to -- one it resurrected there -- can pass for the
    collection's, and only when the count leaves room for it: when weak
    references with callbacks were freed in the same collection.)
    Linear in the tail: about 0.5 µs an object, less than analysing it.
    """
    tail = garbage[low:]
    n = len(tail)
    start = _closed_start(tail, before, garbage, len(garbage))
    return low + (n if start is None else start)


def _closed_head(garbage: list[Any], low: int, before: set[int], k: int = HEAD) -> int | None:
    """_closed_tail for a long tail, looking only at its first ``k`` objects; None when it cannot tell there.

    Every object in the tail from the collection's first on is the
    collection's, and passes _closed_tail's tests.  So when that boundary
    lies in the head, the rest of the tail only adds references into the
    head: counted for the refcount test, and, coming from past the head,
    never the first referrer that decides where the closed tail starts.
    The boundary lies past the head only if finalizers appended more than
    ``k`` objects and the collection freed as many weak references with
    callbacks (the count bounds the tail: see batch_start); then, if the
    head holds no start either, the whole tail is checked.  (If the head is
    all such objects and some look like the collection's -- appended,
    referred to by nothing else -- they are taken for it, as _closed_tail
    takes them when the count leaves room.)
    """
    start = _closed_start(garbage[low : low + k], before, garbage, low + k)
    return None if start is None else low + start


def _closed_start(head: list[Any], before: set[int], garbage: list[Any], rest: int) -> int | None:
    """Where in ``head`` the longest tail closed under references starts (None: nowhere in it).

    ``garbage[rest:]``: the objects after ``head``, taken for the
    collection's; only their references into ``head`` are read, a chunk at
    a time.  ``head`` is emptied.
    """
    n = len(head)
    position: dict[int, int] = {}
    out = -1  # the last position that cannot be the collection's
    for i in range(n):
        key = id(head[i])
        if key in before or key in position:
            out = i  # (an object the collection saved is in gc.garbage once)
        position[key] = i
    counts, ours = _refcounts(head)
    inside = [0] * n
    first = list(range(n))  # the first position whose object refers to this one (itself at the latest)
    get = position.get
    for i in range(n):
        for j in _hits(gc.get_referents(head[i]), get):
            inside[j] += 1
            if i < first[j]:
                first[j] = i
    head.clear()
    for at in range(rest, len(garbage), _CHUNK):
        chunk = garbage[at : at + _CHUNK]
        referents = gc.get_referents(*chunk)
        del chunk
        for j in _hits(referents, get):
            inside[j] += 1
        del referents
    for i in range(out + 1, n):
        if counts[i] - ours != inside[i]:
            out = i  # referred to from outside the tail
    start = None
    earliest = n  # (what follows the head is referred to by the collection's objects only)
    for i in range(n - 1, out, -1):
        earliest = min(earliest, first[i])
        if earliest >= i:
            start = i  # the tail from here refers only to itself
    return start


def _refcounts(objects: list[Any]) -> tuple[list[int], int]:
    """``sys.getrefcount`` of each of ``objects``, and how many of those references are ours.

    Ours: gc.garbage or its stand-in, ``objects``, the loop's variable,
    getrefcount's argument -- measured on an object held just like the
    others, since the count differs between versions.
    """
    calibration = object()
    stand_in = [calibration]
    objects.append(calibration)
    del calibration
    n = len(objects)
    counts = [0] * n
    for i in range(n):
        obj = objects[i]
        counts[i] = sys.getrefcount(obj)
    del obj, stand_in
    objects.pop()
    return counts, counts[-1]
