"""The seeded and seedless example DAGs, run with ``dag.test()`` against the emulator over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS

from tests.integration.conftest import EXAMPLE_DAGS, load_example_dag

if TYPE_CHECKING:
    from airflow_provider_dataframer.emulator import EmulatorServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_db")]


def upload_seed(server: EmulatorServer, path: Path, name: str) -> str:
    with path.open("rb") as handle:
        response = httpx.post(
            f"{server.url}/api/dataframer/seed-datasets/create/",
            headers=server.headers,
            data={"name": name, "dataset_type": "SINGLE_FILE"},
            files=[("files", (path.name, handle, "text/csv"))],
        )
    response.raise_for_status()
    return str(response.json()["id"])


def specs_on_server(server: EmulatorServer) -> list[dict[str, object]]:
    response = httpx.get(f"{server.url}/api/dataframer/specs/", headers=server.headers)
    response.raise_for_status()
    return list(response.json())


def task_states(dag_run: object) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}  # type: ignore[attr-defined]


def rerun(dag: Any, dag_run: Any) -> Any:
    """Run ``dag`` again for the same logical date (the argument's name changed in Airflow 3)."""
    if AIRFLOW_V_3_0_PLUS:
        return dag.test(logical_date=dag_run.logical_date)
    return dag.test(execution_date=dag_run.execution_date)


def test_seeded_spec_dag_defers_and_succeeds(emulator: EmulatorServer) -> None:
    dataset_id = upload_seed(emulator, EXAMPLE_DAGS / "data" / "support_tickets.csv", "support-tickets")
    dag = load_example_dag("example_dataframer_seeded_spec")
    dag_run = dag.test(run_conf={"dataset_id": dataset_id})
    assert str(dag_run.state) == "success", task_states(dag_run)
    (spec,) = specs_on_server(emulator)
    assert spec["status"] == "SUCCEEDED" and spec["dataset_id"] == dataset_id
    # The trigger, not the worker, polled: more than one GET of the spec after the create.
    assert len(emulator.requests(method="GET", path=rf"/api/dataframer/specs/{spec['id']}/$")) >= 2
    content = httpx.get(f"{emulator.url}/api/dataframer/specs/{spec['id']}/", headers=emulator.headers).json()
    assert "priority" in content["content_yaml"], "the spec learned the seed's columns"


def test_seedless_spec_dag_succeeds_and_a_rerun_reuses_the_spec(emulator: EmulatorServer) -> None:
    dag = load_example_dag("example_dataframer_seedless_spec")
    first = dag.test()
    assert str(first.state) == "success", task_states(first)
    (spec,) = specs_on_server(emulator)
    assert spec["status"] == "SUCCEEDED" and not spec.get("dataset_id")
    assert len(emulator.requests(method="POST", path=r"/api/dataframer/specs/$")) == 1
    # Same logical date, same templated name: the re-run adopts the spec instead of duplicating it.
    second = rerun(dag, first)
    assert str(second.state) == "success", task_states(second)
    assert [s["id"] for s in specs_on_server(emulator)] == [spec["id"]]
