"""The dataframer:// asset scheme: URIs, Airflow's normalization through the provider, events' extra."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS, Asset

from airflow_provider_dataframer.assets import (
    asset_uri,
    convert_asset_to_openlineage,
    create_asset,
    download_event_extra,
    record_outlet_events,
    run_event_extra,
    synthetic_data_asset,
)

SUMMARY = {
    "run_id": "r-1",
    "status": "SUCCEEDED",
    "samples_completed": 9,
    "samples_failed": 1,
    "total_cost": 0.42,
    "files": [
        {"id": "f1", "path": "a.csv", "size_bytes": 10},
        {"id": "f2", "path": "b.csv", "size_bytes": 5},
    ],
}


def test_asset_uris_name_the_deployment_and_the_object() -> None:
    assert synthetic_data_asset("support-tickets").uri == (
        "dataframer://df-api.dataframer.ai/synthetic-data/support-tickets"
    )
    assert asset_uri("runs", "r-1", "http://127.0.0.1:8000/") == "dataframer://127.0.0.1:8000/runs/r-1"
    assert asset_uri("synthetic-data", "tickets v2") == (
        "dataframer://df-api.dataframer.ai/synthetic-data/tickets%20v2"
    )
    assert create_asset(kind="specs", key="s-1", base_url="https://DF.example:8443").uri == (
        "dataframer://df.example:8443/specs/s-1"
    )


def test_bad_kinds_and_keys_are_refused_before_any_dag_runs() -> None:
    with pytest.raises(ValueError, match=r"kind 'files' is unknown; use one of synthetic-data"):
        asset_uri("files", "x")
    with pytest.raises(ValueError, match="non-empty name"):
        synthetic_data_asset("  ")


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        (
            "dataframer://DF-API.Dataframer.AI/synthetic-data/tickets/",
            "dataframer://df-api.dataframer.ai/synthetic-data/tickets",
        ),
        ("dataframer://127.0.0.1:8000/runs/r-1#frag", "dataframer://127.0.0.1:8000/runs/r-1"),
        ("dataframer://[::1]:8000/specs/s-1", "dataframer://[::1]:8000/specs/s-1"),
    ],
)
def test_airflow_normalizes_the_scheme_through_the_provider(written: str, normalized: str) -> None:
    """Airflow finds the handler through the provider info's asset-uris (dataset-uris on Airflow 2)."""
    assert Asset(written).uri == normalized


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("dataframer:///synthetic-data/x", "has no host"),
        ("dataframer://df-api.dataframer.ai/tickets", "must have the path /<kind>/<key>"),
        ("dataframer://df-api.dataframer.ai/specs", "must have the path /<kind>/<key>"),
    ],
)
def test_malformed_uris_fail_when_the_dag_is_parsed(uri: str, message: str) -> None:
    if AIRFLOW_V_3_0_PLUS:
        with pytest.raises(ValueError, match=message):
            Asset(uri)
    else:  # Airflow 2 only warns unless [core] strict_dataset_uri_validation is set
        with pytest.warns(UserWarning, match=message):
            Asset(uri)


def test_openlineage_dataset_matches_the_operators_lineage() -> None:
    from airflow_provider_dataframer import lineage

    converted = convert_asset_to_openlineage(Asset(asset_uri("runs", "r-1", "http://127.0.0.1:8000")), None)
    reported = lineage.dataset("http://127.0.0.1:8000", "runs", "r-1")
    assert (converted.namespace, converted.name) == (reported.namespace, reported.name)
    assert (converted.namespace, converted.name) == ("dataframer://127.0.0.1:8000", "runs/r-1")


def test_event_extras_carry_run_counts_and_cost_but_no_file_list() -> None:
    assert run_event_extra(SUMMARY) == {
        "run_id": "r-1",
        "status": "SUCCEEDED",
        "samples_completed": 9,
        "samples_failed": 1,
        "total_cost": 0.42,
        "file_count": 2,
    }
    assert download_event_extra("r-2", ["/o/a.csv"]) == {"run_id": "r-2", "files_written": 1}
    from_summary = download_event_extra(SUMMARY, ["/o/a.csv", "/o/b.csv"])
    assert from_summary["total_cost"] == 0.42 and from_summary["files_written"] == 2
    assert "file_count" not in from_summary


class Accessor:
    def __init__(self) -> None:
        self.extra: dict[str, Any] = {}


def test_only_the_tasks_asset_outlets_get_the_extra() -> None:
    tickets, other = synthetic_data_asset("tickets"), synthetic_data_asset("other")
    events: defaultdict[Any, Accessor] = defaultdict(Accessor)
    task = SimpleNamespace(outlets=[tickets, "not-an-asset"])
    record_outlet_events({"task": task, "outlet_events": events}, {"run_id": "r-1"})  # type: ignore[arg-type]
    assert events[tickets].extra == {"run_id": "r-1"} and set(events) == {tickets}
    assert other not in events


def test_a_context_without_outlet_events_is_left_alone() -> None:
    """Outside a task run (no outlet_events), nothing is recorded and nothing fails."""
    task = SimpleNamespace(outlets=[synthetic_data_asset("tickets")])
    record_outlet_events({"task": task}, {"run_id": "r"})  # type: ignore[arg-type]
