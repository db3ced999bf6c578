"""
The DAGs of the scale-out deployment test (tests/deployment/scaleout): deferrable waits only.

``scaleout_specs`` creates 8 specs and ``scaleout_runs`` 2 runs on the fast emulator
(``dataframer_default``); ``scaleout_mark_failed`` and ``scaleout_execution_timeout`` each start
one run on the slow emulator (``dataframer_slow``), whose runs never end on their own. The runs'
spec ids come from the DAG run's conf (the test creates those specs directly).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataframer.operators.run import CreateRunOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator

SPEC_TASKS = 8
RUN_TASKS = 2
POLL_INTERVAL = 1.0
EXECUTION_TIMEOUT = timedelta(seconds=45)
DEFAULTS = {"retries": 0, "deferrable": True, "poll_interval": POLL_INTERVAL}


def dag(dag_id: str) -> DAG:
    return DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        default_args=DEFAULTS,
        tags=["dataframer", "scaleout-test"],
    )


with dag("scaleout_specs"):
    for index in range(SPEC_TASKS):
        CreateSpecOperator(
            task_id=f"spec_{index}",
            name=f"scaleout-spec-{index}",
            generation_objectives=f"Short support tickets, batch {index}.",
        )

with dag("scaleout_runs"):
    for index in range(RUN_TASKS):
        CreateRunOperator(
            task_id=f"run_{index}",
            spec_id=f"{{{{ dag_run.conf['spec_ids'][{index}] }}}}",
            number_of_samples=4,
        )

with dag("scaleout_mark_failed"):
    CreateRunOperator(
        task_id="run",
        dataframer_conn_id="dataframer_slow",
        spec_id="{{ dag_run.conf['spec_id'] }}",
        number_of_samples=4,
    )

with dag("scaleout_execution_timeout"):
    CreateRunOperator(
        task_id="run",
        dataframer_conn_id="dataframer_slow",
        spec_id="{{ dag_run.conf['spec_id'] }}",
        number_of_samples=4,
        execution_timeout=EXECUTION_TIMEOUT,
    )
