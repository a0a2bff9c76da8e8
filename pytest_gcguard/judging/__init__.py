"""Judging: turn findings into verdicts (failed, warned, allowed, known, one-time, ...).

Nothing here imports pytest (``tests/test_layers.py`` checks it).

* ``judge``: the verdict of one test, as pure functions of its findings and the policy.
* ``allowance``: ``@pytest.mark.allow_cycles`` / ``allow_leaks`` arguments.
* ``allowlist``: the project-wide ``gc_guard_allow`` list.
* ``baseline``: known findings that do not fail (``--gc-guard-baseline``).
"""
