#!/usr/bin/env bash
# A stage of .ci/run: the whole suite on Airflow 3.3 on the newest Python above 3.11 that this
# machine has, up to the newest that Airflow 3.3 supports (3.14). Prints which one; fails when
# there is none, since the README says CI tests one.
#
# The virtualenv (.venv-py3NN) is made by `make venv` on first use, the same install as `make test`
# (45-55 s on 2 cores from the local wheel index), and kept while pyproject.toml is unchanged.
# The suite then runs as two pytest processes at once, tests/integration and the rest (about 3 min
# each on 2 cores): it waits on loopback servers and poll intervals far more than it computes (one
# process: 5 min 15 s wall for 2 min 20 s CPU), and each process has an AIRFLOW_HOME and SQLite
# database of its own (tests/conftest.py), so they share only the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

newest=""
newest_version=""
for candidate in /root/.pyenv/versions/3.*/bin/python3 $(compgen -c python3. | sort -u); do
    command -v "$candidate" >/dev/null 2>&1 || continue
    version=$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    minor=${version#3.}
    if ((minor > 11 && minor <= 14)) && { [[ -z $newest_version ]] || ((minor > ${newest_version#3.})); }; then
        newest=$(command -v "$candidate")
        newest_version=$version
    fi
done

if [[ -z $newest ]]; then
    # The README's support table says CI tests a newer Python: a run that cannot is a failure.
    echo "No Python 3.12-3.14 on this machine (looked on PATH and in /root/.pyenv/versions):" >&2
    echo "the newest-Python stage cannot run; install one (e.g. pyenv install 3.13) or fix the README." >&2
    exit 1
fi
venv=".venv-py${newest_version/./}"
echo "Testing on Python ${newest_version} (${newest}), Airflow 3.3, in ${venv}"
make --no-print-directory venv PYTHON="$newest" VENV="$venv"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/integration >"$logs/integration" 2>&1 &
integration=$!
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests --ignore=tests/integration >"$logs/rest" 2>&1 &
rest=$!

status=0
wait "$integration" || status=1
wait "$rest" || status=1
echo
echo "--- Python ${newest_version}: tests/integration ---"
cat "$logs/integration"
echo
echo "--- Python ${newest_version}: every other test ---"
cat "$logs/rest"
exit "$status"
