"""The collector's state is exactly as without the plugin (issue 2, acceptance 6).

The same suite of tests that manipulate the collector runs with and without
--gc-guard; what every test observes, and the state after the session, must
be identical.
"""

from __future__ import annotations

import json

import pytest

from tests.inner import SESSION_STATE_CONFTEST
from tests.inner import SESSION_STATE_CONFTEST_ALONE


STATE_TESTS = """
import gc
import pytest

SEEN = []
ORIGINAL_THRESHOLD = gc.get_threshold()


def user_callbacks():
    # During a test, pytest-gcguard's own callback is in gc.callbacks (documented).
    return [c for c in gc.callbacks if getattr(c, "__module__", None) != "pytest_gcguard.engine.callbacks"]


def observe(label):
    SEEN.append([label, gc.isenabled(), list(gc.get_threshold()), gc.get_debug(), len(user_callbacks())])


def callback(phase, info):
    pass


class Ring:
    def __init__(self):
        self.me = self


def test_a_disables():
    observe("a")
    gc.disable()

def test_b_sees_it_disabled():
    observe("b")
    gc.enable()

@pytest.mark.allow_cycles(reason="makes a cycle on purpose")
def test_c_sets_saveall_and_sees_its_garbage():
    gc.set_debug(gc.DEBUG_SAVEALL)
    Ring()
    gc.collect()
    SEEN.append(["c: ring in gc.garbage", any(type(o) is Ring for o in gc.garbage)])

def test_d_still_has_saveall():
    observe("d")
    SEEN.append(["d: ring in gc.garbage", any(type(o) is Ring for o in gc.garbage)])
    gc.set_debug(0)
    gc.garbage.clear()

def test_e_sets_thresholds():
    gc.set_threshold(5, 5, 5)

def test_f_sees_them():
    observe("f")
    gc.set_threshold(*ORIGINAL_THRESHOLD)

def test_g_adds_a_callback():
    gc.callbacks.append(callback)

def test_h_sees_it():
    observe("h")
    SEEN.append(["h: our callback", user_callbacks() == [callback]])
    gc.callbacks.remove(callback)

def test_i_appends_to_garbage():
    gc.garbage.append("kept by the user")

def test_j_sees_it():
    SEEN.append(["j: garbage", list(gc.garbage)])
    gc.garbage.clear()

def test_k_collects_in_a_loop():
    for _ in range(20):
        gc.collect()
    observe("k")

def test_l_freezes_and_unfreezes():
    gc.freeze()
    gc.unfreeze()

@pytest.mark.allow_cycles(reason="makes a cycle on purpose")
def test_m_clears_callbacks_and_garbage():
    saved = list(gc.callbacks)
    gc.callbacks.clear()
    gc.garbage.clear()
    Ring()
    gc.callbacks.extend(saved)

def test_n_last():
    observe("n")
    # Windows never pile up: at most this test's own callback is there.
    ours = [getattr(c, "__module__", None) for c in gc.callbacks].count("pytest_gcguard.engine.callbacks")
    SEEN.append(["n: at most one callback of ours", ours <= 1])
"""


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str, *args: str) -> dict[str, object]:
    path = pytester.path / f"{name}.json"
    monkeypatch.setenv("GCGUARD_OBSERVATIONS", str(path))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", *args)
    result.assert_outcomes(passed=14)
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_every_test_observes_the_same_gc_state_as_without_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """disable, set_debug, thresholds, callbacks, gc.garbage, collect loops, freeze: all as without us."""
    pytester.makeconftest(SESSION_STATE_CONFTEST)
    pytester.makepyfile(test_state=STATE_TESTS)
    plain = _run(pytester, monkeypatch, "plain")
    guarded = _run(pytester, monkeypatch, "guarded", "--gc-guard")
    assert guarded["seen"] == plain["seen"]
    # The session leaves the collector as it found it, and nothing of ours
    # frozen (CPython 3.12 keeps a few hundred startup objects in the
    # permanent generation on its own: a plain run ends with them too).
    assert guarded["final"][:4] == plain["final"][:4] == guarded["at_import"][:4]  # type: ignore[index]
    assert guarded["hook_kept"] is True and plain["hook_kept"] is True  # sys.unraisablehook put back
    assert guarded["final"][4] <= plain["final"][4]  # type: ignore[index]


def test_state_is_restored_after_keyboard_interrupt(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test interrupted with KeyboardInterrupt never runs its teardown; the session end still restores."""
    pytester.makeconftest(SESSION_STATE_CONFTEST_ALONE)
    pytester.makepyfile(test_state="def test_interrupted():\n    raise KeyboardInterrupt\n")
    path = pytester.path / "interrupted.json"
    monkeypatch.setenv("GCGUARD_OBSERVATIONS", str(path))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "--gc-guard")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    data = json.loads(path.read_text())
    assert data["final"][:4] == data["at_import"][:4]
    assert data["hook_kept"] is True
    assert data["final"][4] <= data["at_import"][4]
