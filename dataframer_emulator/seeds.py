"""Seed dataset uploads: reading tables, detecting a ZIP's layout and enforcing the documented limits."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from dataframer_emulator.config import SeedLimits
from dataframer_emulator.errors import bad_request

MIME_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "json": "application/json",
    "jsonl": "application/jsonl",
    "txt": "text/plain",
    "md": "text/markdown",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TABULAR_EXTENSIONS = ("csv", "json", "jsonl")
MULTI_EXTENSIONS = ("txt", "md", "json", "csv", "jsonl", "pdf")
#: Extensions the API reads from a ZIP (others are ignored), as the SDK's ``files_from_zip``.
ZIP_EXTENSIONS = ("txt", "md", "json", "csv", "jsonl", "pdf", "xlsx")


@dataclass(frozen=True)
class Upload:
    """
    One uploaded file.

    :param filename: base name of the file.
    :param content: its bytes.
    :param folder: its folder, for MULTI_FOLDER datasets.
    """

    filename: str
    content: bytes
    folder: str | None = None

    @property
    def path(self) -> str:
        """``folder/filename`` or ``filename``."""
        return f"{self.folder}/{self.filename}" if self.folder else self.filename

    @property
    def extension(self) -> str:
        """Lower-case extension without the dot."""
        return PurePosixPath(self.filename).suffix.lower().lstrip(".")


@dataclass
class Table:
    """
    Rows of a tabular seed file.

    :param columns: column names in order.
    :param rows: one mapping per data row.
    """

    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ValidSeed:
    """
    Uploads that pass the limits of their dataset type.

    :param uploads: the files, in upload order.
    :param folder_count: number of folders (MULTI_FOLDER), else 0.
    :param sample_count: number of data rows (SINGLE_FILE), else ``None``.
    """

    uploads: list[Upload]
    folder_count: int
    sample_count: int | None


def mime_type(filename: str) -> str:
    """MIME type from a file name's extension."""
    return MIME_TYPES.get(PurePosixPath(filename).suffix.lower().lstrip("."), "application/octet-stream")


def _text(upload: Upload) -> str:
    try:
        return upload.content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise bad_request(
            f"File '{upload.path}' is not UTF-8 text: {exc.reason} at byte {exc.start}."
        ) from exc


def _record_rows(records: list[Any]) -> Table:
    columns: list[str] = []
    rows: list[dict[str, Any]] = []
    for record in records:
        row = record if isinstance(record, dict) else {"value": record}
        for key in row:
            if key not in columns:
                columns.append(str(key))
        rows.append({str(k): v for k, v in row.items()})
    return Table(columns=columns, rows=rows)


def read_table(upload: Upload) -> Table:
    """Parse a CSV, JSON (array) or JSONL file into a :class:`Table`; a 400 names a malformed file."""
    text = _text(upload)
    if upload.extension == "csv":
        lines = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
        if not lines:
            return Table(columns=[])
        header = [name.strip() for name in lines[0]]
        if not any(header):
            raise bad_request(f"File '{upload.path}' has an empty CSV header row.")
        rows = [
            {name: (row[i] if i < len(row) else "") for i, name in enumerate(header)} for row in lines[1:]
        ]
        return Table(columns=header, rows=rows)
    if upload.extension == "jsonl":
        records: list[Any] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise bad_request(f"File '{upload.path}' line {number} is not valid JSON: {exc}.") from exc
        return _record_rows(records)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise bad_request(f"File '{upload.path}' is not valid JSON: {exc}.") from exc
    if not isinstance(document, list):
        raise bad_request(
            f"File '{upload.path}' must hold a JSON array of records for a SINGLE_FILE dataset."
        )
    return _record_rows(document)


def _check_single_file(uploads: list[Upload], limits: SeedLimits) -> ValidSeed:
    if len(uploads) != 1:
        raise bad_request(f"files: a SINGLE_FILE dataset takes exactly 1 file, got {len(uploads)}.")
    upload = uploads[0]
    if upload.extension not in TABULAR_EXTENSIONS:
        raise bad_request(
            f"File '{upload.path}': a SINGLE_FILE dataset must be a CSV, JSON or JSONL file "
            f"(got '.{upload.extension}')."
        )
    if len(upload.content) > limits.single_file_max_bytes:
        raise bad_request(
            f"File '{upload.path}' is {len(upload.content)} bytes; a SINGLE_FILE dataset allows at most "
            f"{limits.single_file_max_bytes} bytes."
        )
    table = read_table(upload)
    if len(table.rows) < limits.single_file_min_rows:
        raise bad_request(
            f"File '{upload.path}' has {len(table.rows)} data row(s); a SINGLE_FILE dataset needs at least "
            f"{limits.single_file_min_rows}."
        )
    return ValidSeed(uploads=uploads, folder_count=0, sample_count=len(table.rows))


def _check_multi(uploads: list[Upload], limits: SeedLimits, dataset_type: str) -> None:
    count = len(uploads)
    if not limits.multi_min_files <= count <= limits.multi_max_files:
        raise bad_request(
            f"files: a {dataset_type} dataset takes {limits.multi_min_files}-{limits.multi_max_files} files, "
            f"got {count}."
        )
    total = 0
    for upload in uploads:
        if upload.extension not in MULTI_EXTENSIONS:
            allowed = "/".join(e.upper() for e in MULTI_EXTENSIONS)
            raise bad_request(f"File '{upload.path}': type '.{upload.extension}' is not allowed ({allowed}).")
        if len(upload.content) > limits.multi_file_max_bytes:
            raise bad_request(
                f"File '{upload.path}' is {len(upload.content)} bytes; a {dataset_type} dataset allows at most "
                f"{limits.multi_file_max_bytes} bytes per file."
            )
        total += len(upload.content)
    if total > limits.multi_total_max_bytes:
        raise bad_request(
            f"files: {total} bytes in total; a {dataset_type} dataset allows at most "
            f"{limits.multi_total_max_bytes} bytes."
        )
    duplicates = [path for path, n in Counter(u.path for u in uploads).items() if n > 1]
    if duplicates:
        raise bad_request(f"File '{duplicates[0]}' is uploaded more than once.")


def validate_uploads(dataset_type: str, uploads: list[Upload], limits: SeedLimits) -> ValidSeed:
    """Enforce the documented limits of ``dataset_type``; a 400 names the offending file or field."""
    if dataset_type == "SINGLE_FILE":
        return _check_single_file(uploads, limits)
    _check_multi(uploads, limits, dataset_type)
    if dataset_type == "MULTI_FILE":
        extensions = sorted({f".{u.extension}" for u in uploads})
        if len(extensions) > 1:
            raise bad_request(
                f"files: all files in a MULTI_FILE dataset must have the same extension. Found: {', '.join(extensions)}"
            )
        return ValidSeed(uploads=uploads, folder_count=0, sample_count=None)
    folders = Counter(u.folder for u in uploads)
    if None in folders or "" in folders:
        raise bad_request("folder_names: every file of a MULTI_FOLDER dataset needs a folder name.")
    if len(folders) < limits.min_folders:
        raise bad_request(
            f"folder_names: a MULTI_FOLDER dataset needs at least {limits.min_folders} folders, got {len(folders)}."
        )
    for folder, count in folders.items():
        if count > limits.folder_max_files:
            raise bad_request(
                f"folder_names: folder '{folder}' has {count} files; at most {limits.folder_max_files} are allowed."
            )
    return ValidSeed(uploads=uploads, folder_count=len(folders), sample_count=None)


def uploads_from_zip(data: bytes, limits: SeedLimits) -> tuple[str, list[Upload]]:
    """
    The dataset type detected from a ZIP's layout, and its files in archive order.

    The API's reading, which the SDK reproduces (``lib/data_plane/_flows.py``, ``files_from_zip``):
    hidden files and ``__MACOSX`` are skipped, files of other extensions are ignored, a file's
    folder is its top-level directory; two or more folders make a MULTI_FOLDER dataset, a single
    file a SINGLE_FILE one, anything else MULTI_FILE (so ``data/a/x.txt`` and ``data/b/y.txt``
    are two files of one folder ``data``: MULTI_FILE).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise bad_request("zip_file: the uploaded file is not a valid ZIP file.") from exc
    with archive:
        if any(name.startswith("/") or ".." in name for name in archive.namelist()):
            raise bad_request("zip_file: invalid ZIP file, it contains unsafe paths.")
        entries: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
        for info in archive.infolist():
            parts = PurePosixPath(info.filename).parts
            if info.is_dir() or not parts or parts[-1].startswith(".") or "__MACOSX" in info.filename:
                continue
            if PurePosixPath(parts[-1]).suffix.lower().lstrip(".") not in ZIP_EXTENSIONS:
                continue
            entries.append((info, parts))
        if not entries:
            supported = ", ".join(f".{e}" for e in ZIP_EXTENSIONS)
            raise bad_request(
                f"zip_file: no valid files found in the ZIP. Supported extensions: {supported}."
            )
        declared = sum(info.file_size for info, _ in entries)
        if declared > max(limits.single_file_max_bytes, limits.multi_total_max_bytes):
            raise bad_request(f"zip_file expands to {declared} bytes, more than any dataset type allows.")
        uploads = [
            Upload(
                filename=parts[-1], content=archive.read(info), folder=parts[0] if len(parts) > 1 else None
            )
            for info, parts in entries
        ]
    if len({u.folder for u in uploads if u.folder}) >= 2:
        return "MULTI_FOLDER", uploads
    if len(uploads) == 1:
        if uploads[0].extension not in TABULAR_EXTENSIONS:
            raise bad_request(
                f"zip_file: a SINGLE_FILE dataset only supports CSV, JSON, JSONL. Found: .{uploads[0].extension}"
            )
        return "SINGLE_FILE", uploads
    # One folder or none: the files are the dataset's, by their names.
    return "MULTI_FILE", [Upload(u.filename, u.content) for u in uploads]
