#!/usr/bin/env bash
# What switching the gate on costs, in one command (issue 17): plain pytest against
# --gc-guard (warn mode, cycles and leaks on), against the same with the suite's own
# package allowed (a suite that adopted the gate: allowed shapes need no re-run) and against
# pytest-nogarbage, on
#   networkx 3.6.1's networkx.algorithms (most tests make a cycle or none),
#   jinja2 3.1.6's own tests, from the sdist (most tests make cycles),
# in interleaved rounds (medians and ratios of one sitting), then the instruction count
# of an idle test (valgrind; skipped without it), then the per-part breakdown of one
# instrumented guarded run of each suite.
#     bash bench/overhead.sh              # 3 rounds
#     bash bench/overhead.sh --rounds 1   # a quick look
# Installs into bench/.venv and bench/.suites/ (not committed). Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rounds=(--rounds 3)
[ $# -gt 0 ] && rounds=("$@")
export PIP_DISABLE_PIP_VERSION_CHECK=1
bash bench/venv.sh networkx==3.6.1 numpy scipy jinja2==3.1.6 trio pytest-nogarbage
python=$root/bench/.venv/bin/python
jinja2=$root/bench/.suites/jinja2-src
if [ ! -d "$jinja2" ]; then
    mkdir -p bench/.suites/sdist "$jinja2"
    "$python" -m pip download -q --no-deps --no-binary :all: jinja2==3.1.6 -d bench/.suites/sdist 2>&1 |
        grep -v "^WARNING: Location" || true
    tar xzf bench/.suites/sdist/jinja2-3.1.6.tar.gz -C "$jinja2" --strip-components 1
fi

echo "== networkx.algorithms"
"$python" bench/compare.py --pyargs networkx.algorithms --nogarbage --allow networkx "${rounds[@]}" || true
echo "== jinja2 3.1.6 tests"
(cd "$jinja2" && "$python" "$root/bench/compare.py" tests --nogarbage --allow jinja2 "${rounds[@]}") || true
echo "== idle tests (instructions)"
if command -v valgrind >/dev/null; then
    "$python" bench/synthetic.py instructions
else
    echo "valgrind not found: skipped (apt-get install valgrind)"
fi
echo "== where the guarded time goes: networkx.algorithms"
"$python" bench/breakdown.py --pyargs networkx.algorithms | tail -n 6
echo "== where the guarded time goes: jinja2"
(cd "$jinja2" && "$python" "$root/bench/breakdown.py" tests | tail -n 6)
