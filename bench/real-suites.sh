#!/usr/bin/env bash
# Real third-party suites, pinned, their tests from the sdist: plain, then --gc-guard (fail mode).
# Prints each run's last line, the wall times and the gc-guard summary's headline counts.
# Usage: bash bench/real-suites.sh [NAME ...]   (default: every suite below)
# INSTALL_ONLY=1 only makes the venvs and unpacks the sdists.
# Results are recorded in docs/real-suites.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work="$root/bench/.suites"
mkdir -p "$work"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# name | requirement | extra test requirements | test paths inside the sdist | extra pytest args
# Every suite runs with -n 0 -p no:randomly when those plugins are installed (one core, a fixed order).
SUITES=(
    "marshmallow|marshmallow==4.4.0|simplejson|tests|"
    # Ships its own pytest plugin (the pytest11 entry point anyio.pytest_plugin), async on
    # asyncio and trio. Network tests that need the internet (or IPv6 here) are deselected.
    "anyio|anyio==4.12.0|trio==0.32.0 pytest-mock hypothesis psutil trustme truststore exceptiongroup uvloop|tests|-m not\\ network"
    # Defines hundreds of attrs classes inside its tests (hypothesis-heavy).
    "attrs|attrs==25.4.0|hypothesis pympler cloudpickle zope.interface|tests|"
    # Cycle-heavy (templates, environments, error paths that rewrite tracebacks); async rendering.
    "jinja2|jinja2==3.1.6|trio==0.32.0|tests|"
    # Async-heavy: an event loop, its own test plugin, many tasks and exceptions per test.
    "trio|trio==0.32.0|trustme pyopenssl|src/trio/_tests src/trio/_core/_tests|--ignore=src/trio/_tests/tools"
    # CliRunner swaps the standard streams per invoke, and click caches a wrapper per stream.
    # Its 8.1.8 tests pass a non-Collection to a marker, which pytest 9 turns into an error.
    "click|click==8.1.8||tests|-W ignore::pytest.PytestRemovedIn10Warning"
    # Every test builds a Flask app (blueprints, a Jinja environment, contexts pushed and popped),
    # on Werkzeug, Jinja2, click and blinker: whose cycle is whose. Its test_cli.py imports a name
    # pytest 9 removed (_pytest.monkeypatch.notset): pytest 8 here.
    "flask|flask==3.1.2|asgiref python-dotenv pytest<9|tests|"
    # ASGI on AnyIO: TestClient runs the app in a portal thread per client; asyncio and trio.
    "starlette|starlette==0.41.3|anyio==4.6.2 httpx==0.27.2 trio itsdangerous jinja2 python-multipart pyyaml|tests|"
    # Packrat and left-recursion caches on ParserElement (class attributes), grammars built per test.
    # (test_matplotlib_cases.py parses matplotlib's own grammar: matplotlib is not installed.)
    "pyparsing|pyparsing==3.2.0|railroad-diagrams jinja2|tests|--ignore=tests/test_matplotlib_cases.py"
    # A uvicorn server in a thread for the session (conftest), clients and transports per test,
    # sync and async (AnyIO's plugin on asyncio and trio).
    "httpx|httpx==0.27.2|anyio==4.6.2 trio uvicorn==0.30.6 trustme chardet brotli h2 socksio zstandard click pygments rich|tests|"
    # Loggers bound and configured per test; processors, contextvars, stdlib logging integration.
    "structlog|structlog==24.4.0|freezegun pretend pytest-asyncio simplejson|tests|"
    # Declarative mappings per test, on SQLAlchemy's own pytest plugin (its conftest puts the
    # sdist's lib/ first on sys.path: its code is the project's). setup.cfg stops at 250 failures.
    "sqlalchemy|sqlalchemy==2.0.36|typing_extensions greenlet|test/orm/declarative/test_basic.py|--maxfail=100000"
)

# pytest with SIGINT's default handler back: a shell started in the background ignores SIGINT, its
# children inherit that, and trio's KeyboardInterrupt tests (test_reason_delayed_ki, the REPL's) then
# wait forever for an interrupt that never comes (trio's 60 s faulthandler dump, then nothing).
# (runpy, as -m does: __main__ is pytest's own module, with a __file__ AnyIO's to_process tests read.)
restore_sigint=(-c 'import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); runpy.run_module("pytest", run_name="__main__", alter_sys=True)')

run_suite() {
    local name=$1 requirement=$2 extras=$3 tests=$4 pytest_args=$5
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
    [ -n "${INSTALL_ONLY:-}" ] && return 0
    cd "$src"
    echo "== $requirement"
    for mode in plain guarded; do
        # shellcheck disable=SC2206
        local args=(-q -p no:cacheprovider $tests)
        [ -n "$pytest_args" ] && eval "args+=($pytest_args)"
        "$venv/bin/python" -c "import xdist" 2>/dev/null && args+=(-n 0)
        "$venv/bin/python" -c "import pytest_randomly" 2>/dev/null && args+=(-p no:randomly)
        [ "$mode" = guarded ] && args+=(--gc-guard --gc-guard-report="$work/$name-report.json")
        local start=$SECONDS
        "$venv/bin/python" "${restore_sigint[@]}" "${args[@]}" >"$work/$name-$mode.txt" 2>&1 || true
        echo "$mode: $(tail -n 1 "$work/$name-$mode.txt") (wall $((SECONDS - start)) s)"
    done
    grep -E "^[0-9]+ tests? (created|leaked|with|left|made more)|^re-ran|^heap audit" "$work/$name-guarded.txt" || true
    cd "$root"
}

for entry in "${SUITES[@]}"; do
    IFS='|' read -r name requirement extras tests pytest_args <<<"$entry"
    if [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]; then
        run_suite "$name" "$requirement" "$extras" "$tests" "$pytest_args"
    fi
done
