"""
One chain mapped over several seed datasets with ``expand``: each dataset gets its own spec, run
and output folder, and the mapped instances wait side by side in the triggerer.

The last task receives every run's summary at once and reports the samples and the total cost.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
from airflow_provider_dataframer.operators.run import CreateRunOperator, DownloadRunFilesOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator

POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "30"))
SAMPLES = int(os.environ.get("DATAFRAMER_EXAMPLE_SAMPLES", "100"))
OUTPUT_DIR = os.environ.get("DATAFRAMER_OUTPUT_DIR", "/tmp/dataframer-output")
DATA = Path(__file__).parent / "data"
DATASETS = ("support_tickets", "product_reviews", "incident_reports")
# Wait in the triggerer (the default). Airflow 2's dag.test() cannot resume a deferred *mapped* task
# whose output feeds another mapping, so the tests run this DAG there with "false".
DEFERRABLE = os.environ.get("DATAFRAMER_EXAMPLE_DEFERRABLE", "true").lower() != "false"

with DAG(
    dag_id="example_dataframer_mapped",
    description="Several seed datasets -> one spec, run and folder of files each (dynamic mapping)",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "number_of_samples": Param(SAMPLES, type="integer", minimum=1, maximum=20000),
        "output_dir": Param(OUTPUT_DIR, type="string"),
    },
    tags=["dataframer", "example"],
) as dag:
    uploads = UploadSeedDatasetOperator.partial(task_id="upload_seed").expand_kwargs(
        [{"name": f"{name}-{{{{ ds_nodash }}}}", "paths": str(DATA / f"{name}.csv")} for name in DATASETS]
    )
    specs = CreateSpecOperator.partial(
        task_id="create_spec",
        name="mapped-spec-{{ ds_nodash }}-{{ ti.map_index }}",
        deferrable=DEFERRABLE,
        poll_interval=POLL_INTERVAL,
    ).expand(dataset_id=uploads.output)
    runs = CreateRunOperator.partial(
        task_id="generate",
        number_of_samples="{{ params.number_of_samples }}",
        deferrable=DEFERRABLE,
        poll_interval=POLL_INTERVAL,
    ).expand(spec_id=specs.output)
    DownloadRunFilesOperator.partial(
        task_id="download",
        destination="{{ params.output_dir }}/mapped/{{ ds_nodash }}/{{ ti.map_index }}",
        poll_interval=min(POLL_INTERVAL, 2.0),
    ).expand(run_id=runs.output)

    @task
    def report(summaries: list[dict[str, Any]]) -> dict[str, Any]:
        """Add up what the runs produced and cost."""
        summaries = list(summaries)
        total = {
            "runs": len(summaries),
            "samples_completed": sum(s["samples_completed"] or 0 for s in summaries),
            "samples_failed": sum(s["samples_failed"] or 0 for s in summaries),
            "total_cost": round(sum(s["total_cost"] or 0.0 for s in summaries), 4),
        }
        print(
            f"Generated {total['samples_completed']} samples in {total['runs']} runs for ${total['total_cost']}"
        )
        return total

    report(runs.output)
