from __future__ import annotations

import pytest

from airflow_provider_dataframer.lineage import namespace
from airflow_provider_dataframer.operators.spec import CreateSpecOperator

pytest.importorskip("airflow.providers.openlineage")

DATASET_ID = "3f1c2b9e-8f5d-4a51-9a43-0c5b8a7d2e11"
SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://df-api.dataframer.ai", "dataframer://df-api.dataframer.ai"),
        ("http://127.0.0.1:8000", "dataframer://127.0.0.1:8000"),
    ],
)
def test_namespace(base_url: str, expected: str) -> None:
    assert namespace(base_url) == expected


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


def test_chain_operators_report_their_inputs_and_outputs(tmp_path: object) -> None:
    from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
    from airflow_provider_dataframer.operators.run import CreateRunOperator, DownloadRunFilesOperator

    run_id = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
    upload = UploadSeedDatasetOperator(task_id="u", name="n", paths=["/data/a.csv", "s3://bucket/b.csv"])
    upload.dataset_id = DATASET_ID
    got = upload.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in got.inputs] == [("file", "/data/a.csv"), ("s3://bucket", "/b.csv")]
    assert [d.name for d in got.outputs] == [f"seed-datasets/{DATASET_ID}"]

    run = CreateRunOperator(task_id="r", spec_id=SPEC_ID, number_of_samples=5)
    run.resource_id = run_id
    got = run.get_openlineage_facets_on_complete(None)
    assert [d.name for d in got.inputs] == [f"specs/{SPEC_ID}"] and [d.name for d in got.outputs] == [
        f"runs/{run_id}"
    ]

    download = DownloadRunFilesOperator(task_id="d", run_id=run_id, destination="/out")
    download.written = ["/out/generated.csv"]
    got = download.get_openlineage_facets_on_complete(None)
    assert [d.name for d in got.inputs] == [f"runs/{run_id}"]
    assert [(d.namespace, d.name) for d in got.outputs] == [("file", "/out/generated.csv")]
