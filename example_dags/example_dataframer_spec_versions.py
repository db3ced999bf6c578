"""
Specs kept in git: push a reviewed YAML as a new spec version, then generate from that version.

1. ``create_spec``: a seedless spec (Dataframer writes its first version from the objectives);
2. ``push_reviewed_yaml``: ``specs/support_replies.yaml``, reviewed in a pull request and kept
   beside this DAG, becomes the spec's next version; the task returns the version's number (the
   same YAML pushed again adds no version, so re-runs are harmless);
3. ``generate``: a run pinned to that version (``spec_version=push_reviewed_yaml.output``), so a
   later edit of the spec cannot change what this run generates;
4. ``review_one_sample``: one generated file lands in ``params.output_dir`` for a human to read,
   without downloading the whole run.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_dataframer.operators.file_download import DownloadRunFileOperator
from airflow_provider_dataframer.operators.run import CreateRunOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator, UpdateSpecOperator

POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "30"))
SAMPLES = int(os.environ.get("DATAFRAMER_EXAMPLE_SAMPLES", "100"))
OUTPUT_DIR = os.environ.get("DATAFRAMER_OUTPUT_DIR", "/tmp/dataframer-output")
REVIEWED_SPEC = Path(__file__).parent / "specs" / "support_replies.yaml"

with DAG(
    dag_id="example_dataframer_spec_versions",
    description="Seedless spec -> reviewed YAML from git as a new version -> run pinned to it -> one file",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "spec_yaml": Param(str(REVIEWED_SPEC), type="string", description="Reviewed YAML: path or URI"),
        "number_of_samples": Param(SAMPLES, type="integer", minimum=1, maximum=20000),
        "output_dir": Param(OUTPUT_DIR, type="string", description="Local folder or URI for the sample"),
    },
    tags=["dataframer", "example"],
) as dag:
    create_spec = CreateSpecOperator(
        task_id="create_spec",
        name="support-replies-{{ ds_nodash }}",
        generation_objectives="Replies of a software company's support team to customer tickets.",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    push_reviewed_yaml = UpdateSpecOperator(
        task_id="push_reviewed_yaml",
        spec_id=create_spec.output,
        yaml_path="{{ params.spec_yaml }}",
    )
    generate = CreateRunOperator(
        task_id="generate",
        spec_id=create_spec.output,
        spec_version=push_reviewed_yaml.output,
        number_of_samples="{{ params.number_of_samples }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    review_one_sample = DownloadRunFileOperator(
        task_id="review_one_sample",
        run_id=generate.output,
        file_id="{{ ti.xcom_pull(task_ids='generate')['files'][0]['id'] }}",
        destination="{{ params.output_dir }}/review/{{ ds_nodash }}",
        poll_interval=min(POLL_INTERVAL, 2.0),
    )
