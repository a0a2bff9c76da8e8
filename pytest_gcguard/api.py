"""The library API: check a block for reference cycles, find them, explain what keeps an object alive.

Engine-level: nothing here imports pytest, so it works in any program, test
framework or REPL.  ``pytest_gcguard`` exports ``no_cycles``,
``find_cycles``, ``explain``, ``CycleError`` and ``FoundCycles``; the
``gc_guard`` fixture (``fixture.py``) offers the same inside a pytest test.

The choices behind it (docs/usage.md, "Library API"):

* **The block's garbage** is what the cycle collector finds between entering
  and leaving the block: a collection on entering frees older garbage
  first (unsaved), every collection in between -- automatic or explicit, in
  any thread, since the collector is one per process -- is watched, and one
  more runs on leaving.  The heap is *not* frozen (``gc.freeze()`` cannot
  be undone for our objects only, see below), so an object older than the
  block that the block drops into a cycle counts too.  Objects frozen by
  someone else (your ``gc.freeze()``, or pytest-gcguard's per-test window,
  which freezes everything older than the test) are invisible to the
  collector, hence to the block.
* **Whose cycle**: the plugin's rule (docs/how-it-works.md, "Whose cycle is
  it?") without test files: references held by the harness (pytest, pluggy,
  Hypothesis, pytest-gcguard; in the fixture also the installed pytest
  plugins) are cut, cycles wholly inside the standard library are reported
  and never fail, and everything else -- your test module's code too -- is
  the code under test, because you asked about this block.
* **Nesting**: windows nest (``engine/window.py``).  While a block is open, the
  garbage of every collection is the innermost block's: an outer
  ``no_cycles``, or the plugin's window around the test under
  ``--gc-guard``, does not see it.  So a cycle fails a test once -- by its
  ``CycleError`` -- and the cycles ``find_cycles`` returns or ``allow_types``
  allows are not reported again by the plugin.  Finalizer warnings of the
  block's garbage, and a heap unfrozen inside the block, are passed on to
  the enclosing window.
* **GC state** is restored exactly: the enabled flag and the thresholds are
  never changed, ``DEBUG_SAVEALL`` is set only inside collections (by our
  ``gc.callbacks`` entry, present only while a block runs), our garbage
  never stays in ``gc.garbage``, and the frozen heap is left alone -- except
  by ``explain`` inside the plugin's window (see there).
* **Generators and coroutines are refused** (``TypeError``, by the decorator
  and by ``find_cycles``): calling such a function runs none of its body, so
  a window around the call would check nothing; and a window spanning the
  body's run would be open while it is suspended (at a ``yield`` or an
  ``await``) and other code runs -- the consumer, the event loop, other
  tasks --, whose garbage the window cannot tell from the body's (windows
  are per process).  Concurrent tasks would also open and close their
  windows out of order, which nesting does not allow.  A window per resumed
  step would be sound, but costs two full collections per ``next()`` or
  ``await`` and splits one verdict into many; a block around a run that
  nothing interleaves (``list(gen())``, ``asyncio.run(main())``) checks the
  whole run soundly, and is what the error suggests.
* **Plain data**: results and ``CycleError`` carry findings (strings and
  numbers, ``findings.Cycle``), never the analysed objects; the garbage is
  freed when the call returns.
"""

from __future__ import annotations

import functools
import gc
import inspect
import sys
import types
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

from pytest_gcguard.engine.analysis import explain_garbage
from pytest_gcguard.engine.chains import NO_REFERRER
from pytest_gcguard.engine.chains import referrer_chain
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.introspect import defined_in
from pytest_gcguard.engine.introspect import plain_str
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.window import GarbageWindow
from pytest_gcguard.engine.window import GcState
from pytest_gcguard.engine.window import discard
from pytest_gcguard.judging.allowance import CycleAllowance
from pytest_gcguard.judging.allowance import allow_cycles
from pytest_gcguard.judging.allowance import fails
from pytest_gcguard.judging.allowance import split_by_allowance
from pytest_gcguard.reporting.text import cycle_failure_text
from pytest_gcguard.reporting.text import format_chain


if TYPE_CHECKING:
    from typing import ParamSpec
    from typing import TypeVar

    _P = ParamSpec("_P")
    _R = TypeVar("_R")
    # Like the marker's types=: classes or qualified names.
    AllowTypes = Iterable[type | str] | type | str | None

NO_CYCLES_HINT = "no_cycles(allow_types=[...])"

_default_owners: CodeOwners | None = None


def _owners(owners: CodeOwners | None) -> CodeOwners:
    """The given owners, or the library default: only the harness and the standard library are not the user's."""
    global _default_owners
    if owners is not None:
        return owners
    if _default_owners is None:
        _default_owners = CodeOwners()
    return _default_owners


def _module_name(frame: types.FrameType | None) -> str | None:
    return plain_str(dict.get(frame.f_globals, "__name__")) if frame is not None else None


def _context_modules(*names: str | None) -> tuple[str, ...]:
    """Modules whose code may name the attributes on a path: the caller's, the checked function's."""
    return tuple(dict.fromkeys(name for name in names if name is not None))


def _refuse_suspending(func: object, refusal: str) -> None:
    """Raise ``TypeError`` if calling ``func`` only makes a generator, coroutine or async generator.

    See the module's docstring: their body runs later, in steps, suspended
    while other code runs, and no window can soundly span that.
    """
    if inspect.isasyncgenfunction(func):
        kind, makes, waits = "async generator function", "an async generator", "await or yield"
        example = f"with no_cycles(): asyncio.run(main()), where main() runs {_short(func)}() to its end"
    elif inspect.iscoroutinefunction(func):
        kind, makes, waits = "coroutine function", "a coroutine", "await"
        example = f"with no_cycles(): asyncio.run({_short(func)}())"
    elif inspect.isgeneratorfunction(func):
        kind, makes, waits = "generator function", "a generator", "yield"
        example = f"with no_cycles(): items = list({_short(func)}())"
    else:
        return
    name = getattr(func, "__qualname__", None) or repr(func)  # a function: its own attributes, no user code
    raise TypeError(
        f"{refusal} the {kind} {name}: calling it only makes {makes}, so nothing would be checked, "
        f"and a check spanning its run would be open while it is suspended at each {waits} and other code "
        "runs, whose cycles it cannot tell from its own (the collector is one per process). "
        f"Check a run that nothing interleaves instead ({example}), "
        f"or a part of its body that has no {waits} inside the block."
    )


def _short(func: object) -> str:
    return getattr(func, "__name__", None) or "f"


class CycleError(AssertionError):
    """A block checked by ``no_cycles`` left reference cycles of the code under test.

    Its message is the plugin's report: every failing cycle as a labelled
    path (``Graph('one') --.next--> Graph('two') --.next--> Graph('one')``).
    It is an ``AssertionError``: pytest and unittest report it as a failed
    check, not as an error.

    Attributes:
        cycles: the failing cycles, as plain data (``pytest_gcguard.Cycle``);
            the objects themselves are already freed.
        unsaved: objects in cycles freed without being analysed, because the
            block made more cyclic garbage than gc-guard keeps (4,000 objects).
    """

    cycles: tuple[Cycle, ...]
    unsaved: int

    def __init__(self, message: str, cycles: Iterable[Cycle] = (), unsaved: int = 0) -> None:
        super().__init__(message)
        self.cycles = tuple(cycles)
        self.unsaved = unsaved

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.cycles, self.unsaved))


@dataclass(frozen=True)
class FoundCycles:
    """What ``find_cycles`` found: the cycles a call left as garbage, as plain data.

    ``cycles``: every cycle, grouped by shape, those of the code under test
    (``kind == "cycle"``) first, then standard-library ones (``"stdlib"``),
    the interpreter's own (``"internal"``) and those closed only by harness
    references (``"test-local"``); ``origin`` says whose code made each.  Each has
    its labelled ``path``, ``count``, ``objects`` and what it kept alive.

    ``unsaved``: objects in cycles freed without being analysed (past the
    4,000-object cap).

    ``value``: what the function returned.
    """

    cycles: tuple[Cycle, ...]
    unsaved: int = 0
    value: Any = None

    @property
    def failing(self) -> tuple[Cycle, ...]:
        """The cycles of the code under test: those ``no_cycles()`` would raise for."""
        return tuple(cycle for cycle in self.cycles if fails(cycle))

    def __str__(self) -> str:
        if not self.cycles and not self.unsaved:
            return "gc-guard: call created no reference cycles"
        return cycle_failure_text(self.cycles, unsaved=self.unsaved, hint=None, subject="call")


def _open() -> GarbageWindow:
    window = GarbageWindow(GcState())
    window.open(freeze=False)  # never freeze: see the module's docstring
    return window


def _close(
    window: GarbageWindow, owners: CodeOwners | None, modules: tuple[str, ...], *, analyse: bool = True
) -> tuple[list[Cycle], int, bool]:
    """Close the window; its garbage as findings (dropped before returning), unsaved count, heap unfrozen."""
    result = window.close()
    try:
        sampled = bool(result.sampled)
        cycles = explain_garbage(result.garbage, _owners(owners), Labeller(modules), sampled=sampled) if analyse else []
        return cycles, result.unsaved, result.heap_was_unfrozen
    finally:
        discard(result)  # freed now, and never reported again by an enclosing window
        del result


class NoCycles:
    """What ``no_cycles()`` returns: a context manager and a decorator.

    One instance may be entered again while open (nested or recursive), from
    one thread; as a decorator, each call gets a fresh check.
    """

    def __init__(
        self,
        allowance: CycleAllowance | None = None,
        *,
        owners: CodeOwners | None = None,
        context_modules: tuple[str, ...] = (),
        hint: str | None = NO_CYCLES_HINT,
        name: str = "no_cycles()",
    ) -> None:
        self._allowance = allowance
        self._name = name
        self._owners = owners
        self._modules = context_modules
        self._hint = hint
        self._windows: list[GarbageWindow] = []

    def _again(self, *modules: str | None) -> NoCycles:
        return NoCycles(
            self._allowance,
            owners=self._owners,
            context_modules=_context_modules(*self._modules, *modules),
            hint=self._hint,
            name=self._name,
        )

    def __enter__(self) -> NoCycles:
        self._windows.append(_open())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        __tracebackhide__ = True  # pytest shows the user's block, not this frame
        window = self._windows.pop()
        if exc_type is not None:
            # The block's own exception propagates unchanged; its garbage is dropped unjudged.
            _close(window, self._owners, self._modules, analyse=False)
            return
        cycles, unsaved, unfrozen = _close(window, self._owners, self._modules)
        verdict = split_by_allowance(cycles, self._allowance)
        del cycles
        if verdict.failing:
            message = cycle_failure_text(verdict.failing, unsaved=unsaved, hint=self._hint, subject="block")
            if unfrozen:
                message += "\n  (the block unfroze the heap: garbage older than the block may be among these)"
            raise CycleError(message, verdict.failing, unsaved)

    def __call__(self, func: Callable[_P, _R]) -> Callable[_P, _R]:
        _refuse_suspending(func, f"{self._name} cannot decorate")
        check = self._again(defined_in(func))

        @functools.wraps(func)
        def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            __tracebackhide__ = True
            with check._again():
                return func(*args, **kwargs)

        return checked


def no_cycles(*, allow_types: AllowTypes = None) -> NoCycles:
    """Fail if a block of code leaves reference cycles: a context manager, or a decorator.

    ::

        with no_cycles():
            build_and_drop_graph()

        @no_cycles(allow_types=[Graph])
        def rebuild(): ...

    On leaving the block, the cyclic garbage it made is analysed; if cycles
    of the code under test remain, ``CycleError`` is raised with the
    plugin's labelled report.  Standard-library cycles, and cycles closed
    only by the test harness's references (pytest's frames), never raise.
    When the block itself raises, that exception propagates unchanged and
    nothing is checked.

    A generator function, coroutine function (``async def``) or async
    generator function cannot be decorated: ``TypeError`` at once.  Calling
    one runs none of its body, and its body then runs suspended at each
    ``yield`` or ``await`` while other code runs, whose garbage a check could
    not tell from its own.  Check a whole run that nothing interleaves
    instead -- ``with no_cycles(): asyncio.run(main())`` or
    ``with no_cycles(): list(gen())`` -- or a part of the body with no
    ``yield`` or ``await`` inside the block.

    Args:
        allow_types: classes or qualified names (``"pkg.mod.Graph"``), like
            ``@pytest.mark.allow_cycles(types=...)``: cycles whose members are
            all of these types (plain containers and interpreter objects aside)
            are allowed.  A bad value raises ``TypeError`` or ``ValueError`` here.

    The collector's state is left exactly as found (enabled flag, thresholds,
    debug flags, callbacks, ``gc.garbage``, frozen objects).  Blocks nest: an
    inner block's garbage is judged by the inner block only, and inside a
    test run with ``--gc-guard`` the plugin does not report it again.
    """
    allowance = allow_cycles(types=allow_types) if allow_types is not None else None
    return NoCycles(allowance, context_modules=_context_modules(_module_name(sys._getframe(1))))


def find_cycles(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> FoundCycles:
    """Call ``fn(*args, **kwargs)`` and return the reference cycles it left as garbage, as plain data.

    ::

        found = find_cycles(make_ring, 3)
        assert [c.objects for c in found.failing] == [3]
        print(found)  # the labelled report

    The result (``FoundCycles``) holds findings -- labels, edge labels,
    counts -- and ``fn``'s return value, never the garbage: it is freed
    before this returns.  What counts as ``fn``'s garbage, and the GC state,
    are as for ``no_cycles``.  If ``fn`` raises, the exception propagates
    and nothing is analysed.  A generator, coroutine or async generator
    function is refused with ``TypeError``, as by ``no_cycles``.
    """
    modules = _context_modules(_module_name(sys._getframe(1)), defined_in(fn))
    return _find_cycles(fn, args, kwargs, None, modules)


def _find_cycles(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    owners: CodeOwners | None,
    modules: tuple[str, ...],
) -> FoundCycles:
    _refuse_suspending(fn, "find_cycles() cannot call")
    window = _open()
    try:
        value = fn(*args, **kwargs)
    except BaseException:
        _close(window, owners, modules, analyse=False)
        raise
    cycles, unsaved, _ = _close(window, owners, modules)
    return FoundCycles(tuple(cycles), unsaved, value)


def explain(obj: object) -> str:
    """What keeps ``obj`` alive: the chain of references from a root down to it, as text.

    ::

        print(explain(handler))
        # kept alive by: module app.events, global _HANDLERS
        #   list (len=4) --[3]--> Handler('saved')

    A root is a module global (``module M, global NAME``), a class attribute
    (``class C, attribute A``) or a local of a running frame, the caller's
    included (``local 'x' of running frame test_f (test_x.py:12) in thread
    MainThread``); every reference on the way is labelled.  The shortest
    chain is shown (searched breadth-first, at most 12 levels and 2
    seconds); ``explain``'s own frames and its argument are not referrers.

    A collection runs first, so that dead cycles are not shown as holders.
    The referrer search cannot see frozen objects (``gc.get_referrers``
    skips them).  Under ``--gc-guard`` the plugin keeps everything older
    than the test frozen; the heap is then unfrozen for the search and
    frozen again afterwards, with automatic collection paused meanwhile.
    ``gc.freeze()`` cannot be undone selectively, so the objects the test
    made before the call are frozen too: the plugin no longer sees, for this
    test, cycles or survivors among them.  A freeze of anyone else's (your
    ``gc.freeze()``) is left as it is, and the text says when the chain may
    run through frozen objects.
    """
    caller = sys._getframe(1)
    try:
        return _explain(obj, caller, None, _context_modules(_module_name(caller)))
    finally:
        del caller


def _explain(obj: object, caller: types.FrameType, owners: CodeOwners | None, modules: tuple[str, ...]) -> str:
    gc.collect()
    # gc.get_referrers() does not see frozen objects.  The plugin's window
    # keeps the whole heap frozen, and freezes it again itself after its
    # audits: unfreeze for the search and freeze again, as its leak search
    # does.  Anyone else's freeze (yours; CPython 3.12 freezes a few
    # hundred immortal startup objects, see GarbageWindow.audit) is left
    # alone: freezing the whole heap would make later garbage among it
    # uncollectable, unfreezing would undo it.
    refreeze = GarbageWindow.heap_frozen_by_window()
    paused = refreeze and gc.isenabled()
    if paused:
        # While unfrozen, the garbage frozen before (the window's sentinel
        # among it) must not be collected by an automatic collection.
        gc.disable()
    try:
        chain = referrer_chain(obj, _owners(owners), Labeller(modules), frozen=refreeze, roots_from=caller)
    finally:
        if paused:
            gc.enable()
    return format_explanation(chain, frozen=0 if refreeze else gc.get_freeze_count())


def format_explanation(chain: Chain, frozen: int = 0) -> str:
    """``kept alive by: ROOT`` and the labelled chain, as ``explain`` prints it.

    ``frozen``: objects frozen during the search, invisible to it.
    """
    unexplained = chain.root.startswith(NO_REFERRER) or not chain.complete
    if chain.root.startswith(NO_REFERRER) and len(chain.hops) == 1:
        # The search found no referrer at all: only temporaries (the call's
        # argument) or C code hold it.
        chain = Chain(
            "nothing -- no global, class attribute, local of a running frame or other Python object "
            "refers to it (only temporaries or C code)",
            chain.hops,
            chain.complete,
        )
    lines = [line[2:] for line in format_chain(chain)]
    if unexplained and frozen:
        lines.append(
            f"(gc.freeze() has frozen {frozen} objects, and gc.get_referrers() does not see them: "
            "the chain may run through one of them)"
        )
    return "\n".join(lines)


__all__ = ["CycleError", "FoundCycles", "NoCycles", "explain", "find_cycles", "no_cycles"]
