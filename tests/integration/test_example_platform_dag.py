"""The platform example DAG with ``dag.test()`` against the emulator: it succeeds, and its gate holds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.integration.conftest import load_example_dag

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_db")]

PII = ("@example.com", "555-", "Sofia", "Martinez")


@pytest.fixture
def output_dir(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "dataframer-output"
    monkeypatch.setenv("DATAFRAMER_OUTPUT_DIR", str(out))
    monkeypatch.setenv("DATAFRAMER_EXAMPLE_SAMPLES", "5")  # the DAG raises it to the 60 an evaluation needs
    monkeypatch.setenv("_AIRFLOW__SKIP_DATABASE_EXECUTOR_COMPATIBILITY_CHECK", "1")
    return out


def api(server: EmulatorServer, path: str) -> Any:
    response = httpx.get(f"{server.url}/api/dataframer/{path}", headers=server.headers)
    response.raise_for_status()
    return response.json()


def states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def test_platform_dag_masks_generates_passes_the_gate_and_lands_files(
    emulator: EmulatorServer, output_dir: Path
) -> None:
    dag_run = load_example_dag("example_dataframer_platform").test()
    assert str(dag_run.state) == "success", states(dag_run)
    day = dag_run.logical_date.strftime("%Y%m%d")
    [masked] = (output_dir / "masked" / day).iterdir()
    text = masked.read_text()
    assert "<EMAIL>" in text and "<SSN>" in text
    assert not any(secret in text for secret in PII)
    datasets = {d["name"]: d for d in api(emulator, "seed-datasets/")}
    [spec] = api(emulator, "specs/")
    assert spec["dataset_id"] == datasets[f"crm-extract-masked-{day}"]["id"]
    [run] = api(emulator, "runs/")
    run = api(emulator, f"runs/{run['id']}/")  # list items carry no runtime_params
    assert run["runtime_params"]["number_of_samples"] == 60
    [evaluation] = api(emulator, f"runs/{run['id']}/evaluations/")
    assert evaluation["status"] == "SUCCEEDED"
    generated = sorted(p.name for p in (output_dir / "generated" / day).rglob("*") if p.is_file())
    assert generated == ["generated_samples.csv"]


def test_the_gate_fails_the_dag_on_a_poor_run(emulator: EmulatorServer, output_dir: Path) -> None:
    dag_run = load_example_dag("example_dataframer_platform").test(run_conf={"spec_name": "crm [poor-run]"})
    assert str(dag_run.state) == "failed"
    task_states = states(dag_run)
    assert task_states["generate"] == "success"
    assert task_states["evaluate"] == "failed"
    assert task_states["download"] == "upstream_failed"
    assert not (output_dir / "generated").exists()
    [run] = api(emulator, "runs/")
    [evaluation] = api(emulator, f"runs/{run['id']}/evaluations/")
    details = api(emulator, f"evaluations/{evaluation['id']}/")
    worst = max(
        abs(share - analysis["expected_distributions"][value])
        for analysis in details["distribution_analysis"]
        for value, share in analysis["evaluated_distributions"].items()
    )
    assert worst > 25.0
