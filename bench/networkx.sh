#!/usr/bin/env bash
# networkx's own tests, plain against --gc-guard (cycles and leaks on, warn mode).
# Installs what it needs into bench/.venv; extra arguments go to bench/compare.py:
#     bash bench/networkx.sh --rounds 3
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv bench/.venv
bench/.venv/bin/pip install -q -e . networkx numpy scipy 2>&1 | grep -v "^WARNING: Location" || true
exec bench/.venv/bin/python bench/compare.py --pyargs networkx.algorithms "$@"
