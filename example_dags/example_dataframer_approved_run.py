"""
A person approves the spec before any paid generation starts (Airflow 3.1+ human-in-the-loop).

The spec is built first (cheap); ``describe_spec`` reads it back and ``approve_spec`` shows its
objectives, its YAML and the size of the run it would pay for in the "Required Actions" page of
the Airflow UI. "Approve" starts the run and lands its files; "Reject", or no answer within a day
(the default is "Reject"), skips them, so nothing is paid without a yes.

The human-in-the-loop operators need Airflow 3.1+ and the standard provider: on older versions
this file defines no DAG at all (and the DAG processor reports nothing), so it can sit in a shared
DAGs folder that an Airflow 2.11 deployment also reads.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, AirflowOptionalProviderFeatureException, Param, task

from airflow_provider_dataframer.operators.run import CreateRunOperator, DownloadRunFilesOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator

try:
    from airflow.providers.standard.operators.hitl import ApprovalOperator
except (ImportError, AirflowOptionalProviderFeatureException):  # Airflow < 3.1, or no standard provider
    ApprovalOperator = None

POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "30"))
SAMPLES = int(os.environ.get("DATAFRAMER_EXAMPLE_SAMPLES", "500"))
OUTPUT_DIR = os.environ.get("DATAFRAMER_OUTPUT_DIR", "/tmp/dataframer-output")
SPEC_PREVIEW_CHARS = 4000  # the approval page shows the start of the spec's YAML

if ApprovalOperator is not None:
    with DAG(
        dag_id="example_dataframer_approved_run",
        description="Spec -> human approval in the Airflow UI -> paid run -> files",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params={
            "number_of_samples": Param(SAMPLES, type="integer", minimum=1, maximum=20000),
            "output_dir": Param(OUTPUT_DIR, type="string", description="Local folder or URI for the files"),
        },
        tags=["dataframer", "example", "human-in-the-loop"],
    ) as dag:
        create_spec = CreateSpecOperator(
            task_id="create_spec",
            name="approved-claims-{{ ds_nodash }}",
            generation_objectives=(
                "Insurance claim descriptions written by customers: what happened, when, the damage "
                "and an estimated amount in EUR."
            ),
            deferrable=True,
            poll_interval=POLL_INTERVAL,
        )

        @task
        def describe_spec(spec_id: str, number_of_samples: int) -> str:
            """The approval page's body (Markdown): what the spec says and what a yes will cost."""
            from airflow_provider_dataframer.hooks.dataframer import DataframerHook

            spec = DataframerHook().get_spec(spec_id)
            content = (spec.content_yaml or "(no YAML returned)")[:SPEC_PREVIEW_CHARS]
            return (
                f"Spec **{spec.name}** (`{spec.id}`) is {spec.status}.\n\n"
                f"Approving starts a **paid** Dataframer run of **{number_of_samples} samples**.\n\n"
                f"```yaml\n{content}\n```"
            )

        body = describe_spec(create_spec.output, "{{ params.number_of_samples }}")
        approve = ApprovalOperator(
            task_id="approve_spec",
            subject="Generate {{ params.number_of_samples }} samples from Dataframer spec "
            "{{ ti.xcom_pull(task_ids='create_spec') }}?",
            body="{{ ti.xcom_pull(task_ids='describe_spec') }}",
            defaults="Reject",  # no answer in time: nothing is paid
            response_timeout=timedelta(days=1),
        )
        generate = CreateRunOperator(
            task_id="generate",
            spec_id=create_spec.output,
            number_of_samples="{{ params.number_of_samples }}",
            deferrable=True,
            poll_interval=POLL_INTERVAL,
        )
        download = DownloadRunFilesOperator(
            task_id="download",
            run_id=generate.output,
            destination="{{ params.output_dir }}/approved/{{ ds_nodash }}",
            poll_interval=min(POLL_INTERVAL, 2.0),
        )
        body >> approve >> generate >> download
