#!/usr/bin/env bash
# Build the wheel, install it with Airflow into a clean virtualenv, and check that Airflow
# registers the provider (its entry point, hook and connection type) from the wheel alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
AIRFLOW_VERSION=${AIRFLOW_VERSION:-3.3.2}
BUILD_VENV=${BUILD_VENV:-.venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$BUILD_VENV/bin/pip" install --quiet build
rm -rf dist
"$BUILD_VENV/bin/python" -m build --wheel --outdir dist . >/dev/null
wheel=$(ls dist/*.whl)
echo "built $wheel ($(du -k "$wheel" | cut -f1) kB)"
unzip -l "$wheel" | grep -q "airflow_provider_dataframer/py.typed" || { echo "py.typed missing from the wheel"; exit 1; }

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --upgrade pip
"$work/venv/bin/pip" install --quiet "$wheel" "apache-airflow==$AIRFLOW_VERSION"
export AIRFLOW_HOME="$work/airflow-home"
cd "$work"  # nothing from the source tree on sys.path
"$work/venv/bin/airflow" providers list -o json > providers.json
"$work/venv/bin/python" - <<'PY'
import json
providers = {p["package_name"]: p for p in json.load(open("providers.json"))}
assert "airflow-provider-dataframer" in providers, sorted(providers)
print("airflow providers list:", providers["airflow-provider-dataframer"])
from airflow.providers_manager import ProvidersManager
hook = ProvidersManager().hooks["dataframer"]
assert hook is not None and hook.hook_class_name.endswith("DataframerHook"), hook
print("connection type 'dataframer' ->", hook.hook_class_name)
PY
