"""
Weekly regeneration: as the seed data drifts, learn a fresh spec from this week's snapshot and
generate a new synthetic set from it.

Every name is templated with the run's date (``support-spec-{{ ds_nodash }}``), so each week makes
its own dataset, spec and run, and a cleared or retried week reuses its own instead of clashing.
Generation is started without waiting, then watched by a deferrable ``RunStatusSensor``: the wait
costs no worker slot, and the sensor's summary (samples, failures, cost) feeds the download.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
from airflow_provider_dataframer.operators.run import CreateRunOperator, DownloadRunFilesOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from airflow_provider_dataframer.sensors.run import RunStatusSensor

POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "60"))
SAMPLES = int(os.environ.get("DATAFRAMER_EXAMPLE_SAMPLES", "1000"))
OUTPUT_DIR = os.environ.get("DATAFRAMER_OUTPUT_DIR", "/tmp/dataframer-output")
SNAPSHOT = Path(__file__).parent / "data" / "support_tickets.csv"

with DAG(
    dag_id="example_dataframer_scheduled_regeneration",
    description="Every Monday: this week's seed snapshot -> fresh spec -> new synthetic set",
    schedule="0 6 * * 1",
    start_date=datetime(2026, 1, 5),
    catchup=False,
    max_active_runs=1,
    params={
        "seed_path": Param(str(SNAPSHOT), type="string", description="This week's seed snapshot"),
        "number_of_samples": Param(SAMPLES, type="integer", minimum=1, maximum=20000),
        "output_dir": Param(OUTPUT_DIR, type="string"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["dataframer", "example"],
) as dag:
    snapshot = UploadSeedDatasetOperator(
        task_id="upload_snapshot",
        name="support-tickets-{{ ds_nodash }}",
        paths="{{ params.seed_path }}",
        description="Support tickets, snapshot of {{ ds }}",
    )
    spec = CreateSpecOperator(
        task_id="learn_spec",
        name="support-spec-{{ ds_nodash }}",
        dataset_id=snapshot.output,
        description="Learned from the snapshot of {{ ds }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    start = CreateRunOperator(
        task_id="start_generation",
        spec_id=spec.output,
        number_of_samples="{{ params.number_of_samples }}",
        wait_for_completion=False,
    )
    wait = RunStatusSensor(
        task_id="wait_for_generation",
        run_id=start.output,
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        timeout=12 * 3600,
    )
    DownloadRunFilesOperator(
        task_id="land_files",
        run_id=wait.output,
        destination="{{ params.output_dir }}/weekly/{{ ds }}",
        poll_interval=min(POLL_INTERVAL, 2.0),
    )
