"""Running a test item again, without reporting the run, and what the re-runs observed.

pytest has no public API for this: its runner's ``runtestprotocol(item,
log=False)`` runs setup, call and teardown and returns the reports without
logging them.  pytest-rerunfailures (pytest-dev) uses the same function; we
keep the private import in this one place.  The runner re-creates the
item's fixture request when ``item._request`` is false (it does so itself
after every run, see ``runtestprotocol``); we ask for that explicitly
because we re-run from inside the first run's teardown report.

While a ``Rerun`` runs, the guard hands it each re-run's window and
survivors (it is the guard's current *run*, see ``guard.py``); ``run()``
returns an ``Observation`` (``judging/judge.py``).
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pluggy
import pytest

from pytest_gcguard.engine.chains import NO_REFERRER
from pytest_gcguard.engine.chains import referrer_chains
from pytest_gcguard.engine.chains import thread_names
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Cycle
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.engine.introspect import type_mro
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.engine.keepers import Reached
from pytest_gcguard.engine.keepers import fold
from pytest_gcguard.engine.keepers import reached_kinds
from pytest_gcguard.engine.keepers import registry_keys
from pytest_gcguard.engine.labels import Labeller
from pytest_gcguard.engine.ownership import CodeOwners
from pytest_gcguard.engine.shapes import OPTIMISED
from pytest_gcguard.engine.sites import SiteFinder
from pytest_gcguard.engine.survivors import LiveTracker
from pytest_gcguard.engine.survivors import grows_every_time
from pytest_gcguard.judging.judge import Observation
from pytest_gcguard.observe import WindowFindings


def run_again(item: pytest.Item, nextitem: pytest.Item | None) -> list[pytest.TestReport]:
    """Run ``item`` once more; its reports are returned, never logged.

    Warnings the run emits are recorded and dropped, so the test's warnings
    are not reported twice; filters (``-W error``) still apply.  Reports
    the test logs itself are returned too (``_unlogged``).
    """
    from _pytest.runner import runtestprotocol

    if hasattr(item, "_request"):
        item._request = False
    with warnings.catch_warnings(record=True), _unlogged(item.config) as logged:
        reports = runtestprotocol(item, log=False, nextitem=nextitem)
    return [*reports, *logged]


@contextlib.contextmanager
def _unlogged(config: pytest.Config) -> Iterator[list[pytest.TestReport]]:
    """Reports logged during the block are kept in the list given, never logged.

    ``runtestprotocol(log=False)`` does not log the phases' reports, but a
    subtest's report is logged by the code that runs it, through the item's
    hook relay: pytest 9's ``subtests`` fixture and unittest's ``subTest``
    (``_pytest/subtests.py``, ``_pytest/unittest.py``), pytest-subtests on
    pytest 8.  A re-run then doubled the session's "subtests passed"
    (pyparsing's suite: 3,235 for 1,543), and a subtest that failed in the
    re-run only failed the session.  The relay's caller is swapped for one
    that keeps what it is given: ``item.ihook`` is the relay itself, or a
    proxy that reads its callers from the relay when asked
    (``PluginManager.subset_hook_caller``).  ``pytest_exception_interact``
    goes quiet too: the runner calls it for a failed phase whatever ``log``
    says, and ``--pdb`` stopped in a failure no report shows.
    """
    relay = config.hook
    logged: list[pytest.TestReport] = []

    def keep(name: str, impls: object, kwargs: Mapping[str, object], firstresult: bool) -> list[object]:
        report = kwargs.get("report")
        if isinstance(report, pytest.TestReport):
            logged.append(report)
        return []

    def drop(name: str, impls: object, kwargs: Mapping[str, object], firstresult: bool) -> list[object]:
        return []  # (the failed phase's report is among runtestprotocol's, or kept by ``keep``)

    originals = {name: getattr(relay, name) for name in (_LOGREPORT, _INTERACT)}
    setattr(relay, _LOGREPORT, pluggy.HookCaller(_LOGREPORT, keep))
    setattr(relay, _INTERACT, pluggy.HookCaller(_INTERACT, drop))
    try:
        yield logged
    finally:
        for name, caller in originals.items():
            setattr(relay, name, caller)


_LOGREPORT = "pytest_runtest_logreport"
_INTERACT = "pytest_exception_interact"


def run_failed(reports: list[pytest.TestReport]) -> str | None:
    """Why a re-run does not count, or None when it passed like the first run."""
    for report in reports:
        if report.failed:
            return f"the re-run failed in {report.when}"
        if report.skipped:
            return f"the re-run was skipped in {report.when}"
    return None


@dataclass(frozen=True)
class Explainers:
    """What a re-run needs to explain a leak: the owners, a labeller, the ignore hook, allocation sites."""

    owners: CodeOwners
    labeller: Labeller
    ignore: Callable[[object], bool] | None
    sites: SiteFinder | None


class Rerun:
    """Runs a test again: do its unsure cycles recur, do its suspect types keep growing?

    The guard's current run while it runs: ``window_closed`` and
    ``survivors`` receive what each re-run's window saw.
    """

    always_collect = True  # what the last run left as garbage would look alive, and growing
    # Not frozen at each re-run: an object a run left that the next run
    # replaces (a registry slot) is then garbage the live counts' collection
    # frees, not frozen garbage that looks alive until a heap audit.  What
    # the runs made is all that is unfrozen, so the collections stay small.
    freezes = False
    explains_every_window = True  # each re-run's cycles are compared with the first run's

    def __init__(
        self,
        unsure: Sequence[Cycle],
        suspects: Sequence[type],
        tracker: LiveTracker | None,
        *,
        allowed: Sequence[type] = (),
    ) -> None:
        self.unsure = list(unsure)
        # Cycles with no owner (plain containers only): the first re-run runs
        # under tracemalloc to name the module that allocates them.
        self.ownerless = {c.shape_key for c in self.unsure if not c.member_types}
        self.suspects = list(suspects)
        # Suspect kinds the marker or the allow list allows (``Triage.allowed_suspects``):
        # counted beside the suspects, never judged, never a reason to run again.
        # What one of them keeps alive is allowed with it: an allowed stream's
        # decoder is the stream's, whatever module its class is in.
        judged = {id(tp) for tp in suspects}
        self.allowed = [tp for tp in allowed if id(tp) not in judged]
        self._allowed_ids = {id(tp) for tp in self.allowed}  # (by id: a metaclass's __eq__ is code)
        # A re-run that only tells one-time cycles has no use for what it
        # left alive: its survivors are counted (for the audits) and not looked at.
        self.follows_survivors = bool(self.suspects) or not OPTIMISED
        self.tracker = tracker if tracker is not None else LiveTracker([*suspects, *self.allowed])
        self._latest: WindowFindings | None = None
        # One live object per followed type (for its chain): the latest re-run's, until ``_sample_kept``
        # takes one the first re-run made; its siblings' ids (of the same run), the latest run's sites.
        self._samples: dict[type, object] = {}
        self._sibling_ids: dict[type, list[int]] = {}
        self._sample_runs: dict[type, int] = {}  # the run a kind's sample and siblings are of, when not the latest
        self._type_sites: dict[type, Counter[str]] = {}
        self._sites: SiteFinder | None = None
        # Chains from a root found before the audit (``_not_cached``), for ``_leaks``.
        self._rooted: dict[type, Chain] = {}

    # -- what the guard hands to the current run

    def start(self, item: pytest.Item) -> None:
        self._samples = {}  # drop what we hold of the last re-run before the heap is frozen again

    def teardown(self, nextitem: pytest.Item | None) -> None:
        pass

    def own(self, findings: WindowFindings) -> WindowFindings:
        return findings  # every re-run window is explained: never the shared clean findings

    def wanted_shapes(self) -> frozenset[str] | None:
        """What a re-run's window is explained for: whether the unsure shapes recur (``run``), nothing else.

        Only the first re-run's cycles are compared, and only by shape keys
        (engine/shapes.py): the later re-runs' (they count leaks) are not explained.
        """
        if not OPTIMISED:
            return None
        return frozenset(c.shape_key for c in self.unsure) if self._latest is None else frozenset()

    def window_closed(self, item: pytest.Item, findings: WindowFindings) -> None:
        self._latest = findings  # only the latest: nothing of ours piles up

    def survivors(self, item: pytest.Item, findings: WindowFindings, young: list[object]) -> None:
        fresh = self.tracker.track(young)
        self._sibling_ids = {}
        self._sample_runs = {}
        self._type_sites = {}
        for obj in fresh:  # (only objects of followed kinds)
            tp = type(obj)
            self._samples[tp] = obj
            self._sibling_ids.setdefault(tp, []).append(id(obj))
            if self._sites is not None:
                self._type_sites.setdefault(tp, Counter())[self._sites.site(obj)] += 1
        fresh.clear()

    def report(self, item: pytest.Item, when: str, report: pytest.TestReport, duration: float) -> None:
        pass  # a re-run's reports are its own: never judged, never logged

    # -- running

    def run(
        self,
        item: pytest.Item,
        nextitem: pytest.Item | None,
        repeat: int,
        explain: Explainers,
        free_garbage: Callable[[], None],
        traced: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> Observation:
        """One re-run tells a one-time cycle; growth takes up to ``repeat``, stopping once nothing grew.

        ``free_garbage``: a collection of the whole heap, frozen part included (a heap audit).
        ``traced``: tracemalloc and allocation sites on for a block; the
        first re-run runs in it when a cycle has no owner, and the same
        shape in its garbage is owned by the modules that allocated it.
        """
        self._sites = explain.sites
        suspects = self.suspects
        kinds = [*suspects, *self.allowed]  # (the allowed ones last: the growth rule looks at the suspects only)
        counts = [self.tracker.counts(kinds, frozen=True)] if suspects else []
        runs: list[WindowFindings] = []
        unconfirmed = None
        try:
            for attempt in range(repeat if suspects else 1):
                tracing = traced() if traced is not None and self.ownerless and not attempt else None
                with tracing or contextlib.nullcontext():
                    reports = run_again(item, nextitem)
                unconfirmed = run_failed(reports)
                del reports
                if unconfirmed is not None:
                    break
                if self._latest is not None:
                    runs.append(self._latest)
                if suspects:
                    counts.append(self.tracker.counts(kinds, frozen=True))
                    if not any(grows_every_time([run[i] for run in counts]) for i in range(len(suspects))):
                        break
            # A re-run whose garbage was sampled or capped shows only part of
            # it: a shape missing from it may be in the rest, so it proves no
            # cycle one-time (which part is sampled depends on when the
            # collector ran, not on the test).  Nor does one whose test left a
            # thread running: what the thread still held was not garbage yet.
            whole = bool(runs) and not (runs[0].sampled or runs[0].unsaved or runs[0].threads_running)
            recurring = {c.shape_key for c in runs[0].cycles} if whole else None
            one_time = (
                set() if recurring is None else {c.shape_key for c in self.unsure if c.shape_key not in recurring}
            )
            owners = () if not runs or not self.ownerless else self._owners(runs[0])
            leaks: list[Leak] = []
            if unconfirmed is None and suspects:
                grown = [(tp, tuple(run[i] for run in counts)) for i, tp in enumerate(kinds)]
                grown = [(tp, series) for tp, series in grown if grows_every_time(series)]
                if self._judged(grown):
                    grown = self._alive_in_every_run(grown)  # (a replaced slot ends here, with no audit)
                if self._judged(grown):
                    self._sample_kept(grown)
                    # What a search can call no leak needs no audit: pydantic's
                    # models, kept by typing's bounded caches, paid a collection of
                    # the whole heap each before their search said so.
                    grown = self._not_cached(grown, explain)
                if self._judged(grown):
                    grown = self._surviving(grown, free_garbage)
                    leaks = self._leaks(grown, explain) if self._judged(grown) else []
        finally:
            self._samples = {}
            self._rooted = {}
            self._sibling_ids = {}
            self._sample_runs = {}
            self._type_sites = {}
            self._latest = None
        return Observation(
            runs=len(counts) - 1 if suspects else len(runs),
            unconfirmed=unconfirmed,
            one_time=frozenset(one_time),
            leaks=tuple(leaks),
            owners=owners,
            traced=traced is not None and bool(self.ownerless),  # (the first re-run always runs)
        )

    def _owners(self, run: WindowFindings) -> tuple[tuple[str, tuple[tuple[str, ...], ...], str, str], ...]:
        """The owners the traced re-run found for the cycles that had none, and their origin, by shape key."""
        found = {
            c.shape_key: (c.member_types, c.origin, c.origin_name)
            for c in run.cycles
            if c.shape_key in self.ownerless and c.member_types
        }
        return tuple(sorted((key, *owner) for key, owner in found.items()))

    def _surviving(
        self, grown: list[tuple[type, tuple[int, ...]]], free_garbage: Callable[[], None]
    ) -> list[tuple[type, tuple[int, ...]]]:
        """The growth that survives a collection of the whole heap: a leak is growth of live objects.

        Between runs the heap is frozen, and frozen garbage is never freed:
        an object that was alive at a freeze and was dropped later -- the
        class a registry slot held until the next run replaced it,
        ``sys.last_traceback`` -- still counts as alive.  So before growth
        is a leak, the frozen heap's garbage is freed, and every re-run must
        still have a live instance of the kind.  Not a count: a registry
        that keeps the first class of a name for good and the newest in a
        slot holds the first run's objects and the last re-run's, as many
        as a run makes -- as many as three runs' growth of one each.
        Kinds counted over the heap (not weakly referable, or too many)
        must still have grown by one per run.

        The caller has checked the rule once before the audit: the re-runs
        do not freeze the heap, so what one re-run dropped the live count's
        collection has freed, and a kind that fails the rule already needs
        no audit -- most do (a replaced slot).
        """
        free_garbage()
        return self._alive_in_every_run(grown)

    def _not_cached(
        self, grown: list[tuple[type, tuple[int, ...]]], explain: Explainers
    ) -> list[tuple[type, tuple[int, ...]]]:
        """``grown`` without the kinds a search already calls no leak: only bounded caches, or pytest, keep them.

        Searched before the heap audit (``_surviving``), which only a kind
        that may still be a leak needs.  A chain from a root through a
        bounded cache proves its sample alive, and the search past every
        bounded cache tells whether anything else holds it, as after an
        audit (``_past_bounded_caches``); a chain that ends at pytest's
        objects is pytest's bookkeeping either way.  Every other kind is
        searched again after the audit, as before: a chain that found no
        root may be frozen garbage's.  The allowed kinds stay: they are
        never judged, and the fold needs them.
        """
        judged = [tp for tp, _ in grown if id(tp) not in self._allowed_ids and tp in self._samples]
        if not judged:
            return grown
        chain_of = self._chains(judged, self._samples, explain, look_in_structs=False)
        pytest_only = {id(tp) for tp, chain in chain_of.items() if chain.complete and chain.held_by_pytest}
        through = [tp for tp, chain in chain_of.items() if chain.complete and chain.bounded]
        cached = self._past_bounded_caches(through, self._samples, explain, chain_of) if through else set()
        # A chain from a root (not C code, not cut short) holds after the
        # audit too: no garbage is on a path from a root.  ``_leaks`` reuses it.
        self._rooted = {
            tp: chain
            for tp, chain in chain_of.items()
            if chain.complete and chain.root != NO_REFERRER and not chain.held_by_pytest and id(tp) not in cached
        }
        return [(tp, series) for tp, series in grown if id(tp) not in cached and id(tp) not in pytest_only]

    def _sample_kept(self, grown: list[tuple[type, tuple[int, ...]]]) -> None:
        """Each kind's chain is searched from an object the first re-run left, which outlived the later runs.

        The latest run's object can be held by a slot that only keeps the
        newest (SQLAlchemy's test classes set a module global ``Base`` per
        test): its chain named that global, while what kept the older runs'
        objects alive, the leak, went unnamed.  The first run's objects are
        passed over too: a first call may keep its own for good (a registry
        that keeps the first class of a name), which is not the growth.
        Every kind takes its sample from the same run, so what one kind's
        sample reaches of another's (the fold) is of one run.  A kind
        counted over the heap keeps the latest run's.
        """
        if self.tracker.latest < 2:
            return  # (the first re-run is the latest: its objects have outlived nothing)
        for tp, _ in grown:
            if tp in self._samples:
                kept = self.tracker.alive_of(tp, 1)
                if kept:
                    self._samples[tp] = kept[0]
                    self._sibling_ids[tp] = [id(obj) for obj in kept]
                    self._sample_runs[tp] = 1
                kept.clear()

    def _judged(self, grown: list[tuple[type, tuple[int, ...]]]) -> bool:
        """Whether a kind that is not allowed is among ``grown``: the allowed ones alone are no leak to confirm."""
        return any(id(tp) not in self._allowed_ids for tp, _ in grown)

    def _alive_in_every_run(self, grown: list[tuple[type, tuple[int, ...]]]) -> list[tuple[type, tuple[int, ...]]]:
        now = self.tracker.counts([tp for tp, _ in grown], frozen=True)
        kept = []
        for (tp, series), alive in zip(grown, now):
            runs = self.tracker.runs_alive(tp)
            if runs is None:
                leaked = alive - series[0] >= len(series) - 1
            else:
                leaked = all(run in runs for run in range(1, len(series)))
            if leaked:
                kept.append((tp, series))
        return kept

    def _leaks(self, grown: list[tuple[type, tuple[int, ...]]], explain: Explainers) -> list[Leak]:
        """Leaks of the types that grew: one chain each, from one batched referrer search."""
        samples, self._samples = self._samples, {}
        try:
            ignore = explain.ignore
            ignored = {tp for tp, _ in grown if tp in samples and ignore is not None and ignore(samples[tp])}
            types = [tp for tp, _ in grown if tp in samples and tp not in ignored]
            rooted, self._rooted = self._rooted, {}
            fresh = [tp for tp in types if tp not in rooted]
            chain_of = {**self._chains(fresh, samples, explain, look_in_structs=False), **rooted} if fresh else rooted
            cached = self._past_bounded_caches(fresh, samples, explain, chain_of)
            reach_of = self._reaches(types, samples, chain_of)
            # A kind nothing visible refers to, that no other kind reaches
            # either, may be held in a C struct: only its search makes the
            # heap pass that looks for one (a leaked stream's decoder folds
            # under the stream without it).
            reached = {i for j, tp in enumerate(types) if tp in reach_of for i in reach_of[tp][0] if i != j}
            c_held = [tp for i, tp in enumerate(types) if chain_of[tp].root == NO_REFERRER and i not in reached]
            if c_held:
                chain_of.update(self._chains(c_held, samples, explain, look_in_structs=True))
                reach_of = self._reaches(types, samples, chain_of)  # (a chain's new root can be a weak-keyed registry)
            sites = explain.sites
            site_of = {tp: sites.site(samples[tp]) for tp in types} if sites is not None else {}
        finally:
            samples.clear()
        running = self._side_threads()
        leaks = []
        for tp, series in grown:
            chain = chain_of.get(tp)
            if tp in ignored or id(tp) in cached or (chain is not None and chain.held_by_pytest):
                continue  # the ignore hook said so; a bounded cache fills; or pytest's own bookkeeping grows per run
            site = site_of.get(tp, "")
            shares = self._type_sites.get(tp, Counter())
            leaks.append(
                Leak(
                    type_name(tp),
                    series,
                    chain,
                    tuple(type_name(k) for k in type_mro(tp)),
                    site=site,
                    site_share=shares[site] if site else 0,
                    site_total=sum(shares.values()) if site else 0,
                    running_thread=running.get(chain.thread, "") if chain is not None and chain.thread else "",
                )
            )
        index = {leak.class_name: i for i, leak in enumerate(leaks)}

        def as_leaks(reached: frozenset[int]) -> frozenset[int]:
            return frozenset(index[type_name(types[j])] for j in reached if type_name(types[j]) in index)

        reaches = {index[type_name(tp)]: as_leaks(both[0]) for tp, both in reach_of.items() if type_name(tp) in index}
        keys = {index[type_name(tp)]: as_leaks(both[1]) for tp, both in reach_of.items() if type_name(tp) in index}
        # (The allowed kinds are among them, folded like the others: judge.decide drops them and what they keep.)
        return fold(leaks, reaches, keys)

    def _past_bounded_caches(
        self, types: list[type], samples: dict[type, object], explain: Explainers, chain_of: dict[type, Chain]
    ) -> set[int]:
        """The kinds (by id) that only bounded caches keep; the others get a chain that goes through none.

        A cache with a maximum size (``functools.lru_cache(maxsize=128)``:
        typing's caches of ``Annotated[...]`` and generic aliases keep the
        classes they were made with -- pydantic's models) grows with every
        run until it is full, and no further: a few re-runs cannot tell it
        from a leak by counting.  So a chain through one is searched again
        past it: if another root holds the kind too, that is its chain and
        it is a leak; if nothing else does (or pytest only), it is not.  The
        search goes past every such cache on the heap at once (a class that
        several of typing's caches keep).  A search cut short keeps the
        chain through the cache: not proven bounded.
        """
        through = [tp for tp in types if chain_of[tp].bounded]
        if not through:
            return set()
        cached: set[int] = set()
        for tp, chain in self._chains(through, samples, explain, look_in_structs=False, past_caches=True).items():
            if chain.held_by_pytest or (chain.complete and chain.root == NO_REFERRER):
                cached.add(id(tp))
            elif chain.complete:
                chain_of[tp] = chain
            # (cut short: the chain through the cache stays, and the leak)
        return cached

    def _chains(
        self,
        types: list[type],
        samples: dict[type, object],
        explain: Explainers,
        *,
        look_in_structs: bool,
        past_caches: bool = False,
    ) -> dict[type, Chain]:
        """One chain per kind, from its sample: one batched referrer search.

        ``past_caches``: the searches never walk through a bounded cache.
        """
        chains = referrer_chains(
            [samples[tp] for tp in types],
            explain.owners,
            explain.labeller,
            frozen=True,
            siblings=[frozenset(self._sibling_ids.get(tp, ())) for tp in types],
            ignore=frozenset({id(samples), id(self.__dict__)}),
            look_in_structs=look_in_structs,
            past_bounded_caches=past_caches,
        )
        return dict(zip(types, chains))

    def _reaches(
        self, types: list[type], samples: dict[type, object], chain_of: dict[type, Chain]
    ) -> dict[type, Reached]:
        """For each kind, which of the others (indices into ``types``) its sample refers to (engine/keepers.py).

        And which of the others' weak-keyed registry entries it keeps, by keeping their keys alive.
        """
        if len(types) < 2:
            return {}
        instances = [frozenset(self._sibling_ids.get(tp, ())) | {id(samples[tp])} for tp in types]
        chains = [chain_of.get(tp) for tp in types]
        roots = [chain.module_global if chain is not None else None for chain in chains]
        keys, held = registry_keys(roots, instances)
        # The live instances of the run each sample is of, held while the walk looks for
        # them by id in the C structs the collector cannot look into.
        index_of = {id(tp): i for i, tp in enumerate(types)}
        alive = [obj for tp in types for obj in self.tracker.alive_of(tp, self._sample_runs.get(tp))]
        by_id = {id(obj): index_of[id(type(obj))] for obj in alive if id(type(obj)) in index_of}
        by_id.update((id(samples[tp]), i) for i, tp in enumerate(types))
        try:
            reached = reached_kinds(
                [samples[tp] for tp in types],
                instances,
                types,
                ignore=frozenset({id(samples), id(self.__dict__), id(held), id(alive), id(by_id), id(index_of)}),
                keys=keys,
                held=by_id,
            )
        finally:
            held.clear()  # the registries' keys and the instances: objects of the heap, never kept past the walk
            alive.clear()
        return dict(zip(types, reached))

    def _side_threads(self) -> dict[int, str]:
        """The running threads other than the one the test runs in: name by ident.

        Not only those the re-run started: a server a session fixture runs in
        a thread (httpx's uvicorn) holds what the test's requests left while its
        event loop gets round to it (cancelled keep-alive timers in the loop's
        schedule, open keep-alive connections, 5 s). What another thread
        holds at the count depends on that thread's timing, and a verdict
        must not.
        """
        mine = threading.get_ident()
        return {ident: name for ident, name in thread_names().items() if ident is not None and ident != mine}
