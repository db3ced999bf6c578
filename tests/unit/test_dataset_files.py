from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from airflow_provider_dataframer.destinations import resolve_source
from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.seed_files import (
    LazyReader,
    SeedLimits,
    plan_upload,
)

CSV = b"question,answer\nhow?,so\nwhy?,because\n"


def write(path: Path, content: bytes = b"some text") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def plan(*paths: object, **kwargs: object):  # type: ignore[no-untyped-def]
    return plan_upload([resolve_source(p) for p in paths], **kwargs)  # type: ignore[arg-type]


def test_one_table_is_a_single_file_dataset(tmp_path: Path) -> None:
    upload = plan(str(write(tmp_path / "tickets.csv", CSV)))
    assert upload.dataset_type == "SINGLE_FILE" and upload.folder_names is None
    (file,) = upload.files
    assert (file.filename, file.size_bytes, file.content_type) == ("tickets.csv", len(CSV), "text/csv")


def test_folder_of_files_is_multi_file(tmp_path: Path) -> None:
    for name in ("b.txt", "a.md", ".DS_Store"):
        write(tmp_path / "docs" / name)
    upload = plan(tmp_path / "docs")
    assert upload.dataset_type == "MULTI_FILE"
    assert [f.filename for f in upload.files] == ["a.md", "b.txt"], (
        "hidden files are skipped, order is by name"
    )


def test_folder_of_folders_is_multi_folder_named_after_them(tmp_path: Path) -> None:
    for folder in ("case1", "case2"):
        for name in ("intake.txt", "notes.md"):
            write(tmp_path / "cases" / folder / name)
    upload = plan(str(tmp_path / "cases"))
    assert upload.dataset_type == "MULTI_FOLDER"
    assert upload.folder_names == ["case1", "case1", "case2", "case2"]
    assert [f.path for f in upload.files][:2] == ["case1/intake.txt", "case1/notes.md"]


def test_several_folders_are_the_folders(tmp_path: Path) -> None:
    for folder in ("x", "y"):
        write(tmp_path / folder / "doc.txt")
    upload = plan(tmp_path / "x", tmp_path / "y")
    assert upload.dataset_type == "MULTI_FOLDER" and upload.folder_names == ["x", "y"]


def test_explicit_folder_names(tmp_path: Path) -> None:
    files = [write(tmp_path / f"{n}.txt") for n in "abcd"]
    upload = plan(*files, folder_names=["one", "one", "two", "two"])
    assert upload.dataset_type == "MULTI_FOLDER" and upload.folder_names == ["one", "one", "two", "two"]
    with pytest.raises(DataframerValidationError, match="folder_names has 2 names for 4 files"):
        plan(*files, folder_names=["one", "two"])


def test_a_string_of_folder_names_is_not_split_into_letters(tmp_path: Path) -> None:
    files = [write(tmp_path / f"{n}.txt") for n in "ab"]
    with pytest.raises(DataframerValidationError, match="folder_names must be a list of folder names"):
        plan(*files, folder_names="ab")


def test_multi_file_type_flattens_folders(tmp_path: Path) -> None:
    for folder in ("x", "y"):
        write(tmp_path / "cases" / folder / f"{folder}.txt")
    upload = plan(tmp_path / "cases", dataset_type="MULTI_FILE")
    assert upload.dataset_type == "MULTI_FILE" and upload.folder_names is None
    assert [f.path for f in upload.files] == ["x.txt", "y.txt"]


def test_multi_folder_requires_folders(tmp_path: Path) -> None:
    files = [write(tmp_path / f"{n}.txt") for n in "ab"]
    with pytest.raises(
        DataframerValidationError, match=r"MULTI_FOLDER dataset needs a folder for every file"
    ):
        plan(*files, dataset_type="MULTI_FOLDER")


def test_layout_errors_name_the_paths(tmp_path: Path) -> None:
    write(tmp_path / "mixed" / "loose.txt")
    write(tmp_path / "mixed" / "sub" / "inner.txt")
    with pytest.raises(
        DataframerValidationError, match=r"mixed mixes files \(loose.txt\) and folders \(sub\)"
    ):
        plan(tmp_path / "mixed")
    write(tmp_path / "deep" / "a" / "b" / "c.txt")
    write(tmp_path / "deep" / "z" / "c.txt")
    with pytest.raises(DataframerValidationError, match="nested more than one folder deep"):
        plan(tmp_path / "deep")
    with pytest.raises(DataframerValidationError, match="does not exist"):
        plan(tmp_path / "nope.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataframerValidationError, match="holds no files"):
        plan(tmp_path / "empty")


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"a,b\n1,2\n", "one_row.csv", "has 1 data row(s); a SINGLE_FILE dataset needs at least 2"),
        (b'{"a": 1}\n', "one.jsonl", "has 1 data row(s)"),
        (b'{"a": 1}', "object.json", "must hold an array of records"),
        (b"[1, 2", "broken.json", "is not valid JSON"),
        (b"\xff\xfe\x00bad", "latin.csv", "is not UTF-8 text"),
        (b"hello", "notes.txt", "a SINGLE_FILE dataset is a CSV, JSON or JSONL file, not '.txt'"),
    ],
)
def test_single_file_limits_name_the_file(tmp_path: Path, content: bytes, name: str, message: str) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(DataframerValidationError, match="nothing was uploaded") as excinfo:
        plan(path, dataset_type="SINGLE_FILE")
    assert message in str(excinfo.value) and str(path) in str(excinfo.value)


def test_single_file_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "big.csv", CSV)
    with pytest.raises(
        DataframerValidationError,
        match=r"big.csv is \d+ bytes; a SINGLE_FILE dataset allows at most 10 bytes",
    ):
        plan(path, limits=SeedLimits(single_file_max_bytes=10))


def test_json_arrays_and_csv_with_quoted_newlines_count_rows(tmp_path: Path) -> None:
    assert plan(write(tmp_path / "rows.json", b'[{"a": 1}, {"a": 2}]')).dataset_type == "SINGLE_FILE"
    assert plan(write(tmp_path / "q.csv", b'a,b\n"multi\nline",1\nx,2\n')).dataset_type == "SINGLE_FILE"


def test_multi_file_limits_list_every_offending_file(tmp_path: Path) -> None:
    paths = [
        write(tmp_path / "ok.txt"),
        write(tmp_path / "image.png"),
        write(tmp_path / "huge.md", b"x" * 2048),
    ]
    with pytest.raises(DataframerValidationError) as excinfo:
        plan(*paths, limits=SeedLimits(multi_file_max_bytes=1024))
    message = str(excinfo.value)
    assert "MULTI_FILE" in message and "nothing was uploaded" in message
    assert f"File {paths[1]}: type '.png' is not allowed (TXT/MD/JSON/CSV/JSONL/PDF)" in message
    assert (
        f"File {paths[2]} is 2048 bytes; a MULTI_FILE dataset allows at most 1024 bytes per file" in message
    )


def test_multi_counts_and_totals(tmp_path: Path) -> None:
    paths = [write(tmp_path / f"{n}.txt", b"12345") for n in range(4)]
    with pytest.raises(DataframerValidationError, match="takes 2-3 files, got 4"):
        plan(*paths, limits=SeedLimits(multi_max_files=3))
    with pytest.raises(DataframerValidationError, match=r"add up to 20 bytes.*at most 10 bytes in total"):
        plan(*paths, limits=SeedLimits(multi_total_max_bytes=10))
    with pytest.raises(DataframerValidationError, match="takes 2-1000 files, got 1"):
        plan(paths[0], dataset_type="MULTI_FILE")


def test_multi_folder_limits(tmp_path: Path) -> None:
    for n in range(3):
        write(tmp_path / "one" / f"{n}.txt")
    with pytest.raises(DataframerValidationError, match="needs at least 2 folders, got 1"):
        plan(tmp_path / "one", dataset_type="MULTI_FOLDER", folder_names=["f"] * 3)
    with pytest.raises(DataframerValidationError, match=r"folder 'f' holds 3 files.*at most 2 per folder"):
        plan(
            tmp_path / "one",
            folder_names=["f", "f", "f"],
            limits=SeedLimits(folder_max_files=2, min_folders=1),
        )


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    a = write(tmp_path / "a" / "same.txt")
    b = write(tmp_path / "b" / "same.txt")
    with pytest.raises(DataframerValidationError, match=r"2 files would be uploaded as 'same\.txt'"):
        plan(a, b)


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"seed/tickets.csv": CSV}, "SINGLE_FILE"),
        ({"a.txt": b"a", "b.txt": b"b", "__MACOSX/._a.txt": b""}, "MULTI_FILE"),
        ({"x/1.txt": b"1", "y/2.txt": b"2"}, "MULTI_FOLDER"),
        # As the API reads a ZIP (the SDK's lib/data_plane/_flows.py): a file's folder is its
        # top-level directory, so one wrapping folder makes one folder: MULTI_FILE.
        ({"data/a/x.txt": b"1", "data/b/y.txt": b"2"}, "MULTI_FILE"),
        # A stray file of a type the API does not read is ignored, not refused.
        ({"a.txt": b"a", "b.txt": b"b", "notes.exe": b"x"}, "MULTI_FILE"),
        ({"root.txt": b"r", "x/1.txt": b"1", "y/2.txt": b"2"}, "MULTI_FOLDER"),
    ],
)
def test_zip_layout_is_detected_like_the_server(
    tmp_path: Path, files: dict[str, bytes], expected: str
) -> None:
    upload = plan(make_zip(tmp_path / "seed.zip", files))
    assert upload.dataset_type == expected and upload.files == []
    assert upload.zip_file is not None and upload.zip_file.filename == "seed.zip"


def test_zip_checks(tmp_path: Path) -> None:
    typed = make_zip(tmp_path / "typed.zip", {"a.txt": b"a", "b.txt": b"b"})
    with pytest.raises(DataframerValidationError, match="dataset_type is MULTI_FOLDER but the layout"):
        plan(typed, dataset_type="MULTI_FOLDER")
    nothing = make_zip(tmp_path / "nothing.zip", {"a.exe": b"a", ".hidden.txt": b"b"})
    with pytest.raises(DataframerValidationError, match=r"nothing.zip holds no file the API reads"):
        plan(nothing)
    unsafe = make_zip(tmp_path / "unsafe.zip", {"../up.txt": b"a", "b.txt": b"b"})
    with pytest.raises(DataframerValidationError, match=r"unsafe path"):
        plan(unsafe)
    one_text = make_zip(tmp_path / "one.zip", {"only.txt": b"a"})
    with pytest.raises(DataframerValidationError, match=r"SINGLE_FILE dataset takes csv, json, jsonl only"):
        plan(one_text)
    short = make_zip(tmp_path / "short.zip", {"t.csv": b"a\n1\n"})
    with pytest.raises(DataframerValidationError, match=r"short.zip!t.csv has 1 data row"):
        plan(short)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(DataframerValidationError, match="not a valid ZIP"):
        plan(tmp_path / "junk.zip")
    with pytest.raises(DataframerValidationError, match="uploaded on its own"):
        plan(typed, write(tmp_path / "c.txt"))


def test_object_storage_uris_are_read_through_object_storage_path(tmp_path: Path) -> None:
    write(tmp_path / "lake" / "tickets.csv", CSV)
    source = resolve_source(f"file://{tmp_path}/lake/tickets.csv")
    assert type(source).__name__ == "ObjectStoragePath"
    upload = plan_upload([source])
    assert upload.dataset_type == "SINGLE_FILE" and upload.files[0].size_bytes == len(CSV)
    assert upload.files[0].reader().read() == CSV


def test_lazy_reader_opens_only_while_read_and_rewinds(tmp_path: Path) -> None:
    path = write(tmp_path / "data.txt", b"0123456789")
    opened: list[io.BufferedReader] = []

    def opener() -> io.BufferedReader:
        opened.append(path.open("rb"))
        return opened[-1]

    reader = LazyReader(opener, 10)
    assert reader.tell() == 0 and reader.seek(0, io.SEEK_END) == 10 and reader.seek(0) == 0
    assert not opened, "measuring the file does not open it"
    assert reader.read(4) == b"0123" and reader.read(100) == b"456789" and reader.read(4) == b""
    assert opened[-1].closed, "closed at the end"
    reader.seek(0)
    assert reader.read() == b"0123456789" and len(opened) == 2 and opened[-1].closed
    with pytest.raises(io.UnsupportedOperation):
        reader.seek(3, io.SEEK_CUR)
