from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

import pytest

from airflow_provider_dataframer import lineage
from airflow_provider_dataframer.lineage import file_naming, namespace, object_storage_naming
from airflow_provider_dataframer.operators.spec import CreateSpecOperator

HAS_OPENLINEAGE = find_spec("airflow.providers.openlineage") is not None
requires_openlineage = pytest.mark.skipif(
    not HAS_OPENLINEAGE, reason="the openlineage extra is not installed"
)

DATASET_ID = "3f1c2b9e-8f5d-4a51-9a43-0c5b8a7d2e11"
SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://df-api.dataframer.ai", "dataframer://df-api.dataframer.ai"),
        ("http://127.0.0.1:8000", "dataframer://127.0.0.1:8000"),
        ("https://DF-API.dataframer.ai:443/api/", "dataframer://df-api.dataframer.ai"),
        ("http://[::1]:8000", "dataframer://[::1]:8000"),
    ],
)
def test_namespace(base_url: str, expected: str) -> None:
    assert namespace(base_url) == expected


# https://openlineage.io/docs/spec/naming, as apache-airflow-providers-openlineage applies it.
URI_NAMING = [
    ("s3://bucket/b.csv", ("s3://bucket", "b.csv")),
    ("s3://bucket/seed/a/b.csv", ("s3://bucket", "seed/a/b.csv")),
    ("s3a://bucket/b.csv", ("s3://bucket", "b.csv")),
    ("s3n://bucket/b.csv", ("s3://bucket", "b.csv")),
    ("gs://bucket/dir/b.csv", ("gs://bucket", "dir/b.csv")),
    ("gcs://bucket/dir/b.csv", ("gs://bucket", "dir/b.csv")),
    ("hdfs://namenode:8020/data/b.csv", ("hdfs://namenode:8020", "data/b.csv")),
]


@pytest.mark.parametrize(("uri", "expected"), URI_NAMING)
def test_object_storage_uris_follow_the_naming_spec(uri: str, expected: tuple[str, str]) -> None:
    assert file_naming(uri) == expected


@pytest.mark.parametrize(("uri", "expected"), URI_NAMING)
def test_object_storage_naming_without_the_provider_helper(
    uri: str, expected: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lineage, "provider_uri_helper", lambda: None)
    assert file_naming(uri) == expected


@requires_openlineage
@pytest.mark.parametrize(
    "uri", [uri for uri, _ in URI_NAMING] + ["abfss://c@acct.dfs.core.windows.net/p/b.csv", "https://h/x"]
)
def test_the_fallback_mapping_matches_the_provider_helper(uri: str) -> None:
    helper = lineage.provider_uri_helper()
    if helper is None:
        pytest.skip("this openlineage provider has no convert_to_ol_dataset_from_object_storage_uri")
    found = helper(uri)
    assert object_storage_naming(uri) == (found.namespace, found.name)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/data/a.csv", ("file", "/data/a.csv")),
        ("/data/../data/./a.csv", ("file", "/data/a.csv")),
        ("file:///data/a.csv", ("file", "/data/a.csv")),
        ("file://localhost/data/a.csv", ("file", "/data/a.csv")),
        ("file://fileserver/data/a.csv", ("file://fileserver", "/data/a.csv")),
    ],
)
def test_local_files_are_file_plus_the_absolute_path(path: str, expected: tuple[str, str]) -> None:
    assert file_naming(path) == expected


def test_relative_and_home_paths_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", "/home/airflow")
    cwd = os.getcwd()
    assert file_naming("seed/a.csv") == ("file", f"{cwd}/seed/a.csv")
    assert file_naming("./a.csv") == ("file", f"{cwd}/a.csv")
    assert file_naming("~/a.csv") == ("file", "/home/airflow/a.csv")
    assert file_naming("a.csv") == file_naming(f"file://{cwd}/a.csv")


@requires_openlineage
def test_seeded_spec_lineage_has_the_seed_as_input_and_the_spec_as_output() -> None:
    operator = CreateSpecOperator(task_id="t", name="n", dataset_id=DATASET_ID)
    operator.resource_id = SPEC_ID
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("dataframer://dataframer.test", f"seed-datasets/{DATASET_ID}")
    ]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("dataframer://dataframer.test", f"specs/{SPEC_ID}")
    ]


@requires_openlineage
def test_seedless_spec_lineage_has_no_input() -> None:
    operator = CreateSpecOperator(task_id="t", name="n", generation_objectives="x")
    operator.execute_complete(
        {},
        {
            "status": "success",
            "kind": "spec",
            "id": SPEC_ID,
            "message": "ok",
            "resource_status": "SUCCEEDED",
            "resource": None,
        },
    )
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert lineage.inputs == [] and [d.name for d in lineage.outputs] == [f"specs/{SPEC_ID}"]


@requires_openlineage
def test_chain_operators_report_their_inputs_and_outputs() -> None:
    from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
    from airflow_provider_dataframer.operators.run import CreateRunOperator, DownloadRunFilesOperator

    run_id = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
    paths = ["/data/a.csv", "s3://bucket/b.csv", "gcs://bucket/c.csv"]
    upload = UploadSeedDatasetOperator(task_id="u", name="n", paths=paths)
    upload.dataset_id = DATASET_ID
    got = upload.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in got.inputs] == [
        ("file", "/data/a.csv"),
        ("s3://bucket", "b.csv"),
        ("gs://bucket", "c.csv"),
    ]
    assert [d.name for d in got.outputs] == [f"seed-datasets/{DATASET_ID}"]

    run = CreateRunOperator(task_id="r", spec_id=SPEC_ID, number_of_samples=5)
    run.resource_id = run_id
    got = run.get_openlineage_facets_on_complete(None)
    assert [d.name for d in got.inputs] == [f"specs/{SPEC_ID}"] and [d.name for d in got.outputs] == [
        f"runs/{run_id}"
    ]

    download = DownloadRunFilesOperator(task_id="d", run_id=run_id, destination="/out")
    download.written = ["/out/generated.csv", "s3://bucket/out/generated.csv"]
    got = download.get_openlineage_facets_on_complete(None)
    assert [d.name for d in got.inputs] == [f"runs/{run_id}"]
    assert [(d.namespace, d.name) for d in got.outputs] == [
        ("file", "/out/generated.csv"),
        ("s3://bucket", "out/generated.csv"),
    ]
