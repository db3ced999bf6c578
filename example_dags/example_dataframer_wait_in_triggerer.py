"""
Wait for a run someone started in the Dataframer app, without ever taking a worker slot.

``start_from_trigger=True``: the scheduler hands the sensor straight to the triggerer, which
renders ``run_id`` from the DAG run's params and polls the run; a worker runs the task only once
the run has finished, to return its summary (samples, failures, cost) to the download. Airflow
renders a template in the triggerer from 3.3 on: older versions wait with ``deferrable=True``
(a first check on a worker, then the triggerer).

Trigger it with ``{"run_id": "<the run's id>"}``.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, Param
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS

from airflow_provider_dataframer.operators.run import DownloadRunFilesOperator
from airflow_provider_dataframer.sensors.run import RunStatusSensor

POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "60"))
OUTPUT_DIR = os.environ.get("DATAFRAMER_OUTPUT_DIR", "/tmp/dataframer-output")

with DAG(
    dag_id="example_dataframer_wait_in_triggerer",
    description="Wait in the triggerer for a run started elsewhere, then download its files",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "run_id": Param("", type="string", description="The id of the run to wait for"),
        "output_dir": Param(OUTPUT_DIR, type="string"),
    },
    tags=["dataframer", "example"],
) as dag:
    # [START howto_sensor_start_from_trigger]
    wait = RunStatusSensor(
        task_id="wait_for_run",
        run_id="{{ params.run_id }}",
        start_from_trigger=AIRFLOW_V_3_3_PLUS,
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        timeout=6 * 3600,
    )
    # [END howto_sensor_start_from_trigger]
    download = DownloadRunFilesOperator(
        task_id="download",
        run_id=wait.output,
        destination="{{ params.output_dir }}/{{ params.run_id }}",
    )
