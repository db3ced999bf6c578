#!/usr/bin/env bash
# The deployment test: a real Airflow (api-server, scheduler, dag-processor, triggerer as separate
# processes, LocalExecutor) from <venv> runs the deferrable example DAG against the Dataframer
# emulator, all on loopback. With --ui, also the browser check of the UI (tests/deployment/ui/
# install.sh first installs Debian's chromium with apt-get and playwright-core with npm when
# missing, before pytest starts; screenshots in artifacts/ui/).
#
#   bash tests/deployment/run.sh <venv> [--ui] [extra pytest arguments]
#
# <venv> holds Airflow 3 and the provider (e.g. `pip install apache-airflow==3.3.2 -e '.[test]'`).
# Whatever happens, no process of the deployment outlives this script. Time bounds (below): the
# install INSTALL_TIMEOUT s, pytest PYTEST_TIMEOUT s in all, and each test TEST_TIMEOUT s through
# pytest-timeout, whose limit also covers the setup of the session fixtures a test is the first
# to use (pyproject.toml's 120 s would stop the deployment's start or the browser check midway).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $# -lt 1 || ! -x "$1/bin/python" ]]; then
    echo "usage: $0 <venv with Airflow and the provider> [--ui] [pytest args]" >&2
    exit 2
fi
venv="$(cd "$1" && pwd)"
shift
export DATAFRAMER_DEPLOYMENT_TEST=1 DATAFRAMER_DEPLOYMENT_VENV="$venv"
if [[ "${1:-}" == "--ui" ]]; then
    export DATAFRAMER_UI_TEST=1
    shift
fi

workroot="$(mktemp -d -t dataframer-deployment-run.XXXXXX)"
sessions="$workroot/sessions"
export DATAFRAMER_DEPLOYMENT_TMPDIR="$workroot" DATAFRAMER_DEPLOYMENT_SESSIONS_FILE="$sessions"
INSTALL_TIMEOUT=1200 PYTEST_TIMEOUT=1500 TEST_TIMEOUT=1200
group=""  # the process group of the bounded step running now (see bounded)

# On any exit: stop the running step (its process group: SIGTERM lets pytest tear the deployment
# down, SIGKILL after 30 s), then kill whatever is left in the sessions the harness started its
# components in (their ids are in $sessions). Everything is addressed by id, nothing by name.
cleanup() {
    if [[ -n "$group" ]] && kill -0 -- "-$group" 2>/dev/null; then
        kill -TERM -- "-$group" 2>/dev/null || true
        for _ in $(seq 30); do
            kill -0 -- "-$group" 2>/dev/null || break
            sleep 1
        done
        kill -KILL -- "-$group" 2>/dev/null || true
    fi
    local sid left
    for sid in $(cat "$sessions" 2>/dev/null); do
        left=$(ps -e -o pid=,sid= | awk -v sid="$sid" '$2 == sid { print $1 }')
        [[ -n "$left" ]] || continue
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null || true
        echo "run.sh: killed leftover processes of session $sid: $left" >&2
    done
    rm -rf "$workroot"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run a command for at most $1 seconds. `timeout` leads a process group of its own (the command
# runs in it): on expiry it signals the whole group, and cleanup() can end them all.
# (exec: $! is then timeout itself, not a subshell that bash forks because of the traps.)
bounded() {
    local seconds=$1 code=0
    shift
    (exec timeout --kill-after=30 "$seconds" "$@") &
    group=$!
    wait "$group" || code=$?
    group=""
    return "$code"
}

start=$(date +%s)
status=0
if [[ -n "${DATAFRAMER_UI_TEST:-}" ]]; then
    bounded "$INSTALL_TIMEOUT" bash tests/deployment/ui/install.sh || status=$?
    echo "browser tools (chromium, playwright-core): exit $status, wall time $(( $(date +%s) - start )) s"
    [[ $status -eq 0 ]] || exit "$status"
fi
# DATAFRAMER_DEPLOYMENT_TARGET: another test directory (tests/deployment/scaleout/run.sh sets it).
bounded "$PYTEST_TIMEOUT" "$venv/bin/python" -m pytest "${DATAFRAMER_DEPLOYMENT_TARGET:-tests/deployment}" \
    -p no:cacheprovider -v -s -rfEsx --timeout="$TEST_TIMEOUT" "$@" || status=$?
echo "deployment test$([[ -n "${DATAFRAMER_UI_TEST:-}" ]] && echo " + browser check"): exit $status, wall time $(( $(date +%s) - start )) s"
exit "$status"
