"""
Build a Dataframer spec from written objectives alone (seedless), waiting in the triggerer.

No seed data is needed: ``generation_objectives`` describes the data. The extrapolate flags do not
apply to a seedless spec and are not sent.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataframer.operators.spec import CreateSpecOperator

# Seconds between status polls: 30 s suits the real service; the demo and tests use a fraction.
POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="example_dataframer_seedless_spec",
    description="Objectives -> Dataframer spec (seedless, deferrable)",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["dataframer", "example"],
) as dag:
    CreateSpecOperator(
        task_id="create_seedless_spec",
        name="patient-intake-notes-{{ ds_nodash }}",
        generation_objectives=(
            "Short patient intake notes written by nurses: age, reason for visit, symptoms with "
            "their duration, allergies and a triage level from 1 to 5."
        ),
        spec_generation_model_name="anthropic/claude-sonnet-4-6-thinking",
        generate_distributions=True,
        generate_conditional_distributions=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
