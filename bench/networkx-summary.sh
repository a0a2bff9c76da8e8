#!/usr/bin/env bash
# networkx's own networkx.algorithms suite in fail mode (issue 14, acceptance 9), twice:
#   1. as is: prints the gc-guard summary's top-level lines (one per module, and the line
#      for the modules left out) and their count, which should be at most 10;
#   2. with `gc_guard_allow = networkx`: prints the last line and the exit code, which should be 0.
# Installs networkx into bench/.venv (bench/venv.sh) unless PYTHON names an interpreter that has it.
# Outputs are kept in bench/.networkx/. Exits 1 if either goal is missed.
#     bash bench/networkx-summary.sh
#     PYTHON=/path/to/venv/bin/python bash bench/networkx-summary.sh networkx.algorithms.flow  # a part
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    bash bench/venv.sh networkx==3.6.1 numpy scipy
    PYTHON=bench/.venv/bin/python
fi
PYTHON=$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")
mkdir -p bench/.networkx
cd bench/.networkx
# An empty ini file of its own: this checkout's pyproject.toml (its filterwarnings = error, its
# addopts) would otherwise be networkx's configuration, as bench/.venv lies under it.
printf '[pytest]\n' >pytest.ini
run=("$PYTHON" -m pytest -c pytest.ini --rootdir . -q -p no:cacheprovider -p no:randomly
    --pyargs "${1:-networkx.algorithms}" --gc-guard)

"${run[@]}" --gc-guard-report=plain.json >plain.txt 2>&1
echo "as is: $(tail -n 1 plain.txt)"
# The failing section: from its headline to the next section's (a line starting with a count).
groups=$(sed -n '/^[0-9,]* tests\? created reference cycles/,/^[0-9,]* tests\? \(with\|left\|leaked\|made\)/p' \
    plain.txt | grep -E '^[^ 0-9].* — [0-9,]+ tests?, [0-9,]+ shapes?$|^… ')
echo "$groups"
count=$(printf '%s\n' "$groups" | grep -c .)
echo "top-level groups: $count"

"${run[@]}" -o gc_guard_allow=networkx --gc-guard-report=allow.json >allow.txt 2>&1
status=$?
echo "gc_guard_allow = networkx: $(tail -n 1 allow.txt), exit code $status"
grep -E "^(ERROR|FAILED) " allow.txt || true

[ "$count" -le 10 ] && [ "$status" -eq 0 ]
