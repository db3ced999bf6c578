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
# The listing goes to a file first: `unzip | grep -q` fails under pipefail once grep stops reading.
unzip -Z1 "$wheel" > "$work/wheel-files"
grep -qx "airflow_provider_dataframer/py.typed" "$work/wheel-files" || { echo "py.typed missing from the wheel"; exit 1; }

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --upgrade pip
"$work/venv/bin/pip" install --quiet "$wheel" "apache-airflow==$AIRFLOW_VERSION"
export AIRFLOW_HOME="$work/airflow-home"
cd "$work"  # nothing from the source tree on sys.path
"$work/venv/bin/airflow" providers list -o json > providers.json
"$work/venv/bin/python" - <<'PY'
import json
import warnings

import airflow
from packaging.version import Version

HOOK_CLASS = "airflow_provider_dataframer.hooks.dataframer.DataframerHook"
providers = {p["package_name"]: p for p in json.load(open("providers.json"))}
assert "airflow-provider-dataframer" in providers, sorted(providers)
print("airflow providers list:", providers["airflow-provider-dataframer"])

# Only supported APIs: a deprecated one (e.g. ProvidersManager().hooks on Airflow 3) fails the check.
with warnings.catch_warnings():
    warnings.simplefilter("error", DeprecationWarning)
    warnings.simplefilter("error", FutureWarning)  # Airflow 3's DeprecatedImportWarning is one
    from airflow.providers_manager import ProvidersManager

    if hasattr(ProvidersManager, "iter_connection_type_hook_ui_metadata"):  # Airflow >= 3.2
        # What the api-server offers in the connection form (provider metadata, no hook import).
        ui = {m.connection_type: m for m in ProvidersManager().iter_connection_type_hook_ui_metadata()}
        assert "dataframer" in ui and ui["dataframer"].hook_class_name == HOOK_CLASS, ui.get("dataframer")
        print("connection form: 'dataframer' ->", ui["dataframer"].hook_name)
    if Version(airflow.__version__).major >= 3:
        # What a task resolves the connection's hook with (task-sdk; imports the hook class).
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        hook = ProvidersManagerTaskRuntime().hooks["dataframer"]
    else:
        hook = ProvidersManager().hooks["dataframer"]
assert hook is not None and hook.hook_class_name == HOOK_CLASS, hook
print("connection type 'dataframer' ->", hook.hook_class_name)
PY
