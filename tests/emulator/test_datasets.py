"""Seed datasets: multipart and ZIP uploads, documented limits, list, get, delete."""

from __future__ import annotations

import hashlib
import json

import pytest

PAGE = b"A short document about invoices.\nIt has two lines.\n"


def _detail(response):
    return response.json()["detail"]


@pytest.mark.parametrize("field", ["files", "files[]"])
def test_single_csv_upload_with_either_field_name(api, field):
    response = api.upload(name="customers", field=field)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "customers"
    assert body["dataset_type"] == "SINGLE_FILE"
    assert body["file_count"] == 1
    assert body["folder_count"] == 0
    assert body["sample_count"] == 12
    [seed_file] = body["files"]
    assert seed_file["path"] == "customers.csv"
    assert seed_file["file_type"] == "text/csv"
    assert seed_file["size_bytes"] == len(api.SEED_CSV)
    assert seed_file["sha256"] == hashlib.sha256(api.SEED_CSV).hexdigest()
    assert body["created_at"].endswith("Z")


def test_json_and_jsonl_single_files(api):
    records = [{"q": "hi", "a": "hello"}, {"q": "bye", "a": "goodbye"}, {"q": "thanks", "a": "welcome"}]
    jsonl = "".join(json.dumps(r) + "\n" for r in records).encode()
    body = api.dataset(name="chat-jsonl", files=[("chat.jsonl", jsonl)])
    assert body["sample_count"] == 3
    assert body["files"][0]["file_type"] == "application/jsonl"
    body = api.dataset(name="chat-json", files=[("chat.json", json.dumps(records).encode())])
    assert body["sample_count"] == 3
    assert body["files"][0]["file_type"] == "application/json"


@pytest.mark.parametrize(
    ("files", "fragments"),
    [
        ([("empty.csv", b"a,b,c\n")], ["empty.csv", "0 data row", "at least 2"]),
        ([("one.csv", b"a,b\n1,2\n\n")], ["one.csv", "1 data row", "at least 2"]),
        ([("notes.txt", b"a\nb\nc\n")], ["notes.txt", "CSV, JSON or JSONL"]),
        ([("a.csv", b"x\n1\n2\n"), ("b.csv", b"x\n1\n2\n")], ["files", "exactly 1 file", "got 2"]),
        ([("bad.json", b"{not json")], ["bad.json", "not valid JSON"]),
        ([("obj.json", b'{"a": 1}')], ["obj.json", "JSON array"]),
        ([("bad.jsonl", b'{"a": 1}\n{"a": 2}\n{oops\n')], ["bad.jsonl", "line 3"]),
        ([("latin.csv", "a,b\nü,1\nö,2\n".encode("latin-1"))], ["latin.csv", "UTF-8"]),
    ],
)
def test_single_file_rules_are_400_naming_the_file(api, files, fragments):
    response = api.upload(name="bad", files=files)
    assert response.status_code == 400
    for fragment in fragments:
        assert fragment in _detail(response)


def test_multi_file_upload(api):
    body = api.dataset(
        name="docs", dataset_type="MULTI_FILE", files=[("a.md", PAGE), ("b.md", b"# Title\n\nText\n")]
    )
    assert body["dataset_type"] == "MULTI_FILE"
    assert body["file_count"] == 2
    assert body["sample_count"] is None
    assert [f["path"] for f in body["files"]] == ["a.md", "b.md"]
    assert [f["file_type"] for f in body["files"]] == ["text/markdown", "text/markdown"]


@pytest.mark.parametrize(
    ("files", "fragments"),
    [
        ([("a.txt", PAGE)], ["files", "2-1000 files", "got 1"]),
        ([("a.txt", PAGE), ("run.exe", b"MZ")], ["run.exe", "not allowed"]),
        ([("a.txt", PAGE), ("a.txt", PAGE)], ["a.txt", "more than once"]),
        ([("a.txt", PAGE), ("b.md", PAGE)], ["same extension", ".md, .txt"]),
    ],
)
def test_multi_file_rules(api, files, fragments):
    response = api.upload(name="bad", dataset_type="MULTI_FILE", files=files)
    assert response.status_code == 400
    for fragment in fragments:
        assert fragment in _detail(response)


def test_multi_file_size_and_count_limits(api_with):
    limits = {"multi_file_max_bytes": 100, "multi_total_max_bytes": 150, "multi_max_files": 3}
    api = api_with(limits=limits)
    big = api.upload(name="big", dataset_type="MULTI_FILE", files=[("a.txt", b"x" * 101), ("b.txt", b"y")])
    assert big.status_code == 400
    assert "'a.txt' is 101 bytes" in _detail(big)
    total = api.upload(
        name="total", dataset_type="MULTI_FILE", files=[("a.txt", b"x" * 80), ("b.txt", b"y" * 80)]
    )
    assert total.status_code == 400
    assert "160 bytes in total" in _detail(total)
    many = api.upload(name="many", dataset_type="MULTI_FILE", files=[(f"{i}.txt", b"x") for i in range(4)])
    assert many.status_code == 400
    assert "got 4" in _detail(many)
    assert (
        api.upload(name="ok", dataset_type="MULTI_FILE", files=[("a.txt", b"x"), ("b.txt", b"y")]).status_code
        == 201
    )


def test_single_file_size_limit(api_with):
    api = api_with(limits={"single_file_max_bytes": 50})
    response = api.upload(name="big")
    assert response.status_code == 400
    assert "customers.csv" in _detail(response)
    assert "at most 50 bytes" in _detail(response)


def test_multi_folder_upload(api):
    files = [("page1.txt", PAGE), ("page2.txt", PAGE), ("page1.txt", PAGE)]
    body = api.dataset(
        name="folders", dataset_type="MULTI_FOLDER", files=files, folder_names=["doc1", "doc1", "doc2"]
    )
    assert body["dataset_type"] == "MULTI_FOLDER"
    assert body["folder_count"] == 2
    assert [f["path"] for f in body["files"]] == ["doc1/page1.txt", "doc1/page2.txt", "doc2/page1.txt"]


def test_multi_folder_accepts_plain_field_names(api):
    response = api.http.post(
        "/seed-datasets/create/",
        data={"name": "plain", "dataset_type": "MULTI_FOLDER", "folder_names": ["x", "y"]},
        files=[("files", ("a.txt", PAGE)), ("files", ("b.txt", PAGE))],
    )
    assert response.status_code == 201, response.text
    assert response.json()["folder_count"] == 2


@pytest.mark.parametrize(
    ("folder_names", "fragments"),
    [
        (["doc1"], ["folder_names", "1 names for 2 files"]),
        (None, ["folder_names", "needs a folder name"]),
        (["doc1", "doc1"], ["folder_names", "at least 2 folders"]),
    ],
)
def test_multi_folder_rules(api, folder_names, fragments):
    files = [("a.txt", PAGE), ("b.txt", PAGE)]
    response = api.upload(name="bad", dataset_type="MULTI_FOLDER", files=files, folder_names=folder_names)
    assert response.status_code == 400
    for fragment in fragments:
        assert fragment in _detail(response)


def test_multi_folder_files_per_folder_limit(api_with):
    api = api_with(limits={"folder_max_files": 2})
    files = [(f"{i}.txt", PAGE) for i in range(4)]
    response = api.upload(
        name="bad", dataset_type="MULTI_FOLDER", files=files, folder_names=["a", "a", "a", "b"]
    )
    assert response.status_code == 400
    assert "folder 'a' has 3 files" in _detail(response)


def test_missing_fields_and_bad_type_are_422_naming_the_field(api):
    no_name = api.http.post(
        "/seed-datasets/create/", data={"dataset_type": "SINGLE_FILE"}, files=[("files", ("a.csv", b"x"))]
    )
    assert no_name.status_code == 422
    assert _detail(no_name).startswith("name")
    bad_type = api.upload(name="x", dataset_type="SPREADSHEET")
    assert bad_type.status_code == 422
    assert "dataset_type" in _detail(bad_type)
    assert "SPREADSHEET" in _detail(bad_type)
    no_files = api.http.post("/seed-datasets/create/", data={"name": "x", "dataset_type": "SINGLE_FILE"})
    assert no_files.status_code == 400
    assert "files" in _detail(no_files)


def test_dataset_names_are_unique(api):
    api.dataset(name="customers")
    response = api.upload(name="customers")
    assert response.status_code == 400
    assert "'customers' already exists" in _detail(response)


def test_list_and_get(api):
    first = api.dataset(name="first")
    second = api.dataset(name="second", dataset_type="MULTI_FILE", files=[("a.txt", PAGE), ("b.txt", PAGE)])
    listed = api.get("/seed-datasets/").json()
    assert [d["id"] for d in listed] == [first["id"], second["id"]]
    assert listed[1]["file_count"] == 2
    assert "files" not in listed[0]
    got = api.get(f"/seed-datasets/{first['id']}/").json()
    assert got == first


def test_unknown_dataset_is_404_with_detail(api):
    response = api.get("/seed-datasets/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Seed dataset 'nope' not found."}


def test_delete_dataset(api):
    unused = api.dataset(name="unused")
    used = api.dataset(name="used")
    api.create_spec(name="s", dataset_id=used["id"])
    refused = api.http.delete(f"/seed-datasets/{used['id']}/")
    assert refused.status_code == 400
    assert "used by 1 spec" in _detail(refused)
    assert api.http.delete(f"/seed-datasets/{unused['id']}/").status_code == 204
    assert api.get(f"/seed-datasets/{unused['id']}/").status_code == 404


# ----------------------------------------------------------------------------- create-from-zip


def _zip_upload(api, name, archive):
    return api.http.post(
        "/seed-datasets/create-from-zip/",
        data={"name": name, "description": "zipped"},
        files={"zip_file": ("d.zip", archive)},
    )


@pytest.mark.parametrize(
    ("entries", "dataset_type", "paths"),
    [
        ({"customers.csv": b"a,b\n1,2\n3,4\n"}, "SINGLE_FILE", ["customers.csv"]),
        ({"a.txt": PAGE, "b.txt": PAGE}, "MULTI_FILE", ["a.txt", "b.txt"]),
        ({"wrap/a.txt": PAGE, "wrap/b.txt": PAGE}, "MULTI_FILE", ["a.txt", "b.txt"]),
        # The top-level folder is a file's folder: one folder is not MULTI_FOLDER (the API's reading).
        ({"data/a/x.txt": PAGE, "data/b/y.txt": PAGE}, "MULTI_FILE", ["x.txt", "y.txt"]),
        ({"a.txt": PAGE, "d/b.txt": PAGE}, "MULTI_FILE", ["a.txt", "b.txt"]),
        ({"d1/x/a.txt": PAGE, "d2/b.txt": PAGE}, "MULTI_FOLDER", ["d1/a.txt", "d2/b.txt"]),
        # Files of an unknown type are ignored, not refused.
        (
            {"a.txt": PAGE, "b.txt": PAGE, "notes.docx": b"PK", "run.exe": b"MZ"},
            "MULTI_FILE",
            ["a.txt", "b.txt"],
        ),
        (
            {"d1/a.txt": PAGE, "d1/b.txt": PAGE, "d2/a.txt": PAGE},
            "MULTI_FOLDER",
            ["d1/a.txt", "d1/b.txt", "d2/a.txt"],
        ),
        (
            {"a.txt": PAGE, "b.txt": PAGE, "__MACOSX/._a.txt": b"junk", ".DS_Store": b"junk"},
            "MULTI_FILE",
            ["a.txt", "b.txt"],
        ),
    ],
)
def test_zip_type_is_detected_from_layout(api, entries, dataset_type, paths):
    response = _zip_upload(api, "zipped", api.make_zip(entries))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dataset_type"] == dataset_type
    assert body["description"] == "zipped"
    assert [f["path"] for f in body["files"]] == paths


@pytest.mark.parametrize(
    ("archive", "fragment"),
    [
        (b"not a zip", "not a valid ZIP"),
        ({}, "no valid files found"),
        ({"run.exe": b"MZ"}, "no valid files found"),
        (
            {"a.txt": PAGE, "d1/b.txt": PAGE, "d2/c.txt": PAGE},
            "every file of a MULTI_FOLDER dataset needs a folder",
        ),
        ({"d1/a.txt": PAGE, "d2/run.exe": PAGE}, "only supports CSV, JSON, JSONL. Found: .txt"),
        ({"../evil.txt": PAGE, "b.txt": PAGE}, "unsafe paths"),
        ({"only.csv": b"a,b\n"}, "'only.csv' has 0 data row"),
    ],
)
def test_zip_layout_and_content_errors(api, archive, fragment):
    data = archive if isinstance(archive, bytes) else api.make_zip(archive)
    response = _zip_upload(api, "bad", data)
    assert response.status_code == 400
    assert fragment in _detail(response)


def test_zip_needs_a_zip_file_field(api):
    response = api.http.post(
        "/seed-datasets/create-from-zip/", data={"name": "x"}, files={"other": ("a", b"x")}
    )
    assert response.status_code == 422
    assert "zip_file" in _detail(response)
