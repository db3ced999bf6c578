"""The event-driven example DAG parses as a DAG processor reads it: on Airflow 3 with its watcher."""

from __future__ import annotations

import importlib.util
import json

import pytest

from airflow_provider_dataframer.triggers.run_finished import EVENT_TRIGGERS_SUPPORTED, RunFinishedTrigger
from tests.integration.conftest import EXAMPLE_DAGS

DAG_FILE = EXAMPLE_DAGS / "example_dataframer_run_finished_watcher.py"


def parse() -> object:
    spec = importlib.util.spec_from_file_location("example_run_finished_watcher", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not EVENT_TRIGGERS_SUPPORTED, reason="AssetWatcher needs Airflow 3")
def test_the_dag_is_scheduled_on_an_asset_watched_by_run_finished_trigger() -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    module = parse()
    dag = module.dag  # type: ignore[attr-defined]
    [watcher] = module.WEEKLY_TICKETS.watchers  # type: ignore[attr-defined]
    assert isinstance(watcher.trigger, RunFinishedTrigger)
    classpath, kwargs = watcher.trigger.serialize()
    assert kwargs["spec_name"] == "weekly-tickets-*" and kwargs["statuses"] == ["SUCCEEDED"]
    # What the dag-processor stores, and what the triggerer re-creates the trigger from.
    serialized = json.dumps(DagSerialization.to_dict(dag))
    assert classpath in serialized
    assert RunFinishedTrigger(**kwargs).serialize() == (classpath, kwargs)


@pytest.mark.skipif(EVENT_TRIGGERS_SUPPORTED, reason="checks the Airflow 2 fallback")
def test_on_airflow_2_the_file_defines_no_dag() -> None:
    module = parse()
    assert not hasattr(module, "dag")
    with pytest.raises(RuntimeError, match="needs Airflow 3"):
        RunFinishedTrigger(spec_name="*")
