"""DAG files import the operators on every parse: they must not drag in heavy modules."""

from __future__ import annotations

import json
import subprocess
import sys

# The SDK (~130 ms to import) is loaded when a hook first talks to the API, not at DAG parse.
HEAVY = ("dataframer_emulator", "dataframer", "fastapi", "uvicorn", "pandas", "numpy", "starlette")
TRIGGERER_SIDE = ("airflow_provider_dataframer.triggers.",)
PROBE = """
import json, sys, time
import airflow  # a DAG file's parse already pays for Airflow itself
from airflow.providers.common.compat.sdk import BaseOperator
before = set(sys.modules)
started = time.perf_counter()
import airflow_provider_dataframer.operators.spec
{extra_imports}
elapsed = time.perf_counter() - started
print(json.dumps({{"ms": elapsed * 1000, "modules": sorted(set(sys.modules) - before)}}))
"""


def probe(extra_imports: str = "") -> dict[str, object]:
    code = PROBE.format(extra_imports=extra_imports)
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def test_operator_modules_import_nothing_heavy() -> None:
    extra = "\n".join(
        f"import {module}"
        for module in (
            "airflow_provider_dataframer.operators.run",
            "airflow_provider_dataframer.operators.dataset",
            "airflow_provider_dataframer.sensors.spec",
            "airflow_provider_dataframer.sensors.run",
            "airflow_provider_dataframer.links",
        )
    )
    result = probe(extra)
    loaded = [m for m in result["modules"] if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]  # type: ignore[attr-defined]
    print(f"\nimporting the operator modules took {result['ms']:.1f} ms after Airflow itself")
    assert loaded == [], f"heavy modules imported at DAG parse time: {loaded}"
    # Only the triggerer runs triggers; operators and sensors import them when they defer.
    triggerer_side = [m for m in result["modules"] if m.startswith(TRIGGERER_SIDE)]  # type: ignore[attr-defined]
    assert triggerer_side == [], f"triggerer-side modules imported at DAG parse time: {triggerer_side}"
    assert "airflow_provider_dataframer.operators.spec" in result["modules"]  # type: ignore[operator]
