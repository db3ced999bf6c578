"""
The whole chain in four declarative tasks: upload seed data, build a spec, generate, land the files.

Each task hands its result to the next through ``.output``: the dataset id to the spec, the spec
id to the run, the run summary to the download. The generated files are left in
``params.output_dir`` (``$DATAFRAMER_OUTPUT_DIR``, default ``/tmp/dataframer-output``) under the
run's date; any ``ObjectStoragePath`` URI works too (``s3://bucket/synthetic``, ``file:///data``).
Spec and run wait in the triggerer, so hours of generation hold no worker slot. The run updates
the asset ``dataframer://df-api.dataframer.ai/synthetic-data/support-tickets``, on which
``example_dataframer_asset_consumer`` is scheduled.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_dataframer.assets import synthetic_data_asset
from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
from airflow_provider_dataframer.operators.run import CreateRunOperator, DownloadRunFilesOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator

# 30 s between polls and 100 samples suit the real service; the demo and tests use a fraction.
POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "30"))
SAMPLES = int(os.environ.get("DATAFRAMER_EXAMPLE_SAMPLES", "100"))
OUTPUT_DIR = os.environ.get("DATAFRAMER_OUTPUT_DIR", "/tmp/dataframer-output")
SEED = Path(__file__).parent / "data" / "support_tickets.csv"
SUPPORT_TICKETS = synthetic_data_asset("support-tickets")

with DAG(
    dag_id="example_dataframer_chain",
    description="Seed CSV -> dataset -> spec -> run -> files on disk or in object storage",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "seed_path": Param(str(SEED), type="string", description="Seed file, folder, ZIP or URI"),
        "number_of_samples": Param(SAMPLES, type="integer", minimum=1, maximum=20000),
        "output_dir": Param(OUTPUT_DIR, type="string", description="Local folder or URI for the files"),
    },
    tags=["dataframer", "example"],
) as dag:
    upload = UploadSeedDatasetOperator(
        task_id="upload_seed",
        name="chain-support-tickets-{{ ds_nodash }}",
        paths="{{ params.seed_path }}",
        description="Support tickets exported from the help desk",
    )
    create_spec = CreateSpecOperator(
        task_id="create_spec",
        name="chain-support-spec-{{ ds_nodash }}",
        dataset_id=upload.output,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    generate = CreateRunOperator(
        task_id="generate",
        spec_id=create_spec.output,
        number_of_samples="{{ params.number_of_samples }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        outlets=[SUPPORT_TICKETS],  # its event carries run id, sample counts and cost
    )
    download = DownloadRunFilesOperator(
        task_id="download",
        run_id=generate.output,
        destination="{{ params.output_dir }}/{{ ds_nodash }}",
        poll_interval=min(POLL_INTERVAL, 2.0),
    )
