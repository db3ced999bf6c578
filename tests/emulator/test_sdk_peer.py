"""The official SDK (pydataframer) as a client of the emulator: the emulator must serve it end to end."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import time
import zipfile

import httpx
import pytest

dataframer = pytest.importorskip("dataframer")

PAGE = b"Quarterly report\nRevenue grew by four percent.\nCosts were flat.\n"


@pytest.fixture
def sdk(emulator):
    client = dataframer.Dataframer(api_key=emulator.api_key, base_url=emulator.url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def sdk_with(api_with):
    """``sdk_with(**config)``: an SDK client and an httpx helper of a new emulator."""
    clients = []

    def factory(**config):
        api = api_with(**config)
        client = dataframer.Dataframer(api_key=api.server.api_key, base_url=api.server.url, max_retries=0)
        clients.append(client)
        return client, api

    yield factory
    for client in clients:
        client.close()


def _wait(fetch, running, timeout=5.0):
    deadline = time.monotonic() + timeout
    while (item := fetch()).status in running:
        assert time.monotonic() < deadline
        time.sleep(0.03)
    return item


def _ready_spec(sdk, api, **kwargs):
    spec = sdk.dataframer.specs.create(**kwargs)
    return _wait(lambda: sdk.dataframer.specs.retrieve(spec.id), {"PROCESSING"})


def test_seed_dataset_upload_list_retrieve(sdk, api):
    created = sdk.dataframer.seed_datasets.create_with_files(
        name="customers",
        dataset_type="SINGLE_FILE",
        files=[("customers.csv", api.SEED_CSV, "text/csv")],
        description="d",
    )
    assert created.id
    assert created.dataset_type == "SINGLE_FILE"
    assert created.sample_count == 12
    assert created.files[0].path == "customers.csv"
    assert [d.id for d in sdk.dataframer.seed_datasets.list()] == [created.id]
    assert sdk.dataframer.seed_datasets.retrieve(created.id).description == "d"


def test_multi_folder_upload_sends_parallel_folder_names(sdk):
    created = sdk.dataframer.seed_datasets.create_with_files(
        name="reports",
        dataset_type="MULTI_FOLDER",
        files=[("q1.txt", PAGE), ("q2.txt", PAGE), ("q1.txt", PAGE)],
        folder_names=["acme", "acme", "globex"],
    )
    assert created.folder_count == 2
    assert [f.path for f in created.files] == ["acme/q1.txt", "acme/q2.txt", "globex/q1.txt"]


def test_create_from_zip(sdk, api):
    archive = api.make_zip({"a/one.txt": PAGE, "b/two.txt": PAGE})
    created = sdk.dataframer.seed_datasets.create_from_zip(name="zipped", zip_file=("d.zip", archive))
    assert created.dataset_type == "MULTI_FOLDER"
    assert created.file_count == 2


def test_seeded_spec_lifecycle_versions_and_update(sdk_with):
    sdk, api = sdk_with(spec_seconds=0.5)
    dataset_id = api.dataset()["id"]
    spec = sdk.dataframer.specs.create(
        name="customers", dataset_id=dataset_id, generate_conditional_distributions=True
    )
    assert sdk.dataframer.specs.retrieve(spec.id).status == "PROCESSING"
    done = _wait(lambda: sdk.dataframer.specs.retrieve(spec.id), {"PROCESSING"})
    assert done.status == "SUCCEEDED"
    assert "region" in done.content_yaml
    assert done.dataset_name == "customers"
    assert done.versions is None
    updated = sdk.dataframer.specs.update(
        spec.id, content_yaml=done.content_yaml.replace("Records shaped", "Rows shaped")
    )
    assert updated.id == spec.id
    with_versions = sdk.dataframer.specs.retrieve(spec.id, include_versions=True)
    assert len(with_versions.versions) == 2
    assert "Rows shaped" in with_versions.content_yaml
    [listed] = sdk.dataframer.specs.list()
    assert (listed.id, listed.status) == (spec.id, "SUCCEEDED")


def test_seedless_and_failing_specs(sdk, api):
    seedless = _ready_spec(
        sdk, api, name="tickets", generation_objectives="Support tickets about broken routers"
    )
    assert seedless.status == "SUCCEEDED"
    assert seedless.dataset_id is None
    failed = _ready_spec(sdk, api, name="bad [fail]", generation_objectives="anything")
    assert failed.status == "FAILED"
    assert "[fail]" in failed.error


def test_run_and_downloads(sdk_with):
    sdk, api = sdk_with(download_seconds=0.5)
    spec = _ready_spec(sdk, api, name="customers", dataset_id=api.dataset()["id"])
    run = sdk.dataframer.runs.create(spec_id=spec.id, number_of_samples=15)
    done = _wait(lambda: sdk.dataframer.runs.retrieve(run.id), {"PENDING", "PROCESSING"})
    assert done.status == "SUCCEEDED"
    assert done.samples_completed == 15
    assert done.total_cost == pytest.approx(0.03)
    assert done.runtime_params.number_of_samples == 15
    [generated] = done.generated_files
    assert [r.id for r in sdk.dataframer.runs.list()] == [run.id]

    first = sdk.dataframer.runs.files.download_all(run.id)
    assert first.download_url is None  # 202: still being prepared
    ready = _wait_url(lambda: sdk.dataframer.runs.files.download_all(run.id))
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(ready.download_url).content))
    assert {"top_level.metadata", f"{generated.path}.metadata"} <= set(archive.namelist())
    rows = list(csv.DictReader(io.StringIO(archive.read(generated.path).decode())))
    assert len(rows) == 15
    assert list(rows[0]) == api.SEED_COLUMNS

    one = _wait_url(lambda: sdk.dataframer.runs.files.download(generated.id, run_id=run.id))
    assert one.filename == "generated_samples.csv"
    assert httpx.get(one.download_url).content == archive.read(generated.path)


def _wait_url(fetch):
    deadline = time.monotonic() + 5
    while (answer := fetch()).download_url is None:
        assert time.monotonic() < deadline
        time.sleep(0.03)
    return answer


def test_cancel_and_force_delete(sdk_with):
    sdk, api = sdk_with(run_pending_seconds=30)
    spec = _ready_spec(sdk, api, name="s", generation_objectives="o")
    run = sdk.dataframer.runs.create(spec_id=spec.id, number_of_samples=5)
    working = sdk.dataframer.runs.retrieve(run.id)
    assert (working.status, working.generated_files) == ("PENDING", None)
    assert sdk.dataframer.runs.cancel(run.id) is None
    assert sdk.dataframer.runs.retrieve(run.id).status == "CANCELED"
    with pytest.raises(dataframer.BadRequestError, match="force=true"):
        sdk.dataframer.specs.delete(spec.id)
    sdk.dataframer.specs.delete(spec.id, force=True)
    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.runs.retrieve(run.id)


def test_errors_carry_the_detail(sdk, api, dataframer_emulator_factory):
    sdk.dataframer.specs.create(name="dup", generation_objectives="o")
    with pytest.raises(dataframer.BadRequestError) as clash:
        sdk.dataframer.specs.create(name="dup", generation_objectives="o")
    assert "already exists" in clash.value.body["detail"]
    with pytest.raises(dataframer.NotFoundError, match="not found"):
        sdk.dataframer.specs.retrieve("missing")
    with pytest.raises(dataframer.UnprocessableEntityError):
        sdk.dataframer.runs.create(spec_id="x", number_of_samples="many")
    locked = dataframer_emulator_factory(api_key="right")
    wrong = dataframer.Dataframer(api_key="wrong", base_url=locked.url, max_retries=0)
    with wrong, pytest.raises(dataframer.AuthenticationError, match="Invalid API key"):
        wrong.dataframer.specs.list()


def test_sdk_retries_what_the_emulator_asks_it_to(emulator):
    client = dataframer.Dataframer(api_key=emulator.api_key, base_url=emulator.url, max_retries=2)
    with client:
        emulator.add_fault(method="GET", path="specs/", status_code=429, retry_after_ms=50, times=2)
        assert client.dataframer.specs.list() == []
        assert [r.status for r in emulator.requests(path="specs/")] == [429, 429, 200]
        emulator.clear_requests()
        emulator.add_fault(method="GET", path="runs/", status_code=503, should_retry=False)
        with pytest.raises(dataframer.InternalServerError):
            client.dataframer.runs.list()
        assert len(emulator.requests(path="runs/")) == 1


def test_sdk_retry_after_a_lost_create_meets_already_exists(emulator):
    """The contract's warning, reproduced with the SDK: a create is not idempotent by itself."""
    emulator.add_fault(action="lose_response", method="POST", path="specs/")
    with dataframer.Dataframer(api_key=emulator.api_key, base_url=emulator.url, max_retries=1) as client:
        with pytest.raises(dataframer.BadRequestError, match="already exists"):
            client.dataframer.specs.create(name="once", generation_objectives="o")
        assert [s.name for s in client.dataframer.specs.list()] == ["once"]


def test_async_client(emulator):
    async def scenario() -> str:
        async with dataframer.AsyncDataframer(api_key=emulator.api_key, base_url=emulator.url) as client:
            spec = await client.dataframer.specs.create(name="async", generation_objectives="o")
            while (got := await client.dataframer.specs.retrieve(spec.id)).status == "PROCESSING":
                await asyncio.sleep(0.03)
            return str(got.status)

    assert asyncio.run(scenario()) == "SUCCEEDED"


def test_runs_are_listed_newest_first(sdk):
    spec = _ready_spec(sdk, None, name="s", generation_objectives="o")
    created = [sdk.dataframer.runs.create(spec_id=spec.id, number_of_samples=n).id for n in (1, 2, 3)]
    assert [r.id for r in sdk.dataframer.runs.list()] == created[::-1]


def test_spec_without_a_model_gets_the_server_default_and_today_s_models_work(sdk):
    default = _ready_spec(sdk, None, name="default", generation_objectives="o")
    assert default.runtime_params["spec_generation_model_name"] == "anthropic/claude-sonnet-5-5-thinking"
    databricks = _ready_spec(
        sdk,
        None,
        name="databricks",
        generation_objectives="o",
        spec_generation_model_name="databricks/system.ai.gpt-6-astra-thinking",
    )
    assert databricks.status == "SUCCEEDED"


def test_older_databricks_fields_pass_as_extra_body(sdk):
    spec = sdk.dataframer.specs.create(
        name="older",
        generation_objectives="o",
        spec_generation_model_name="databricks/databricks-claude-sonnet-4",
        extra_body={
            "databricks_client_id": "cid",
            "databricks_client_secret": "dapi-secret",
            "databricks_api_base": "https://adb.example/serving-endpoints",
        },
    )
    done = _wait(lambda: sdk.dataframer.specs.retrieve(spec.id), {"PROCESSING"})
    assert done.runtime_params["databricks_api_base"] == "https://adb.example/serving-endpoints"
    assert "dapi-secret" not in done.model_dump_json()


def test_same_spec_name_in_other_datasets_and_seedless(sdk, api):
    first = api.dataset(name="one")["id"]
    second = api.dataset(name="two")["id"]
    for dataset_id in (first, second):
        sdk.dataframer.specs.create(name="shared", dataset_id=dataset_id)
    sdk.dataframer.specs.create(name="shared", generation_objectives="o")
    with pytest.raises(dataframer.BadRequestError, match="among seedless specs"):
        sdk.dataframer.specs.create(name="shared", generation_objectives="o")
    with pytest.raises(dataframer.BadRequestError, match="for seed dataset 'one'"):
        sdk.dataframer.specs.create(name="shared", dataset_id=first)
    assert [s.name for s in sdk.dataframer.specs.list()] == ["shared"] * 3


def test_seed_files_carry_sha256_and_download_through_the_sdk(sdk, api):
    created = sdk.dataframer.seed_datasets.create_with_files(
        name="customers", dataset_type="SINGLE_FILE", files=[("customers.csv", api.SEED_CSV, "text/csv")]
    )
    [seed_file] = created.files
    assert seed_file.sha256 == hashlib.sha256(api.SEED_CSV).hexdigest()
    link = sdk.dataframer.seed_datasets.files.download(seed_file.id, dataset_id=created.id)
    assert link.filename == "customers.csv"
    assert httpx.get(link.download_url).content == api.SEED_CSV


def test_create_from_zip_reads_the_layout_as_the_sdk_does(sdk, api):
    """The emulator and the SDK's own reader (used for customer-hosted planes) agree on each layout."""
    from dataframer.lib.data_plane._flows import files_from_zip

    layouts = [
        {"data/a/x.txt": PAGE, "data/b/y.txt": PAGE},
        {"a/x.txt": PAGE, "b/y.txt": PAGE, "stray.exe": b"MZ"},
        {"one.csv": api.SEED_CSV, "notes.docx": b"PK"},
        {"x.md": PAGE, "y.md": PAGE, "__MACOSX/._x.md": b"junk", ".hidden.md": b"junk"},
    ]
    for index, entries in enumerate(layouts):
        archive = api.make_zip(entries)
        expected_type, files, folders = files_from_zip(archive)
        created = sdk.dataframer.seed_datasets.create_from_zip(name=f"z{index}", zip_file=("d.zip", archive))
        assert created.dataset_type == expected_type, entries
        expected = [
            f"{folder}/{f.filename}" if folder else f.filename
            for f, folder in zip(files, folders or [None] * len(files), strict=True)
        ]
        assert [f.path for f in created.files] == expected, entries


def test_downloads_with_the_follow_header_the_sdk_sends(sdk_with):
    sdk, api = sdk_with(download_seconds=0)
    spec = _ready_spec(sdk, api, name="s", generation_objectives="o")
    run = sdk.dataframer.runs.create(spec_id=spec.id, number_of_samples=2)
    done = _wait(lambda: sdk.dataframer.runs.retrieve(run.id), {"PENDING", "PROCESSING"})
    follow = {"X-Data-Plane-Follow": "1"}
    assert sdk.dataframer.runs.files.download_all(run.id, extra_headers=follow).download_url
    one = sdk.dataframer.runs.files.download(done.generated_files[0].id, run_id=run.id, extra_headers=follow)
    assert one.download_url
    [record, *_] = api.server.requests(path="runs/*/files/download/")
    assert record.status == 200
