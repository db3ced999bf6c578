#!/usr/bin/env bash
# Run `make test` (Airflow 3.3) on the newest Python above 3.11 that this machine has, up to the
# newest that Airflow 3.3 supports (3.14). Prints which one, or that there is none and why.
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
    echo "No Python 3.12-3.14 on this machine (looked on PATH and in /root/.pyenv/versions):"
    echo "Airflow 3.3 is tested on Python 3.11 only in this run."
    exit 0
fi
echo "Testing on Python ${newest_version} (${newest}), Airflow 3.3"
exec make test PYTHON="$newest" VENV=".venv-py${newest_version/./}"
