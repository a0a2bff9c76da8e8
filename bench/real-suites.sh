#!/usr/bin/env bash
# Real third-party suites, pinned, their tests from the sdist: plain, then --gc-guard (fail mode).
# Prints each run's last line, the wall times and the gc-guard summary's headline counts.
# Usage: bash bench/real-suites.sh [NAME ...]   (default: every suite below)
# Results are recorded in docs/real-suites.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work="$root/bench/.suites"
mkdir -p "$work"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# name | requirement | extra test requirements | test path inside the sdist
SUITES=(
    "marshmallow|marshmallow==4.4.0|simplejson|tests"
)

run_suite() {
    local name=$1 requirement=$2 extras=$3 tests=$4
    local venv="$work/$name-venv"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
        # shellcheck disable=SC2086
        "$venv/bin/pip" install -q "$requirement" pytest $extras 2>&1 | grep -v "^WARNING: Location" || true
        "$venv/bin/pip" install -q -e "$root" 2>&1 | grep -v "^WARNING: Location" || true
    fi
    local src="$work/$name-src"
    if [ ! -d "$src" ]; then
        "$venv/bin/pip" download -q --no-deps --no-binary :all: "$requirement" -d "$work/sdist" 2>&1 |
            grep -v "^WARNING: Location" || true
        mkdir -p "$src"
        tar xzf "$work"/sdist/"${requirement/==/-}".tar.gz -C "$src" --strip-components 1
    fi
    cd "$src"
    echo "== $requirement"
    for mode in plain guarded; do
        local args=(-q -p no:cacheprovider "$tests")
        [ "$mode" = guarded ] && args+=(--gc-guard --gc-guard-report="$work/$name-report.json")
        local start=$SECONDS
        "$venv/bin/python" -m pytest "${args[@]}" >"$work/$name-$mode.txt" 2>&1 || true
        echo "$mode: $(tail -n 1 "$work/$name-$mode.txt") (wall $((SECONDS - start)) s)"
    done
    grep -E "^[0-9]+ tests? (created|leaked|with|left)|^re-ran" "$work/$name-guarded.txt" || true
    cd "$root"
}

for entry in "${SUITES[@]}"; do
    IFS='|' read -r name requirement extras tests <<<"$entry"
    if [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]; then
        run_suite "$name" "$requirement" "$extras" "$tests"
    fi
done
