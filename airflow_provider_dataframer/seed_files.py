"""Seed files before they are uploaded: where they come from, their layout, the documented limits.

Everything here runs before a byte is sent, so that a dataset breaking a limit fails the task with a
message naming the offending file, rather than with a 400 after a 50 MB upload. Sources are local
paths or Airflow ``ObjectStoragePath`` objects (``s3://``, ``gs://``, ``file://`` ...); both offer
``name``, ``open``, ``stat``, ``is_dir`` and ``iterdir``, which is all this module uses.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath, PurePosixPath
from typing import IO, Any

from airflow_provider_dataframer.arguments import is_unresolved
from airflow_provider_dataframer.exceptions import DataframerValidationError

MB = 1024 * 1024
TABULAR_EXTENSIONS = ("csv", "json", "jsonl")
MULTI_EXTENSIONS = ("txt", "md", "json", "csv", "jsonl", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "jsonl": "application/jsonl",
    "txt": "text/plain",
    "md": "text/markdown",
    "pdf": "application/pdf",
    "zip": "application/zip",
}
MAX_REPORTED_PROBLEMS = 10
JSON_ROW_CHECK_MAX_BYTES = 5 * MB
"""A JSON array is parsed to count its rows only up to this size; the server checks larger ones."""


@dataclass(frozen=True)
class SeedLimits:
    """
    The documented upload limits of seed datasets.

    :param single_file_max_bytes: largest SINGLE_FILE file (50 MB).
    :param single_file_min_rows: fewest data rows of a SINGLE_FILE file (2).
    :param multi_file_max_bytes: largest file of a MULTI_FILE or MULTI_FOLDER dataset (1 MB).
    :param multi_total_max_bytes: largest total of a MULTI_FILE or MULTI_FOLDER dataset (50 MB).
    :param multi_min_files: fewest files of a MULTI_FILE or MULTI_FOLDER dataset (2).
    :param multi_max_files: most files of a MULTI_FILE or MULTI_FOLDER dataset (1000).
    :param folder_max_files: most files in one folder of a MULTI_FOLDER dataset (20).
    :param min_folders: fewest folders of a MULTI_FOLDER dataset (2).
    """

    single_file_max_bytes: int = 50 * MB
    single_file_min_rows: int = 2
    multi_file_max_bytes: int = 1 * MB
    multi_total_max_bytes: int = 50 * MB
    multi_min_files: int = 2
    multi_max_files: int = 1000
    folder_max_files: int = 20
    min_folders: int = 2


DOCUMENTED_LIMITS = SeedLimits()


def _is_source(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, PurePath) or (hasattr(value, "open") and hasattr(value, "exists"))


def check_paths(paths: Any, *, at_construction: bool = False) -> list[Any]:
    """
    The ``paths`` argument as a list of path strings or path objects; a clear error naming it.

    :param at_construction: True before rendering: a template string or XComArg (whole, or as an
        item) is accepted as is. After rendering, values are data, braces included.
    """
    if at_construction and is_unresolved(paths):
        return []
    items = list(paths) if isinstance(paths, (list, tuple)) else [paths]
    if not items:
        raise DataframerValidationError("paths is empty: give at least one seed file, folder or ZIP.")
    for index, item in enumerate(items):
        if at_construction and is_unresolved(item):
            continue
        if not _is_source(item):
            where = f"paths[{index}]" if isinstance(paths, (list, tuple)) else "paths"
            raise DataframerValidationError(
                f"{where} must be a path or URI (a string, a Path or an ObjectStoragePath), got {item!r}"
            )
    return items


def check_folder_names(folder_names: Any, *, at_construction: bool = False) -> list[str] | None:
    """
    The ``folder_names`` argument as a list of names (or None); a clear error naming it.

    A string is refused rather than split into one folder per character.

    :param at_construction: True before rendering: a template string or XComArg is accepted.
    """
    if folder_names is None or (at_construction and is_unresolved(folder_names)):
        return None
    if not isinstance(folder_names, (list, tuple)):
        hint = (
            " (a rendered template is a string: set render_template_as_native_obj=True on the DAG to "
            "render a list)"
            if isinstance(folder_names, str)
            else ""
        )
        raise DataframerValidationError(
            f"folder_names must be a list of folder names, one per file, got {folder_names!r}{hint}"
        )
    names = []
    for index, name in enumerate(folder_names):
        if at_construction and is_unresolved(name):
            names.append(str(name))
            continue
        if not isinstance(name, str):  # a blank name is reported with its file, by plan_upload
            raise DataframerValidationError(f"folder_names[{index}] must be a folder name, got {name!r}")
        names.append(name)
    return names


def resolve_source(value: Any, conn_id: str | None = None) -> Any:
    """
    A local ``Path`` for a plain path, an ``ObjectStoragePath`` for a URI; other objects as they are.

    :param value: a path string, a URI such as ``s3://bucket/seed/``, a ``Path`` or an
        ``ObjectStoragePath``.
    :param conn_id: the Airflow connection of the object store, for URIs.
    """
    if isinstance(value, str):
        if "://" in value:
            from airflow.providers.common.compat.sdk import ObjectStoragePath

            return ObjectStoragePath(value, conn_id=conn_id)
        return Path(value).expanduser()
    # An ObjectStoragePath (or any UPath) is a PurePath on Airflow 2.11's universal_pathlib:
    # only a path without a protocol is local.
    if isinstance(value, PurePath) and getattr(value, "protocol", None) is None:
        return Path(value)
    return value


def is_hidden(name: str) -> bool:
    """Files that are not data: dot files and macOS archive metadata."""
    return name.startswith(".") or name == "__MACOSX"


def extension_of(name: str) -> str:
    """The lower-case extension without the dot."""
    return PurePosixPath(name).suffix.lower().lstrip(".")


@dataclass(frozen=True)
class SeedFile:
    """
    One file to upload.

    :param source: where it is read from (a ``Path``, an ``ObjectStoragePath`` or a ZIP member).
    :param size_bytes: its size, read before the upload.
    :param folder: its folder in a MULTI_FOLDER dataset.
    """

    source: Any
    size_bytes: int
    folder: str | None = None

    @property
    def filename(self) -> str:
        """The base name sent to the server."""
        return str(self.source.name)

    @property
    def location(self) -> str:
        """Where the file is, as the user wrote it; used in every message about it."""
        return str(self.source)

    @property
    def path(self) -> str:
        """``folder/filename`` or ``filename``: the file's path inside the dataset."""
        return f"{self.folder}/{self.filename}" if self.folder else self.filename

    @property
    def extension(self) -> str:
        """The lower-case extension without the dot."""
        return extension_of(self.filename)

    @property
    def content_type(self) -> str:
        """The MIME type sent with the file."""
        return CONTENT_TYPES.get(self.extension, "application/octet-stream")

    def open(self) -> IO[bytes]:
        """Open the file for reading bytes."""
        return self.source.open("rb")  # type: ignore[no-any-return]

    def reader(self) -> LazyReader:
        """A file object for the upload that opens the source only while it is being read."""
        return LazyReader(self.open, self.size_bytes)


class LazyReader:
    """
    A read-only file object for httpx's multipart encoder that opens its source only while read.

    httpx measures a file with ``tell``/``seek(0, 2)`` and rewinds it with ``seek(0)`` before each
    attempt. The source is opened on the first ``read`` and closed at its end, so an upload of 1,000
    files holds one of them open at a time and never holds a whole file in memory.

    :param opener: opens the source in binary mode.
    :param size: the size of the source, answered to ``seek(0, 2)``.
    """

    def __init__(self, opener: Callable[[], IO[bytes]], size: int) -> None:
        self._opener = opener
        self._size = size
        self._file: IO[bytes] | None = None
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        if self._file is None:
            self._file = self._opener()
            if self._position:
                self._file.seek(self._position)
        chunk = self._file.read(size)
        self._position += len(chunk)
        if not chunk or size < 0:
            self.close()
        return chunk

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END and offset == 0:
            self._position = self._size
        elif whence == io.SEEK_SET and offset >= 0:
            if offset != self._position:
                self.close()
            self._position = offset
        else:
            raise io.UnsupportedOperation("LazyReader seeks to the start, the end or an offset only")
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.close()


@dataclass(frozen=True)
class SeedUpload:
    """
    What will be uploaded, once checked.

    :param dataset_type: SINGLE_FILE, MULTI_FILE or MULTI_FOLDER.
    :param files: the files, in upload order (empty for a ZIP).
    :param zip_file: the ZIP to upload as is, when one was given.
    """

    dataset_type: str
    files: list[SeedFile] = field(default_factory=list)
    zip_file: SeedFile | None = None

    @property
    def folder_names(self) -> list[str] | None:
        """The ``folder_names[]`` parallel to the files (MULTI_FOLDER only)."""
        if self.dataset_type != "MULTI_FOLDER":
            return None
        return [file.folder or "" for file in self.files]

    def describe(self) -> str:
        """A one-line account for the task log."""
        if self.zip_file is not None:
            return (
                f"ZIP {self.zip_file.location} ({self.zip_file.size_bytes} bytes, {self.dataset_type} layout)"
            )
        total = sum(file.size_bytes for file in self.files)
        folders = f" in {len({f.folder for f in self.files})} folders" if self.folder_names else ""
        return f"{len(self.files)} file(s){folders}, {total} bytes, as {self.dataset_type}"


def plan_upload(
    sources: Sequence[Any],
    dataset_type: str | None = None,
    folder_names: Sequence[str] | None = None,
    limits: SeedLimits | None = DOCUMENTED_LIMITS,
) -> SeedUpload:
    """
    Collect the files behind ``sources``, settle the dataset type and check the limits.

    A folder of files is a MULTI_FILE dataset (SINGLE_FILE when it holds one file); a folder of
    folders, or several folders, a MULTI_FOLDER one whose folders are named after them. A single
    ``.zip`` is uploaded as is and its layout is checked the way the server reads it.

    :param sources: resolved sources (see :func:`resolve_source`).
    :param dataset_type: the type to create; None infers it from the layout.
    :param folder_names: the folder of each file, in order; makes the dataset MULTI_FOLDER.
    :param limits: the limits to enforce; None skips the check (the server still enforces its own).
    """
    if not sources:
        raise DataframerValidationError("paths: give at least one seed file, folder or ZIP.")
    folder_names = check_folder_names(folder_names)
    missing = [str(source) for source in sources if not source.exists()]
    if missing:
        raise DataframerValidationError(f"paths: {', '.join(repr(m) for m in missing)} does not exist.")
    zips = [s for s in sources if extension_of(str(s.name)) == "zip" and not s.is_dir()]
    if zips:
        if len(sources) > 1:
            raise DataframerValidationError(
                f"paths: a ZIP ({zips[0]}) is uploaded on its own; pass it alone, or pass the files."
            )
        if folder_names:
            raise DataframerValidationError(
                "folder_names does not apply to a ZIP: the ZIP's own folders are the dataset's folders."
            )
        return _plan_zip(zips[0], dataset_type, limits)
    files = _collect(sources)
    if folder_names is not None:
        folder_names = list(folder_names)
        if len(folder_names) != len(files):
            listed = ", ".join(file.location for file in files[:5])
            raise DataframerValidationError(
                f"folder_names has {len(folder_names)} names for {len(files)} files ({listed}"
                f"{', ...' if len(files) > 5 else ''}): give one folder name per file, in the same order."
            )
        blank = [
            file.location for file, name in zip(files, folder_names, strict=True) if not str(name).strip()
        ]
        if blank:
            raise DataframerValidationError(f"folder_names: the folder name of {blank[0]} is empty.")
        files = [
            replace(file, folder=str(name).strip()) for file, name in zip(files, folder_names, strict=True)
        ]
    inferred = (
        "MULTI_FOLDER" if any(f.folder for f in files) else "SINGLE_FILE" if len(files) == 1 else "MULTI_FILE"
    )
    chosen = dataset_type or inferred
    if chosen == "MULTI_FILE":
        files = [replace(file, folder=None) for file in files]
    elif chosen == "MULTI_FOLDER":
        loose = [file.location for file in files if not file.folder]
        if loose:
            raise DataframerValidationError(
                f"A MULTI_FOLDER dataset needs a folder for every file, and {loose[0]} has none: pass a "
                "folder of folders, several folders, or folder_names."
            )
    if limits is not None:
        check_limits(chosen, files, limits)
    return SeedUpload(dataset_type=chosen, files=files)


def _visible_children(folder: Any) -> tuple[list[Any], list[Any]]:
    children = sorted((c for c in folder.iterdir() if not is_hidden(str(c.name))), key=lambda c: str(c.name))
    folders = [c for c in children if c.is_dir()]
    files = [c for c in children if not c.is_dir()]
    return folders, files


def _files_of_folder(folder: Any) -> list[SeedFile]:
    subfolders, files = _visible_children(folder)
    if subfolders:
        raise DataframerValidationError(
            f"Folder {subfolders[0]} is nested more than one folder deep: a MULTI_FOLDER dataset has one "
            "level of folders holding files."
        )
    return [SeedFile(file, size_of(file), folder=str(folder.name)) for file in files]


def _collect(sources: Sequence[Any]) -> list[SeedFile]:
    if len(sources) == 1 and sources[0].is_dir():
        root = sources[0]
        subfolders, files = _visible_children(root)
        if subfolders and files:
            raise DataframerValidationError(
                f"Folder {root} mixes files ({files[0].name}) and folders ({subfolders[0].name}): put every "
                "file in a folder for a MULTI_FOLDER dataset, or use no folders for MULTI_FILE."
            )
        collected = [f for sub in subfolders for f in _files_of_folder(sub)]
        collected += [SeedFile(file, size_of(file)) for file in files]
        if not collected:
            raise DataframerValidationError(f"Folder {root} holds no files.")
        return collected
    collected = []
    for source in sources:
        if source.is_dir():
            files = _files_of_folder(source)
            if not files:
                raise DataframerValidationError(f"Folder {source} holds no files.")
            collected += files
        else:
            collected.append(SeedFile(source, size_of(source)))
    return collected


def size_of(source: Any) -> int:
    """The size in bytes of a local or object-storage file."""
    return int(source.stat().st_size)


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{size} bytes"


def check_limits(
    dataset_type: str, files: Sequence[SeedFile], limits: SeedLimits = DOCUMENTED_LIMITS
) -> None:
    """Raise :class:`DataframerValidationError` listing every file that breaks a documented limit."""
    if dataset_type == "SINGLE_FILE":
        problems = _single_file_problems(files, limits)
    elif dataset_type in ("MULTI_FILE", "MULTI_FOLDER"):
        problems = _multi_problems(dataset_type, files, limits)
    else:
        raise DataframerValidationError(
            f"dataset_type must be SINGLE_FILE, MULTI_FILE or MULTI_FOLDER, got {dataset_type!r}."
        )
    if problems:
        shown = problems[:MAX_REPORTED_PROBLEMS]
        more = len(problems) - len(shown)
        lines = "\n".join(f"  - {problem}" for problem in shown)
        tail = f"\n  - ... and {more} more" if more else ""
        raise DataframerValidationError(
            f"The seed files break the documented limits of a {dataset_type} dataset; nothing was "
            f"uploaded:\n{lines}{tail}"
        )


def _single_file_problems(files: Sequence[SeedFile], limits: SeedLimits) -> list[str]:
    if len(files) != 1:
        listed = ", ".join(file.location for file in files[:3])
        return [
            f"a SINGLE_FILE dataset takes exactly 1 file, got {len(files)} ({listed}{', ...' if len(files) > 3 else ''})"
        ]
    (file,) = files
    if file.extension not in TABULAR_EXTENSIONS:
        return [
            f"File {file.location}: a SINGLE_FILE dataset is a CSV, JSON or JSONL file, not '.{file.extension}'"
        ]
    if file.size_bytes > limits.single_file_max_bytes:
        return [
            f"File {file.location} is {_megabytes(file.size_bytes)}; a SINGLE_FILE dataset allows at most "
            f"{_megabytes(limits.single_file_max_bytes)}"
        ]
    try:
        rows = count_rows(file, limits.single_file_min_rows)
    except ValueError as exc:
        return [f"File {file.location}: {exc}"]
    if rows is not None and rows < limits.single_file_min_rows:
        return [
            f"File {file.location} has {rows} data row(s); a SINGLE_FILE dataset needs at least "
            f"{limits.single_file_min_rows}"
        ]
    return []


def _multi_problems(dataset_type: str, files: Sequence[SeedFile], limits: SeedLimits) -> list[str]:
    problems = []
    if not limits.multi_min_files <= len(files) <= limits.multi_max_files:
        problems.append(
            f"a {dataset_type} dataset takes {limits.multi_min_files}-{limits.multi_max_files} files, got {len(files)}"
        )
    allowed = "/".join(e.upper() for e in MULTI_EXTENSIONS)
    for file in files:
        if file.extension not in MULTI_EXTENSIONS:
            problems.append(f"File {file.location}: type '.{file.extension}' is not allowed ({allowed})")
        elif file.size_bytes > limits.multi_file_max_bytes:
            problems.append(
                f"File {file.location} is {_megabytes(file.size_bytes)}; a {dataset_type} dataset allows at "
                f"most {_megabytes(limits.multi_file_max_bytes)} per file"
            )
    total = sum(file.size_bytes for file in files)
    if total > limits.multi_total_max_bytes:
        problems.append(
            f"the files add up to {_megabytes(total)}; a {dataset_type} dataset allows at most "
            f"{_megabytes(limits.multi_total_max_bytes)} in total"
        )
    for path, count in Counter(file.path for file in files).items():
        if count > 1:
            problems.append(f"{count} files would be uploaded as {path!r}: file names must be unique")
    if dataset_type == "MULTI_FOLDER":
        folders = Counter(file.folder for file in files)
        if len(folders) < limits.min_folders:
            problems.append(
                f"a MULTI_FOLDER dataset needs at least {limits.min_folders} folders, got {len(folders)}"
            )
        for folder, count in folders.items():
            if count > limits.folder_max_files:
                problems.append(
                    f"folder {folder!r} holds {count} files; a MULTI_FOLDER dataset allows at most "
                    f"{limits.folder_max_files} per folder"
                )
    return problems


def count_rows(file: SeedFile, enough: int) -> int | None:
    """
    The number of data rows of a tabular file, counted up to ``enough``; None when not checked.

    CSV and JSONL files are read only until ``enough`` rows are found. A JSON array is parsed only
    up to :data:`JSON_ROW_CHECK_MAX_BYTES`. Raises ``ValueError`` for a file that cannot be read.
    """
    if file.extension == "json" and file.size_bytes > JSON_ROW_CHECK_MAX_BYTES:
        return None
    with file.open() as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        try:
            if file.extension == "csv":
                return _count_up_to(_csv_rows(text), enough)
            if file.extension == "jsonl":
                return _count_up_to((line for line in text if line.strip()), enough)
            try:
                document = json.load(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"is not valid JSON ({exc})") from None
            if not isinstance(document, list):
                raise ValueError("a SINGLE_FILE JSON file must hold an array of records")
            return len(document)
        except UnicodeDecodeError as exc:
            raise ValueError(f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        finally:
            text.detach()


def _csv_rows(text: IO[str]) -> Iterator[list[str]]:
    rows = (row for row in csv.reader(text) if any(cell.strip() for cell in row))
    next(rows, None)  # the header
    yield from rows


def _count_up_to(items: Iterator[Any], enough: int) -> int:
    count = 0
    for _ in items:
        count += 1
        if count >= enough:
            break
    return count


# ZIP archives


class _ZipMember:
    """A file inside an open ZIP, offering the little of a path that the checks use."""

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, zip_location: str) -> None:
        self.archive = archive
        self.info = info
        self.name = PurePosixPath(info.filename).name
        self._location = f"{zip_location}!{info.filename}"

    def open(self, mode: str = "rb") -> IO[bytes]:
        return self.archive.open(self.info)

    def __str__(self) -> str:
        return self._location


def _plan_zip(source: Any, dataset_type: str | None, limits: SeedLimits | None) -> SeedUpload:
    size = size_of(source)
    with source.open("rb") as handle:
        try:
            archive = zipfile.ZipFile(handle)
        except zipfile.BadZipFile:
            raise DataframerValidationError(f"File {source} is not a valid ZIP archive.") from None
        with archive:
            detected, files = _zip_layout(archive, str(source))
            if dataset_type and dataset_type != detected:
                raise DataframerValidationError(
                    f"dataset_type is {dataset_type} but the layout of {source} makes a {detected} dataset "
                    "(the server detects the type from the ZIP): fix the ZIP or leave dataset_type unset."
                )
            if limits is not None:
                check_limits(detected, files, limits)
    return SeedUpload(dataset_type=detected, zip_file=SeedFile(source, size))


ZIP_EXTENSIONS = ("txt", "md", "json", "csv", "jsonl", "pdf", "xlsx")
"""The extensions the API reads from a ZIP; other files in it are ignored, as the API does."""


def _zip_layout(archive: zipfile.ZipFile, location: str) -> tuple[str, list[SeedFile]]:
    """
    The dataset type the API detects from a ZIP's layout, and the files it reads from it.

    The API's own rules (the SDK's ``lib/data_plane/_flows.py``, ``files_from_zip``, reads a ZIP
    the way the API does): folders, hidden files and ``__MACOSX`` are skipped, and so is a file of
    any other extension than ``ZIP_EXTENSIONS``; a file's folder is its top-level directory; two or
    more folders make a MULTI_FOLDER dataset, a single file a SINGLE_FILE one, anything else
    MULTI_FILE. So ``data/a/x.txt, data/b/y.txt`` is MULTI_FILE (one folder, ``data``).
    """
    for name in archive.namelist():
        if name.startswith("/") or ".." in name:
            raise DataframerValidationError(f"ZIP {location} holds an unsafe path {name!r}.")
    files: list[SeedFile] = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        parts = PurePosixPath(info.filename).parts
        if not parts or parts[-1].startswith(".") or "__MACOSX" in info.filename:
            continue
        if extension_of(parts[-1]) not in ZIP_EXTENSIONS:
            continue
        folder = parts[0] if len(parts) > 1 else None
        files.append(SeedFile(_ZipMember(archive, info, location), info.file_size, folder=folder))
    if not files:
        raise DataframerValidationError(
            f"ZIP {location} holds no file the API reads (extensions {', '.join(ZIP_EXTENSIONS)})."
        )
    if len({file.folder for file in files if file.folder}) >= 2:
        return "MULTI_FOLDER", files
    if len(files) == 1:
        if files[0].extension not in TABULAR_EXTENSIONS:
            raise DataframerValidationError(
                f"ZIP {location} holds one file, {files[0].filename!r}: a SINGLE_FILE dataset takes "
                f"{', '.join(TABULAR_EXTENSIONS)} only."
            )
        return "SINGLE_FILE", files
    return "MULTI_FILE", [replace(file, folder=None) for file in files]


# Reuse of an existing dataset


def sha256_of(file: SeedFile) -> str:
    """The SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with file.open() as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def same_files(ours: Sequence[SeedFile], theirs: Sequence[Any]) -> bool:
    """
    Whether a dataset's files (``path``, ``size_bytes``, ``sha256``) are the files of this upload.

    With a ``sha256`` for every file (today's API gives one) the contents are compared; otherwise
    (older deployments) the paths and sizes, which is all they tell.
    """
    if len(ours) != len(theirs):
        return False
    if all(getattr(file, "sha256", None) for file in theirs):
        by_size = sorted((file.path, file.size_bytes) for file in ours)
        if by_size != sorted((file.path, file.size_bytes) for file in theirs):
            return False  # cheaper than hashing, and enough to tell them apart
        mine = sorted((file.path, sha256_of(file)) for file in ours)
        return mine == sorted((file.path, str(file.sha256).lower()) for file in theirs)
    return sorted((file.path, file.size_bytes) for file in ours) == sorted(
        (file.path, file.size_bytes) for file in theirs
    )
