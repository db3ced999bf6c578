"""The seeded and seedless example DAGs, run with ``dag.test()`` against the emulator over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS

from tests.integration.conftest import EXAMPLE_DAGS, load_example_dag, specs_on, upload_csv_seed

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_db")]


def task_states(dag_run: object) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}  # type: ignore[attr-defined]


def rerun(dag: Any, dag_run: Any) -> Any:
    """Run ``dag`` again for the same logical date (the argument's name changed in Airflow 3)."""
    if AIRFLOW_V_3_0_PLUS:
        return dag.test(logical_date=dag_run.logical_date)
    return dag.test(execution_date=dag_run.execution_date)


def test_seeded_spec_dag_defers_and_succeeds(emulator: EmulatorServer) -> None:
    seed = EXAMPLE_DAGS / "data" / "support_tickets.csv"
    dataset_id = upload_csv_seed(emulator, "support-tickets", seed.name, seed.read_bytes())
    dag = load_example_dag("example_dataframer_seeded_spec")
    dag_run = dag.test(run_conf={"dataset_id": dataset_id})
    assert str(dag_run.state) == "success", task_states(dag_run)
    (spec,) = specs_on(emulator)
    assert spec["status"] == "SUCCEEDED" and spec["dataset_id"] == dataset_id
    # The trigger, not the worker, polled: more than one GET of the spec after the create.
    assert len(emulator.requests(method="GET", path=f"specs/{spec['id']}/")) >= 2
    content = httpx.get(f"{emulator.url}/api/dataframer/specs/{spec['id']}/", headers=emulator.headers).json()
    assert "priority" in content["content_yaml"], "the spec learned the seed's columns"


def test_seedless_spec_dag_succeeds_and_a_rerun_reuses_the_spec(emulator: EmulatorServer) -> None:
    dag = load_example_dag("example_dataframer_seedless_spec")
    first = dag.test()
    assert str(first.state) == "success", task_states(first)
    (spec,) = specs_on(emulator)
    assert spec["status"] == "SUCCEEDED" and not spec.get("dataset_id")
    assert len(emulator.requests(method="POST", path="specs/")) == 1
    # Same logical date, same templated name: the re-run adopts the spec instead of duplicating it.
    second = rerun(dag, first)
    assert str(second.state) == "success", task_states(second)
    assert [s["id"] for s in specs_on(emulator)] == [spec["id"]]
