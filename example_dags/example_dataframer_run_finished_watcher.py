"""
Start a DAG when a Dataframer run finishes, whoever started it (event-driven scheduling).

The runs are started outside this Airflow: in the Dataframer app, by another team's DAG or
script. The asset ``dataframer://df-api.dataframer.ai/synthetic-data/weekly-tickets`` has an
``AssetWatcher`` whose ``RunFinishedTrigger`` polls the run list in the triggerer; each run of a
spec named ``weekly-tickets-*`` that succeeds becomes one asset event (its extra's ``payload``
holds the run id, spec, status, sample counts and cost), and each event starts this DAG once.
``fresh_run`` reads the event that started it (``triggering_asset_events``) and the download
fetches that run's files.

Event-driven scheduling needs Airflow 3 (``AssetWatcher``): on Airflow 2.11 this file defines no
DAG at all, so it can sit in a DAGs folder that an Airflow 2.11 deployment also reads.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, AirflowFailException, Param, get_current_context, task

from airflow_provider_dataframer.assets import SYNTHETIC_DATA, asset_uri
from airflow_provider_dataframer.operators.run import DownloadRunFilesOperator
from airflow_provider_dataframer.triggers.run_finished import EVENT_TRIGGERS_SUPPORTED, RunFinishedTrigger

try:
    from airflow.sdk import Asset, AssetWatcher
except ImportError:  # Airflow 2: no AssetWatcher
    AssetWatcher = None

WATCHED_SPECS = os.environ.get("DATAFRAMER_WATCHED_SPEC_NAME", "weekly-tickets-*")
POLL_INTERVAL = float(os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "60"))
OUTPUT_DIR = os.environ.get("DATAFRAMER_OUTPUT_DIR", "/tmp/dataframer-output")

if AssetWatcher is not None and EVENT_TRIGGERS_SUPPORTED:
    WEEKLY_TICKETS = Asset(
        name="dataframer_weekly_tickets",
        uri=asset_uri(SYNTHETIC_DATA, "weekly-tickets"),
        watchers=[
            AssetWatcher(
                name="dataframer_weekly_tickets_run_finished",
                trigger=RunFinishedTrigger(
                    spec_name=WATCHED_SPECS,
                    statuses=["SUCCEEDED"],
                    poll_interval=max(POLL_INTERVAL, 1.0),
                ),
            )
        ],
    )

    with DAG(
        dag_id="example_dataframer_run_finished_watcher",
        description="Runs once for each Dataframer run of a weekly-tickets-* spec that succeeds",
        schedule=[WEEKLY_TICKETS],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params={
            "output_dir": Param(OUTPUT_DIR, type="string", description="Local folder or URI for the files")
        },
        tags=["dataframer", "example", "assets", "event-driven"],
    ) as dag:

        @task(multiple_outputs=True)
        def fresh_run() -> dict[str, Any]:
            """The run that started this DAG run: the payload of the triggering asset event."""
            events = get_current_context()["triggering_asset_events"][WEEKLY_TICKETS]
            if not events:
                raise AirflowFailException(
                    f"Started without an event of {WEEKLY_TICKETS.uri}: this DAG runs when a "
                    f"Dataframer run of a {WATCHED_SPECS!r} spec succeeds."
                )
            payload = dict(events[-1].extra["payload"])
            print(
                f"Dataframer run {payload['run_id']} of spec {payload['spec_name']!r} "
                f"{payload['status']}: {payload['samples_completed']} samples "
                f"({payload['samples_failed'] or 0} failed), cost {payload['total_cost']}"
            )
            return payload

        run = fresh_run()
        DownloadRunFilesOperator(
            task_id="download",
            run_id=run["run_id"],
            destination="{{ params.output_dir }}/run-finished/{{ run_id | replace(':', '_') }}",
        )
