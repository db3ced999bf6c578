"""The spec-version example DAG, run with ``dag.test()`` against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from airflow_provider_dataframer.operators.spec import UpdateSpecOperator
from tests.integration.conftest import EXAMPLE_DAGS, load_example_dag
from tests.integration.task_runner import run_task
from tests.integration.test_example_chain_dags import api, output_dir, states

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_db")]

__all__ = ["output_dir"]  # the fixture, shared with the chain DAGs' tests
REVIEWED = EXAMPLE_DAGS / "specs" / "support_replies.yaml"


def test_the_reviewed_yaml_becomes_version_2_and_the_run_is_pinned_to_it(
    emulator: EmulatorServer, output_dir: Path
) -> None:
    dag = load_example_dag("example_dataframer_spec_versions")
    dag_run = dag.test()
    assert str(dag_run.state) == "success", states(dag_run)
    (spec,) = api(emulator, "specs/")
    versions = api(emulator, f"specs/{spec['id']}/?include_versions=true")["versions"]
    assert len(versions) == 2
    reviewed = yaml.safe_load(REVIEWED.read_text())
    assert yaml.safe_load(versions[1]["content_yaml"])["spec"] == reviewed["spec"]
    (run,) = api(emulator, "runs/")
    run = api(emulator, f"runs/{run['id']}/")
    assert run["spec_version"] == 2 and run["status"] == "SUCCEEDED"
    (landed,) = [path for path in (output_dir / "review").rglob("*") if path.is_file()]
    assert landed.parent.name == dag_run.logical_date.strftime("%Y%m%d")
    assert landed.name == run["generated_files"][0]["path"].rsplit("/", 1)[-1]
    topics = reviewed["spec"]["data_property_variations"][0]["property_values"]
    assert any(topic in landed.read_text().lower() for topic in topics), "generated from version 2"

    # The same YAML pushed again (a re-run, a retry) adds no version.
    again = run_task(UpdateSpecOperator(task_id="again", spec_id=spec["id"], yaml_path=str(REVIEWED)))
    assert again.result == 2
    assert len(api(emulator, f"specs/{spec['id']}/?include_versions=true")["versions"]) == 2
