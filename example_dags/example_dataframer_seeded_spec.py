"""
Build a Dataframer spec from an existing seed dataset, waiting in the triggerer.

Trigger it with the seed dataset's id, e.g.
``airflow dags trigger example_dataframer_seeded_spec --conf '{"dataset_id": "<uuid>"}'``.
The spec id lands in XCom; the next task reads the spec back and logs the columns it learned.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.operators.spec import CreateSpecOperator

# Seconds between status polls: 30 s suits the real service; the demo and tests use a fraction.
POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="example_dataframer_seeded_spec",
    description="Seed dataset -> Dataframer spec (deferrable)",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"dataset_id": Param(type="string", description="The seed dataset to learn from")},
    tags=["dataframer", "example"],
) as dag:
    create_spec = CreateSpecOperator(
        task_id="create_spec",
        name="support-tickets-spec-{{ ds_nodash }}",
        dataset_id="{{ params.dataset_id }}",
        description="Support tickets, learned from the seed dataset",
        generate_distributions=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )

    @task
    def describe_spec(spec_id: str) -> dict[str, object]:
        """Read the finished spec back and report what it learned."""
        spec = DataframerHook().get_spec(spec_id)
        print(f"Spec {spec.id} ({spec.name}) is {spec.status}; content_yaml:\n{spec.content_yaml}")
        return {
            "spec_id": spec.id,
            "status": spec.status,
            "content_yaml_lines": len((spec.content_yaml or "").splitlines()),
        }

    describe_spec(create_spec.output)
