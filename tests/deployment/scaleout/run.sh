#!/usr/bin/env bash
# The scale-out deployment test: CeleryExecutor + Redis + PostgreSQL 15, api-server, scheduler,
# dag-processor, two triggerers, one Celery worker and two Dataframer emulators, all on loopback
# (tests/deployment/scaleout/test_scaleout.py says what it proves).
#
#   bash tests/deployment/scaleout/run.sh <venv> [extra pytest arguments]
#
# Installs what is missing first: Debian's redis-server (apt-get) and, into <venv>, the Celery
# provider with its pins (celery 5.7.0 breaks that provider's worker), psycopg2 and asyncpg
# (Airflow 3 opens the metadata database with both). PostgreSQL 15
# must be in /usr/lib/postgresql/15/bin (or DATAFRAMER_POSTGRES_BIN). The deployment's processes
# are started, stopped and swept by tests/deployment/run.sh and the harness, by process id.
set -euo pipefail
cd "$(dirname "$0")/../../.."

if [[ $# -lt 1 || ! -x "$1/bin/python" ]]; then
    echo "usage: $0 <venv with Airflow and the provider> [pytest args]" >&2
    exit 2
fi
venv="$1"
shift

if ! command -v redis-server >/dev/null; then
    apt-get install -y -q redis-server >/dev/null || { apt-get update -q && apt-get install -y -q redis-server; }
fi
"$venv/bin/pip" install -q 'apache-airflow-providers-celery==3.26.0' 'celery==5.6.3' 'psycopg2-binary>=2.9' 'asyncpg>=0.29'

export DATAFRAMER_SCALEOUT_TEST=1 DATAFRAMER_DEPLOYMENT_TARGET=tests/deployment/scaleout
exec bash tests/deployment/run.sh "$venv" "$@"
