#!/usr/bin/env bash
# The benchmarks' environment: bench/.venv with this checkout installed (editable),
# plus any extra packages given, e.g. `bash bench/venv.sh networkx numpy scipy`.
# Prints nothing but pip's errors; then run e.g. `bench/.venv/bin/python bench/synthetic.py bigheap`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv bench/.venv
bench/.venv/bin/pip install -q -e . "$@" 2>&1 | grep -v "^WARNING: Location" || true
