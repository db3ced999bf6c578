"""Assets through the real stack: the chain's run emits an asset event, the consumer DAG reads it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS

from airflow_provider_dataframer.assets import synthetic_data_asset
from tests.integration.conftest import load_example_dag

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_db")]

ASSET_URI = "dataframer://df-api.dataframer.ai/synthetic-data/support-tickets"


@pytest.fixture
def output_dir(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "dataframer-output"
    monkeypatch.setenv("DATAFRAMER_OUTPUT_DIR", str(out))
    monkeypatch.setenv("DATAFRAMER_EXAMPLE_SAMPLES", "4")
    monkeypatch.setenv("_AIRFLOW__SKIP_DATABASE_EXECUTOR_COMPATIBILITY_CHECK", "1")
    return out


def states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def asset_events(uri: str) -> list[dict[str, Any]]:
    """The extras of the events recorded for the asset ``uri``, oldest first."""
    from airflow.utils.session import create_session

    if AIRFLOW_V_3_0_PLUS:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        event_key, model_key = Event.asset_id, Model.id
    else:
        from airflow.models.dataset import DatasetEvent as Event
        from airflow.models.dataset import DatasetModel as Model

        event_key, model_key = Event.dataset_id, Model.id
    with create_session() as session:
        rows = (
            session.query(Event)
            .join(Model, event_key == model_key)
            .filter(Model.uri == uri)
            .order_by(Event.timestamp)
            .all()
        )
        return [dict(row.extra or {}) for row in rows]


def returned(dag_run: Any, task_id: str) -> Any:
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    if AIRFLOW_V_3_0_PLUS:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = (
                session.query(XComModel)
                .filter_by(dag_id=ti.dag_id, run_id=ti.run_id, task_id=task_id, key="return_value")
                .one()
            )
            return XComModel.deserialize_value(row)
    return ti.xcom_pull(task_ids=task_id)


def test_the_example_dags_share_one_asset() -> None:
    chain = load_example_dag("example_dataframer_chain")
    consumer = load_example_dag("example_dataframer_asset_consumer")
    assert synthetic_data_asset("support-tickets").uri == ASSET_URI
    assert [outlet.uri for outlet in chain.get_task("generate").outlets] == [ASSET_URI]
    assert [inlet.uri for inlet in consumer.get_task("fresh_run").inlets] == [ASSET_URI]
    condition = (
        consumer.timetable.asset_condition if AIRFLOW_V_3_0_PLUS else consumer.timetable.dataset_condition
    )
    assert [asset.uri for asset in condition.objects] == [ASSET_URI]


@pytest.mark.skipif(
    not AIRFLOW_V_3_0_PLUS,
    reason="Airflow 2's dag.test() runs tasks in test mode, which records no dataset events",
)
def test_chain_run_emits_the_asset_event_the_consumer_trains_on(
    emulator: EmulatorServer, output_dir: Path
) -> None:
    before = len(asset_events(ASSET_URI))
    chain_run = load_example_dag("example_dataframer_chain").test()
    assert str(chain_run.state) == "success", states(chain_run)
    (listed,) = httpx.get(f"{emulator.url}/api/dataframer/runs/", headers=emulator.headers).json()
    run = httpx.get(f"{emulator.url}/api/dataframer/runs/{listed['id']}/", headers=emulator.headers).json()
    events = asset_events(ASSET_URI)
    assert len(events) == before + 1
    assert events[-1] == {
        "run_id": run["id"],
        "status": "SUCCEEDED",
        "samples_completed": run["samples_completed"],
        "samples_failed": run["samples_failed"],
        "total_cost": run["total_cost"],
        "file_count": len(run["generated_files"]),
    }
    assert run["samples_completed"] == 4

    consumer_run = load_example_dag("example_dataframer_asset_consumer").test()
    assert str(consumer_run.state) == "success", states(consumer_run)
    assert returned(consumer_run, "fresh_run")["run_id"] == run["id"]
    trained = returned(consumer_run, "train")
    assert trained["files"] == len(run["generated_files"]) and trained["rows"] > 0
