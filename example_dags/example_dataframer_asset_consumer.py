"""
Train on fresh synthetic data: a DAG scheduled on a Dataframer asset, not on a clock.

``example_dataframer_chain`` declares the asset
``dataframer://df-api.dataframer.ai/synthetic-data/support-tickets`` as the outlet of its run;
each time that run succeeds Airflow records an asset event whose extra holds the run id, the
sample counts and the cost, and starts this DAG. Its first task reads the newest event (through
``inlet_events``, which also works in ``dag.test()``), the download fetches that run's files and
``train`` stands for the training step: it counts the rows it was given.

The same file runs on Airflow 2.11, where the asset is a ``Dataset`` and the DAG is
dataset-scheduled.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, AirflowFailException, Param, get_current_context, task

from airflow_provider_dataframer.assets import synthetic_data_asset
from airflow_provider_dataframer.destinations import resolve_source
from airflow_provider_dataframer.operators.run import DownloadRunFilesOperator

OUTPUT_DIR = os.environ.get("DATAFRAMER_OUTPUT_DIR", "/tmp/dataframer-output")
SUPPORT_TICKETS = synthetic_data_asset("support-tickets")

with DAG(
    dag_id="example_dataframer_asset_consumer",
    description="Runs when example_dataframer_chain has generated fresh synthetic support tickets",
    schedule=[SUPPORT_TICKETS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"output_dir": Param(OUTPUT_DIR, type="string", description="Local folder or URI for the files")},
    tags=["dataframer", "example", "assets"],
) as dag:

    @task(inlets=[SUPPORT_TICKETS])
    def fresh_run() -> dict[str, Any]:
        """The newest event of the asset: which run made the data, how many samples, at what cost."""
        events = get_current_context()["inlet_events"][SUPPORT_TICKETS]
        if not events:
            raise AirflowFailException(
                f"No event of {SUPPORT_TICKETS.uri} yet: run example_dataframer_chain first."
            )
        extra = dict(events[-1].extra)
        print(
            f"Fresh synthetic data from Dataframer run {extra['run_id']}: "
            f"{extra.get('samples_completed')} samples ({extra.get('samples_failed') or 0} failed), "
            f"cost {extra.get('total_cost')}"
        )
        return extra

    @task
    def train(landed: dict[str, Any]) -> dict[str, int]:
        """Stands for training: reads the generated files the download lists and counts their rows."""
        rows = 0
        for path in landed["files"]:
            with resolve_source(path).open("rb") as handle:
                rows += sum(1 for _ in handle)
        print(f"Trained on {rows} rows from {len(landed['files'])} of {landed['count']} file(s)")
        return {"files": landed["count"], "rows": rows}

    run = fresh_run()
    download = DownloadRunFilesOperator(
        task_id="download",
        run_id=run,
        destination="{{ params.output_dir }}/asset-consumer/{{ run_id | replace(':', '_') }}",
    )
    train(download.output)
