"""
The platform around generation: mask production data, generate from it, gate on quality, retain.

1. ``upload_extract``: a production CRM extract (names, e-mails, phones, SSNs) becomes a seed
   dataset, only so that Dataframer can mask it;
2. ``anonymize``: an anonymization run masks its PII and the masked files land in
   ``params.output_dir``/masked;
3. ``upload_masked``: the masked files become the seed dataset the spec learns from;
4. ``create_spec`` and ``generate``: a spec, then a run of ``params.number_of_samples`` samples;
5. ``evaluate``: Dataframer's evaluator classifies every sample; the **quality gate** fails the
   DAG (and nothing downstream runs) when a value's share is more than ``MAX_DEVIATION`` percentage
   points away from the share expected, listing every number that missed;
6. ``download``: the generated files land in ``params.output_dir``;
7. ``retention``: the spec's runs older than the newest 3 are deleted, files included.

Evaluations need enough samples to say something: at least 60 here. Against the emulator, a spec
name containing ``[poor-run]`` (``params.spec_name``) produces a run the gate rejects.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_dataframer.operators.anonymization import AnonymizeSeedDatasetOperator
from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
from airflow_provider_dataframer.operators.evaluation import CreateEvaluationOperator
from airflow_provider_dataframer.operators.run import (
    CreateRunOperator,
    DeleteRunOperator,
    DownloadRunFilesOperator,
)
from airflow_provider_dataframer.operators.spec import CreateSpecOperator

POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "30"))
SAMPLES = max(int(os.environ.get("DATAFRAMER_EXAMPLE_SAMPLES", "100")), 60)
OUTPUT_DIR = os.environ.get("DATAFRAMER_OUTPUT_DIR", "/tmp/dataframer-output")
EXTRACT = Path(__file__).parent / "data" / "crm_extract.csv"
MAX_DEVIATION = 25.0
"""Percentage points a value's share may drift from the share expected for the sample count."""

with DAG(
    dag_id="example_dataframer_platform",
    description="Mask PII -> seed -> spec -> run -> quality gate -> files -> retention",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "extract_path": Param(str(EXTRACT), type="string", description="Production extract with PII"),
        "spec_name": Param("crm-tickets", type="string", description="Name of the spec (date appended)"),
        "number_of_samples": Param(SAMPLES, type="integer", minimum=60, maximum=20000),
        "output_dir": Param(OUTPUT_DIR, type="string", description="Local folder or URI for the files"),
    },
    tags=["dataframer", "example"],
) as dag:
    upload_extract = UploadSeedDatasetOperator(
        task_id="upload_extract",
        name="crm-extract-raw-{{ ds_nodash }}",
        paths="{{ params.extract_path }}",
        description="Production CRM extract: holds PII, used only to be masked",
    )
    anonymize = AnonymizeSeedDatasetOperator(
        task_id="anonymize",
        dataset_id=upload_extract.output,
        pii_types=["first_name", "last_name", "email", "phone_number", "ssn"],
        mask_config={"email": "<EMAIL>", "phone_number": "<PHONE>", "ssn": "<SSN>"},
        destination="{{ params.output_dir }}/masked/{{ ds_nodash }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    upload_masked = UploadSeedDatasetOperator(
        task_id="upload_masked",
        name="crm-extract-masked-{{ ds_nodash }}",
        paths=anonymize.output["masked_files"],
        description="The CRM extract with its PII masked",
    )
    create_spec = CreateSpecOperator(
        task_id="create_spec",
        name="{{ params.spec_name }}-{{ ds_nodash }}",
        dataset_id=upload_masked.output,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    generate = CreateRunOperator(
        task_id="generate",
        spec_id=create_spec.output,
        number_of_samples="{{ params.number_of_samples }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    evaluate = CreateEvaluationOperator(
        task_id="evaluate",
        run_id=generate.output,
        max_deviation=MAX_DEVIATION,
        min_analyzed_ratio=0.9,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    download = DownloadRunFilesOperator(
        task_id="download",
        run_id=generate.output,
        destination="{{ params.output_dir }}/generated/{{ ds_nodash }}",
        poll_interval=min(POLL_INTERVAL, 2.0),
    )
    retention = DeleteRunOperator(task_id="retention", spec_id=create_spec.output, keep_latest=3)

    evaluate >> download >> retention
