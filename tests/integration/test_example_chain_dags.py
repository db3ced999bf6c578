"""The chain, scheduled-regeneration and mapped example DAGs, run with ``dag.test()`` against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS

from tests.integration.conftest import load_example_dag, point_connection_at

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_db")]


@pytest.fixture
def output_dir(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the example DAGs land their files; few samples so that a DAG runs in seconds."""
    out = tmp_path / "dataframer-output"
    monkeypatch.setenv("DATAFRAMER_OUTPUT_DIR", str(out))
    monkeypatch.setenv("DATAFRAMER_EXAMPLE_SAMPLES", "5")
    # Airflow 2 asks the executor about sensors, and unit-test mode configures LocalExecutor, which
    # refuses SQLite; dag.test() runs everything in-process anyway (Airflow's own tests set this).
    monkeypatch.setenv("_AIRFLOW__SKIP_DATABASE_EXECUTOR_COMPATIBILITY_CHECK", "1")
    return out


def api(server: EmulatorServer, path: str) -> Any:
    response = httpx.get(f"{server.url}/api/dataframer/{path}", headers=server.headers)
    response.raise_for_status()
    return response.json()


def states(dag_run: Any) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in dag_run.get_task_instances()}


def generated_paths(server: EmulatorServer, run_id: str) -> list[str]:
    return sorted(f["path"] for f in api(server, f"runs/{run_id}/")["generated_files"])


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_chain_dag_lands_the_generated_files(emulator: EmulatorServer, output_dir: Path) -> None:
    dag = load_example_dag("example_dataframer_chain")
    dag_run = dag.test()
    assert str(dag_run.state) == "success", states(dag_run)
    (dataset,) = api(emulator, "seed-datasets/")
    (spec,) = api(emulator, "specs/")
    (run,) = api(emulator, "runs/")
    assert spec["dataset_id"] == dataset["id"] and run["spec_id"] == spec["id"]
    run = api(emulator, f"runs/{run['id']}/")  # list items carry no runtime_params
    assert run["status"] == "SUCCEEDED" and run["runtime_params"]["number_of_samples"] == 5
    (landed,) = output_dir.iterdir()  # one folder per logical date
    assert landed.name == dag_run.logical_date.strftime("%Y%m%d")
    assert files_under(landed) == generated_paths(emulator, run["id"])


def test_chain_dag_writes_to_an_object_storage_uri(emulator: EmulatorServer, output_dir: Path) -> None:
    dag = load_example_dag("example_dataframer_chain")
    lake = output_dir.parent / "lake"
    dag_run = dag.test(run_conf={"output_dir": f"file://{lake}", "number_of_samples": 3})
    assert str(dag_run.state) == "success", states(dag_run)
    (run,) = api(emulator, "runs/")
    run = api(emulator, f"runs/{run['id']}/")
    assert run["runtime_params"]["number_of_samples"] == 3
    (landed,) = lake.iterdir()
    assert files_under(landed) == generated_paths(emulator, run["id"])


def test_scheduled_regeneration_dag(emulator: EmulatorServer, output_dir: Path) -> None:
    dag = load_example_dag("example_dataframer_scheduled_regeneration")
    assert not dag.catchup
    timetable = dag.timetable  # Airflow 3's task SDK names it expression, Airflow 2 _expression
    cron = getattr(timetable, "expression", None) or getattr(timetable, "_expression", None)
    assert cron == "0 6 * * 1", "weekly, Monday 06:00"
    dag_run = dag.test()
    assert str(dag_run.state) == "success", states(dag_run)
    (spec,) = api(emulator, "specs/")
    assert spec["name"].startswith("support-spec-") and spec["name"][-8:].isdigit()
    (run,) = api(emulator, "runs/")
    (landed,) = (output_dir / "weekly").iterdir()
    assert files_under(landed) == generated_paths(emulator, run["id"])


def test_mapped_dag_runs_one_chain_per_dataset(
    emulator: EmulatorServer, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not AIRFLOW_V_3_0_PLUS:
        # Airflow 2's dag.test() resumes a deferred task with its unmapped copy and then refuses
        # to record the mapping of a mapped task's output; a deployment resumes from the DAG.
        monkeypatch.setenv("DATAFRAMER_EXAMPLE_DEFERRABLE", "false")
    dag = load_example_dag("example_dataframer_mapped")
    dag_run = dag.test()
    assert str(dag_run.state) == "success", states(dag_run)
    datasets = api(emulator, "seed-datasets/")
    runs = api(emulator, "runs/")
    assert len(datasets) == len(api(emulator, "specs/")) == len(runs) == 3
    assert {d["name"].rsplit("-", 1)[0] for d in datasets} == {
        "support_tickets",
        "product_reviews",
        "incident_reports",
    }
    (day,) = (output_dir / "mapped").iterdir()
    assert sorted(p.name for p in day.iterdir()) == ["0", "1", "2"]
    landed = sorted(files_under(day / str(index)) for index in range(3))
    assert landed == sorted(generated_paths(emulator, run["id"]) for run in runs)


def link_values(dag: Any, dag_run: Any) -> dict[str, str]:
    """The extra links of each task, as the Airflow UI would show them."""
    links: dict[str, str] = {}
    if AIRFLOW_V_3_0_PLUS:
        # The worker renders links when the task finishes and stores them as XComs.
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            rows = session.query(XComModel).filter(
                XComModel.dag_id == dag.dag_id, XComModel.run_id == dag_run.run_id
            )
            for row in rows:
                if row.key.startswith("_link_Dataframer"):
                    links[f"{row.task_id}:{row.key.removeprefix('_link_')}"] = row.value
        return links
    # The Airflow 2 webserver renders them from the serialized DAG with the registered link classes.
    from airflow.serialization.serialized_objects import SerializedDAG

    serialized = SerializedDAG.from_dict(SerializedDAG.to_dict(dag))
    for ti in dag_run.get_task_instances():
        task = serialized.get_task(ti.task_id)
        for name in task.extra_links:
            links[f"{ti.task_id}:{name.replace(' ', '')}Link"] = task.get_extra_links(ti, name)
    return links


def test_chain_dag_links_point_at_the_app(
    emulator: EmulatorServer, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_connection_at(monkeypatch, emulator, app_url="https://app.example.test")
    dag = load_example_dag("example_dataframer_chain")
    dag_run = dag.test()
    assert str(dag_run.state) == "success", states(dag_run)
    (spec,) = api(emulator, "specs/")
    (run,) = api(emulator, "runs/")
    assert link_values(dag, dag_run) == {
        "create_spec:DataframerSpecLink": f"https://app.example.test/specs/{spec['id']}",
        "generate:DataframerRunLink": f"https://app.example.test/runs/{run['id']}",
        "download:DataframerRunLink": f"https://app.example.test/runs/{run['id']}",
    }
