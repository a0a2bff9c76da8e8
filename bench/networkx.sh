#!/usr/bin/env bash
# networkx's own tests, plain against --gc-guard (cycles and leaks on, warn mode).
# Installs what it needs into bench/.venv; extra arguments go to bench/compare.py:
#     bash bench/networkx.sh --rounds 3
#     bash bench/networkx.sh --rounds 3 --trace      # also guarded with --gc-guard-trace
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/venv.sh networkx numpy scipy
exec bench/.venv/bin/python bench/compare.py --pyargs networkx.algorithms "$@"
