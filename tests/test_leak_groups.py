"""One cause, one report: grown kinds one leaked object keeps are folded into its leak.

And a leak a thread the test started still holds, while it runs at the end
of the test, is reported but not judged (AnyIO's ``test_receive_timeout``).
"""

from __future__ import annotations

import itertools
import json

import pytest

from pytest_gcguard.engine.chains import NO_REFERRER
from pytest_gcguard.engine.findings import Chain
from pytest_gcguard.engine.findings import Hop
from pytest_gcguard.engine.findings import Leak
from pytest_gcguard.engine.findings import fold_instance_dicts
from pytest_gcguard.engine.keepers import fold


HOLDERS = """
class Left:
    pass

class Middle:
    pass

class Right:
    pass

class Holder:
    def __init__(self):
        self.left, self.middle, self.right = Left(), Middle(), Right()

KEPT = []

def test_keeps_a_holder():
    KEPT.append(Holder())
"""

SERVER_THREAD = """
import threading

class Payload:
    pass

def serve(started):
    kept = Payload()  # what the server holds while it runs
    started.set()
    threading.Event().wait(60)  # still running when the test ends (daemon: the session does not wait)

def test_starts_a_server_thread():
    started = threading.Event()
    threading.Thread(target=serve, args=(started,), name="server", daemon=True).start()
    started.wait()
"""


def test_kinds_one_leaked_object_keeps_are_one_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_groups=HOLDERS)
    args = ("--gc-guard", "-p", "no:cacheprovider", "--gc-guard-report=report.json", "--gc-guard-html=report.html")
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*gc-guard: test leaks 1 Holder object per run*",
            "*kept alive by: module test_groups, global KEPT*",
            "*with 3 more kinds kept with it: Left, Middle, Right*",
            "*1 test leaked objects: 1 kind (and 3 more kinds kept with them)*",
        ]
    )
    assert len([line for line in result.stdout.lines if line.startswith("gc-guard: test leaks")]) == 1
    # The JSON report keeps every kind, each with its own fingerprint; the folded ones name their keeper.
    (test,) = json.loads((pytester.path / "report.json").read_text())["tests"]
    leaks = {f["type"]: f for f in test["findings"] if f["kind"] == "leak"}
    assert sorted(leaks) == [f"test_groups.{name}" for name in ("Holder", "Left", "Middle", "Right")]
    assert "kept_by" not in leaks["test_groups.Holder"]
    assert {leaks[f"test_groups.{name}"]["kept_by"] for name in ("Left", "Middle", "Right")} == {"test_groups.Holder"}
    assert len({f["fingerprint"] for f in leaks.values()}) == 4
    assert "kept by the leaked test_groups.Holder objects" in (pytester.path / "report.html").read_text()
    # Fingerprints do not depend on the folding: a baseline of this run covers the next one.
    baseline = ("--gc-guard", "-p", "no:cacheprovider", "--gc-guard-baseline=baseline.json")
    pytester.runpytest_subprocess(*baseline, "--gc-guard-update-baseline").assert_outcomes(passed=1)
    again = pytester.runpytest_subprocess(*baseline)
    again.assert_outcomes(passed=1)


def test_a_leak_kept_by_a_thread_still_running_is_not_judged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_server=SERVER_THREAD)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*gc-guard: test leaks*")
    result.stdout.fnmatch_lines(
        [
            "*test_starts_a_server_thread: not judged: kept by thread server, "
            "still running at the end of the test: *test_server.Payload*"
        ]
    )


def _leak(name: str, root: str, hops: int) -> Leak:
    chain = Chain(root, tuple(Hop(f"h{i}", "T", ".x") for i in range(hops)))
    return Leak(name, (1, 2, 3), chain)


def test_two_kinds_one_holder_keeps_are_one_leak_and_a_registry_s_entries_are_not() -> None:
    """Chains that go down from one root through the same first object and reference fold; other keys do not.

    A cached stream's decoder and encoder: neither reaches the other, and the
    stream (a C type) is no kind of its own (structlog's WRITE_LOCKS).  One
    search may tell the cache's attribute through its instance dict.
    """
    root = "module a, global CACHE"
    stream = Hop("<Stream at 0x1>", "a.Stream", "<attribute>")
    decoder = Leak(
        "a.Decoder", (1, 2, 3), Chain(root, (Hop("<Cache>", "a.Cache", ".data"), stream, Hop("D", "a.D", "")))
    )
    through_dict = (Hop("<Cache>", "a.Cache", ".__dict__"), Hop("dict", "dict", "['data']"), stream)
    encoder = Leak("a.Encoder", (1, 2, 3), Chain(root, (*through_dict, Hop("E", "a.E", ""))))
    entry_a = Leak("a.A", (1, 2, 3), Chain(root, (Hop("dict (len=2)", "dict", "['a']"), Hop("A", "a.A", ""))))
    entry_b = Leak("a.B", (1, 2, 3), Chain(root, (Hop("dict (len=2)", "dict", "['b']"), Hop("B", "a.B", ""))))
    for order in itertools.permutations([decoder, encoder, entry_a, entry_b]):
        folded = {leak.class_name: leak.kept_by for leak in fold(order, {})}
        assert folded == {"a.Decoder": "", "a.Encoder": "a.Decoder", "a.A": "", "a.B": ""}


def test_a_chain_s_instance_dicts_fold_forwards_only() -> None:
    """A chain's last hop leads out of it: a dict at its start is not the last object's instance dict."""
    hops = (Hop("d", "dict", "['x']"), Hop("o", "a.O", ".__dict__"))
    assert fold_instance_dicts(hops, closed=False) == hops
    assert fold_instance_dicts(hops) == (Hop("o", "a.O", ".x"),)  # (a cycle's path: the dict is o's)


def test_folding_depends_on_names_and_chains_never_on_order() -> None:
    """A loop and the runner it refers to, which refers back: the one closer to the root heads, in any order.

    A kind with a root of its own is not folded, though the others reach it.
    """
    loop, runner, stream = _leak("a.Loop", "C code", 1), _leak("a.Runner", "C code", 3), _leak("a.Stream", "C code", 4)
    registry = _leak("a.State", "module a, global STATES", 2)
    leaks = [loop, runner, stream, registry]
    reach = {loop: {runner, stream, registry}, runner: {loop, stream, registry}, stream: set(), registry: set()}
    folded = set()
    for order in itertools.permutations(leaks):
        index = {leak: i for i, leak in enumerate(order)}
        reaches = {index[a]: frozenset(index[b] for b in bs) for a, bs in reach.items()}
        folded.add(tuple(sorted((leak.class_name, leak.kept_by) for leak in fold(order, reaches))))
    assert folded == {(("a.Loop", ""), ("a.Runner", "a.Loop"), ("a.State", ""), ("a.Stream", "a.Loop"))}


REGISTRIES = """
import weakref

class Loop:
    pass

class State:
    pass

class Other:
    pass

LOOPS = []  # the leak: one loop per run
STATES = weakref.WeakKeyDictionary()  # per-loop state: lives as long as its loop (AnyIO's _task_states)
CALLBACKS = []

def test_leaks_a_loop_and_its_state():
    loop = Loop()
    LOOPS.append(loop)
    STATES[loop] = State()

def test_leaks_a_state_no_leak_keeps():
    callback = lambda: None  # a function: never a leak kind of its own
    CALLBACKS.append(callback)
    STATES[callback] = Other()
"""


def test_a_weak_keyed_entry_whose_key_a_leak_keeps_is_folded_into_it(pytester: pytest.Pytester) -> None:
    """State lives as long as its Loop (the registry's key): one report, though the chains start at other globals.

    An entry whose key no leaked kind reaches stays a report of its own.
    """
    pytester.makepyfile(test_registries=REGISTRIES)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-p", "no:randomly", "-rA")
    result.assert_outcomes(passed=2, errors=2)
    text = result.stdout.str()
    first = text.split("ERROR at teardown of test_leaks_a_loop_and_its_state", 1)[1].split("ERROR at teardown", 1)[0]
    assert first.count("gc-guard: test leaks") == 1
    assert "test leaks 1 Loop object per run" in first
    assert "with 1 more kind kept with it: State" in first
    second = text.split("ERROR at teardown of test_leaks_a_state_no_leak_keeps", 1)[1]
    assert "test leaks 1 Other object per run" in second
    assert "kept alive by: module test_registries, global STATES" in second


def test_a_kind_a_registry_keeps_by_a_key_folds_under_the_kind_that_keeps_the_key_in_any_order() -> None:
    loop, state = _leak("a.Loop", "C code", 1), _leak("a.State", "module a, global STATES", 2)
    stray = _leak("a.Stray", "module a, global STRAYS", 2)
    folded = set()
    for order in itertools.permutations([loop, state, stray]):
        index = {leak: i for i, leak in enumerate(order)}
        keys = {index[loop]: frozenset({index[state]})}
        folded.add(tuple(sorted((leak.class_name, leak.kept_by) for leak in fold(order, {}, keys))))
    assert folded == {(("a.Loop", ""), ("a.State", "a.Loop"), ("a.Stray", ""))}


STREAM_CACHE = """
import io
import weakref

class CaptureIO(io.TextIOWrapper):  # pytest's capsys stream, made per test
    def __init__(self):
        super().__init__(io.BytesIO(), encoding="UTF-8", newline="", write_through=True)

# click 8.1.8's cache of compatible streams (_compat._make_cached_stream_func): the value is
# the key itself, so no entry ever dies.
CACHE = weakref.WeakKeyDictionary()

def test_caches_its_stream():
    stream = CaptureIO()
    stream.write("x")
    stream.seek(0)
    stream.read()  # makes the codec's decoder, held by the stream's newline decoder (a C struct)
    CACHE[stream] = stream
"""


def test_a_kind_held_where_the_collector_cannot_look_folds_under_the_leak_that_holds_it(
    pytester: pytest.Pytester,
) -> None:
    """The decoder has no Python referrer: its newline decoder has no GC support.  The leaked stream holds it."""
    pytester.makepyfile(test_streams=STREAM_CACHE)
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "--gc-guard-report=report.json")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*gc-guard: test leaks 1 CaptureIO object per run*",
            "*kept alive by: module test_streams, global CACHE*",
            "*with 2 more kinds kept with it: IncrementalDecoder, IncrementalEncoder*",
        ]
    )
    result.stdout.no_fnmatch_line("*no Python referrer*")
    (test,) = json.loads((pytester.path / "report.json").read_text())["tests"]
    kept_by = {f["type"].rsplit(".", 1)[-1]: f.get("kept_by") for f in test["findings"] if f["kind"] == "leak"}
    assert kept_by == {
        "CaptureIO": None,
        "IncrementalDecoder": "test_streams.CaptureIO",
        "IncrementalEncoder": "test_streams.CaptureIO",
    }


def test_a_kind_with_no_python_referrer_folds_under_a_kind_that_reaches_it_in_any_order() -> None:
    """Not when its root is a known registry of C code: that is where it is held, whoever else refers to it."""
    stream, decoder = _leak("a.Stream", "module a, global CACHE", 2), _leak("a.Decoder", NO_REFERRER, 0)
    codec = _leak("a.Codec", f"{NO_REFERRER}: the codec search path (codecs.register)", 1)
    folded = set()
    for order in itertools.permutations([stream, decoder, codec]):
        index = {leak: i for i, leak in enumerate(order)}
        reaches = {index[stream]: frozenset({index[decoder], index[codec]})}
        folded.add(tuple(sorted((leak.class_name, leak.kept_by) for leak in fold(order, reaches))))
    assert folded == {(("a.Codec", ""), ("a.Decoder", "a.Stream"), ("a.Stream", ""))}


ALLOWED_KEEPER = """
import io
import weakref

import pytest

class CaptureIO(io.TextIOWrapper):
    def __init__(self):
        super().__init__(io.BytesIO(), encoding="UTF-8", newline="", write_through=True)

class Note:
    pass

class Own:
    pass

CACHE = weakref.WeakKeyDictionary()
OWN = []

def cache_a_stream():
    stream = CaptureIO()
    stream.write("x")
    stream.seek(0)
    stream.read()  # its decoder: held in a C struct
    stream.note = Note()  # reached from the stream only
    stream.own = own = Own()
    OWN.append(own)  # reached from the stream, and held by a global of its own
    CACHE[stream] = stream

def test_allowed_by_the_list():
    cache_a_stream()

@pytest.mark.allow_leaks(reason="the stream cache is by design", types=["test_keeper.CaptureIO"])
def test_allowed_by_the_marker():
    cache_a_stream()
"""


def test_what_an_allowed_leak_keeps_is_allowed_with_it(pytester: pytest.Pytester) -> None:
    """The kinds an allowed kind keeps (its decoder in a C struct, an object only it refers to) are no finding.

    A kind with a root of its own still fails: it leaks whatever keeps the allowed one.
    """
    pytester.makepyfile(test_keeper=ALLOWED_KEEPER)
    args = ("--gc-guard", "-p", "no:cacheprovider", "-p", "no:randomly", "--gc-guard-report=report.json")
    result = pytester.runpytest_subprocess(*args, "-o", "gc_guard_allow=leaks: test_keeper.CaptureIO")
    result.assert_outcomes(passed=2, errors=2)
    report = json.loads((pytester.path / "report.json").read_text())
    tests = {t["nodeid"].rsplit("::", 1)[-1]: t for t in report["tests"]}
    for name in ("test_allowed_by_the_list", "test_allowed_by_the_marker"):
        leaks = [f["type"] for f in tests[name]["findings"] if f["kind"] == "leak"]
        assert leaks == ["test_keeper.Own"], name
    result.stdout.no_fnmatch_line("*Incremental*")
    result.stdout.no_fnmatch_line("*Note*")
    # Not allowed, the stream is the leak, and keeps the others but Own.
    plain = pytester.runpytest_subprocess(*args)
    plain.assert_outcomes(passed=2, errors=2)
    plain.stdout.fnmatch_lines(["*with 3 more kinds kept with it: IncrementalDecoder, IncrementalEncoder, Note*"])


LIBRARY_CACHING_STDOUT = """
import sys
from weakref import WeakKeyDictionary

_CACHE = WeakKeyDictionary()  # click 8.1.8's stream cache: the value is its key, so no entry dies

def echo(text):
    stream = sys.stdout
    cached = _CACHE.get(stream)
    if cached is None:
        _CACHE[stream] = cached = stream
    cached.write(text)
"""


def test_pytest_s_capture_stream_a_library_keeps_is_the_library_s_leak(pytester: pytest.Pytester) -> None:
    """The stream is pytest's (not a kind gc-guard follows); its codec objects are, and the library's global keeps them.

    Up to 3.12 the decoder sits in a C struct (the stream's newline decoder); on 3.13 the collector sees it:
    the same verdict and root on every version.
    """
    pytester.makepyfile(
        mylib=LIBRARY_CACHING_STDOUT,
        test_echo="import mylib\n\ndef test_echo(capsys):\n    mylib.echo('x')\n    assert capsys.readouterr().out\n",
    )
    result = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "--gc-guard-report=report.json")
    result.assert_outcomes(passed=1, errors=1)
    (test,) = json.loads((pytester.path / "report.json").read_text())["tests"]
    roots = {f["type"].rsplit(".", 1)[-1]: f["chain"]["root"] for f in test["findings"] if f["kind"] == "leak"}
    assert roots == {
        "IncrementalDecoder": "module mylib, global _CACHE",
        "IncrementalEncoder": "module mylib, global _CACHE",
    }
    result.stdout.no_fnmatch_line("*no Python referrer*")
    # One leak: the stream holds both, neither reaches the other (engine/keepers.py, _down_together).
    kept_by = {f["type"].rsplit(".", 1)[-1]: f.get("kept_by", "") for f in test["findings"] if f["kind"] == "leak"}
    assert sorted(kept_by.values(), key=bool)[0] == "" and sorted(kept_by.values(), key=bool)[1].endswith(
        ("IncrementalDecoder", "IncrementalEncoder")
    )
    assert len([line for line in result.outlines if line.startswith("gc-guard: test leaks")]) == 1
    result.stdout.fnmatch_lines(["*with 1 more kind kept with it: Incremental*coder"])
    # The library's global keeps them: allowing the library's leaks allows them, whatever their kind.
    allowed = pytester.runpytest_subprocess("--gc-guard", "-p", "no:cacheprovider", "-o", "gc_guard_allow=mylib")
    allowed.assert_outcomes(passed=1)
    cycles_only = pytester.runpytest_subprocess(
        "--gc-guard", "-p", "no:cacheprovider", "-o", "gc_guard_allow=cycles: mylib"
    )
    cycles_only.assert_outcomes(passed=1, errors=1)


def test_what_an_allowed_leak_keeps_is_allowed_also_when_a_cycle_s_owner_was_traced(pytester: pytest.Pytester) -> None:
    """A ring of plain lists has no owner until the traced re-run names one, and the test is triaged again then."""
    source = ALLOWED_KEEPER.replace(
        "    CACHE[stream] = stream", "    CACHE[stream] = stream\n    ring = []\n    ring.append(ring)"
    )
    pytester.makepyfile(test_keeper=source)
    args = ("--gc-guard", "-p", "no:cacheprovider", "-p", "no:randomly", "--gc-guard-report=report.json")
    result = pytester.runpytest_subprocess(*args, "-o", "gc_guard_allow=leaks: test_keeper.CaptureIO")
    result.assert_outcomes(passed=2, errors=2)
    report = json.loads((pytester.path / "report.json").read_text())
    for test in report["tests"]:
        assert [f["type"] for f in test["findings"] if f["kind"] == "leak"] == ["test_keeper.Own"], test["nodeid"]
        assert any(f["kind"] == "cycle" and f.get("allocated_in") for f in test["findings"]), test["nodeid"]
