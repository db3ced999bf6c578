"""Run file downloads: 202 while preparing, then a URL that serves real bytes without auth."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile

import httpx


def _finished_run(api, samples=25, **spec):
    spec = api.ready_spec(**spec)
    run = api.wait_run(api.create_run(spec["id"], samples))
    assert run["status"] == "SUCCEEDED"
    return run


def test_zip_download_answers_202_then_a_url(api_with):
    api = api_with(download_seconds=0.5)
    run = _finished_run(api)
    path = f"/runs/{run['id']}/files/download/"
    first = api.get(path)
    assert first.status_code == 202
    assert first.json() == {"download_url": None, "size_bytes": None}
    ready = api.wait_download(path)
    assert set(ready) == {"download_url", "size_bytes"}
    assert ready["download_url"].startswith(api.server.url + "/_emulator/downloads/")
    fetched = httpx.get(ready["download_url"])  # a presigned URL: no Authorization header
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "application/zip"
    assert len(fetched.content) == ready["size_bytes"]
    archive = zipfile.ZipFile(io.BytesIO(fetched.content))
    assert sorted(archive.namelist()) == [
        "generated_samples.csv",
        "generated_samples.csv.metadata",
        "top_level.metadata",
    ]
    top_level = json.loads(archive.read("top_level.metadata"))
    assert (top_level["run_id"], top_level["samples_completed"]) == (run["id"], 25)
    sidecar = json.loads(archive.read("generated_samples.csv.metadata"))
    assert sidecar["path"] == "generated_samples.csv"
    rows = list(csv.DictReader(io.StringIO(archive.read("generated_samples.csv").decode())))
    assert len(rows) == 25
    assert list(rows[0]) == api.SEED_COLUMNS
    assert {r["region"] for r in rows} <= {"north", "south", "east"}
    assert all(1001 <= int(r["customer_id"]) <= 1012 for r in rows)


def test_download_url_uses_the_request_host(api):
    run = _finished_run(api, 2)
    path = f"/runs/{run['id']}/files/download/"
    api.wait_download(path)
    url = api.server.url.replace("127.0.0.1", "localhost")
    response = httpx.get(f"{url}/api/dataframer{path}", headers=api.server.headers)
    assert response.json()["download_url"].startswith(url + "/_emulator/downloads/")


def test_single_file_download(api_with):
    api = api_with(download_seconds=0.5)
    files = [("a.txt", b"First line\nSecond line\n"), ("b.txt", b"Third line\n")]
    dataset = api.dataset(name="docs", dataset_type="MULTI_FILE", files=files)
    run = _finished_run(api, 3, dataset_id=dataset["id"])
    target = run["generated_files"][1]
    path = f"/runs/{run['id']}/files/{target['id']}/download/"
    assert api.get(path).status_code == 202
    ready = api.wait_download(path)
    assert set(ready) == {"download_url", "filename", "content_type"}
    assert ready["filename"] == "sample_00002.txt"
    assert ready["content_type"] == "text/plain"
    content = httpx.get(ready["download_url"]).content
    assert len(content) == target["size_bytes"]
    all_files = api.wait_download(f"/runs/{run['id']}/files/download/")
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(all_files["download_url"]).content))
    generated = [f["path"] for f in run["generated_files"]]
    assert archive.namelist() == [*generated, *(f"{p}.metadata" for p in generated), "top_level.metadata"]
    assert archive.read(target["path"]) == content
    lines = {"First line", "Second line", "Third line"}
    assert set(content.decode().splitlines()[2:]) <= lines


def test_download_is_immediate_without_preparation_time(api_with):
    api = api_with(download_seconds=0)
    run = _finished_run(api, 1)
    assert api.get(f"/runs/{run['id']}/files/download/").status_code == 200


def test_download_of_unfinished_run_is_400(api_with):
    api = api_with(run_pending_seconds=30)
    spec = api.ready_spec()
    run_id = api.create_run(spec["id"], 5)
    response = api.get(f"/runs/{run_id}/files/download/")
    assert response.status_code == 400
    assert "status is PENDING" in response.json()["detail"]


def test_download_of_failed_run_is_400(api):
    failing = api.ready_spec(name="x [fail-run]")
    failed = api.wait_run(api.create_run(failing["id"], 2))
    response = api.get(f"/runs/{failed['id']}/files/download/")
    assert response.status_code == 400
    assert "status is FAILED" in response.json()["detail"]


def test_unknown_ids_and_tokens(api):
    run = _finished_run(api, 1)
    response = api.get(f"/runs/{run['id']}/files/nope/download/")
    assert response.status_code == 404
    assert "File 'nope' not found" in response.json()["detail"]
    assert api.get("/runs/nope/files/download/").status_code == 404
    forged = httpx.get(api.server.url + "/_emulator/downloads/forged-token")
    assert forged.status_code == 403


def test_expired_download_url_is_403(api_with):
    api = api_with(download_seconds=0, download_url_ttl_seconds=0.5)
    run = _finished_run(api, 1)
    url = api.get(f"/runs/{run['id']}/files/download/").json()["download_url"]
    assert httpx.get(url).status_code == 200
    time.sleep(0.6)
    assert httpx.get(url).status_code == 403


def test_downloads_accept_the_data_plane_follow_header(api):
    """The SDK sends X-Data-Plane-Follow: 1 on downloads; a cloud deployment answers as usual."""
    run = _finished_run(api, 2)
    follow = {"X-Data-Plane-Follow": "1"}
    ready = api.wait_download(f"/runs/{run['id']}/files/download/")
    assert api.get(f"/runs/{run['id']}/files/download/", headers=follow).status_code == 200
    file_id = run["generated_files"][0]["id"]
    assert api.wait_download(f"/runs/{run['id']}/files/{file_id}/download/")["download_url"]
    assert api.get(f"/runs/{run['id']}/files/{file_id}/download/", headers=follow).status_code == 200
    assert httpx.get(ready["download_url"], headers=follow).status_code == 200


def test_seed_file_download(api):
    dataset = api.dataset()
    seed_file = dataset["files"][0]
    path = f"/seed-datasets/{dataset['id']}/files/{seed_file['id']}/"
    answer = api.get(path, headers={"X-Data-Plane-Follow": "1"})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"download_url", "filename", "content_type"}
    assert (body["filename"], body["content_type"]) == ("customers.csv", "text/csv")
    assert httpx.get(body["download_url"]).content == api.SEED_CSV
    assert api.get(f"/seed-datasets/{dataset['id']}/files/nope/").status_code == 404
