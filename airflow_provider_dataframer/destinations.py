"""
Where files are: a local path or an Airflow ``ObjectStoragePath`` (:func:`resolve_source`), and
where downloaded files are written (a local folder or an object store).

The destination is checked before anything is requested (a folder, or one that can be made, and
writable), so a typo costs no download. Writing never leaves the destination: in a local folder
(plain path or ``file://`` URI) every folder below the destination is opened without following
symbolic links, and a file is replaced rather than written through, so neither a symlink nor a
hard link already in the destination leads a write out of it. Object stores have no links; for
them the checks are what the store can tell (the destination is not an object).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import IO, Any

from airflow_provider_dataframer.arguments import is_template
from airflow_provider_dataframer.exceptions import DataframerDownloadError, DataframerValidationError

LOCAL_PROTOCOLS = ("file", "local")
FIELD = "destination"


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


def check_destination_value(value: Any, *, at_construction: bool) -> None:
    """
    Refuse a ``destination`` that is no folder path or URI, naming the field.

    :param at_construction: True before rendering: a template or XComArg is then accepted as is.
    """
    if at_construction and is_template(value):
        return
    if isinstance(value, str):
        if value.strip():
            return
    elif isinstance(value, PurePath) or (hasattr(value, "open") and hasattr(value, "joinpath")):
        return
    raise DataframerValidationError(
        f"{FIELD} must be a folder: a local path or a URI such as 's3://bucket/out/', got {value!r}"
    )


def _checked(parts: Sequence[str]) -> Sequence[str]:
    """``parts`` when each is one plain name; callers build them, this is the last line of defence."""
    if not parts or any(not p or p in (".", "..") or "/" in p or "\\" in p or "\x00" in p for p in parts):
        raise DataframerDownloadError(
            f"Refused to write {'/'.join(parts)!r}: not a plain path below the destination."
        )
    return parts


class LocalFolder:
    """
    A folder on this machine's file system.

    :param root: the folder (a symbolic link as the destination itself is the user's choice).
    :param shown: the destination as the user gave it (a path or a ``file://`` path), for messages
        and the returned paths.
    """

    def __init__(self, root: Path, shown: Any) -> None:
        self.root = root
        self.shown = shown
        self._folders: dict[tuple[str, ...], int] = {}

    def __str__(self) -> str:
        return str(self.shown)

    def location(self, parts: Sequence[str]) -> str:
        """The written file as the user would write it: a path, or a URI for a URI destination."""
        return str(self.shown.joinpath(*parts))

    def prepare(self) -> None:
        """Check the folder exists (or make it) and that a file can be created in it."""
        if self.root.exists() and not self.root.is_dir():
            raise DataframerValidationError(
                f"{FIELD} {self} is a file, not a folder: give the folder to write the files into."
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataframerValidationError(
                f"{FIELD} {self} cannot be created ({exc.strerror or exc}): give a folder that exists "
                "or can be made."
            ) from None
        try:
            handle, probe = tempfile.mkstemp(prefix=".dataframer-write-check-", dir=self.root)
        except OSError as exc:
            raise DataframerValidationError(
                f"{FIELD} {self} is not writable ({exc.strerror or exc}): give a folder this worker can "
                "write to."
            ) from None
        os.close(handle)
        os.unlink(probe)

    def _folder(self, parts: tuple[str, ...], make: bool) -> int:
        """
        A descriptor of the folder ``parts`` below the root, reached without following links.

        Descriptors are kept until :meth:`close`: each folder is checked once per download, and a
        folder swapped for a link after its check is not followed either, since the descriptor
        still names the checked folder.
        """
        if parts in self._folders:
            return self._folders[parts]
        if not parts:
            handle = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        else:
            parent = self._folder(parts[:-1], make)
            try:
                if make:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(parts[-1], dir_fd=parent)
                handle = os.open(parts[-1], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
            except OSError as exc:
                raise DataframerDownloadError(
                    f"{'/'.join(parts)!r} in {FIELD} {self} is a symbolic link or not a folder "
                    f"({exc.strerror}); files are never written through links out of the destination."
                ) from None
        self._folders[parts] = handle
        return handle

    def create(self, parts: Sequence[str]) -> IO[bytes]:
        """Create (or replace) the file ``parts`` below the folder, never through a link."""
        *folders, name = _checked(parts)
        folder = self._folder(tuple(folders), make=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            try:
                handle = os.open(name, flags, 0o666, dir_fd=folder)
            except FileExistsError:
                # Replaced, not truncated: a link (symbolic or hard) is removed and its target kept.
                os.unlink(name, dir_fd=folder)
                handle = os.open(name, flags, 0o666, dir_fd=folder)
        except OSError as exc:
            raise DataframerDownloadError(
                f"Cannot write {'/'.join(parts)!r} in {FIELD} {self}: {exc.strerror or exc}"
            ) from None
        return os.fdopen(handle, "wb")

    def remove(self, parts: Sequence[str]) -> None:
        """Remove a file this download wrote, if it is there (best effort, never through a link)."""
        *folders, name = parts
        with contextlib.suppress(OSError, DataframerDownloadError):
            os.unlink(name, dir_fd=self._folder(tuple(folders), make=False))

    def close(self) -> None:
        """Close the folder descriptors kept by :meth:`create`."""
        folders, self._folders = self._folders, {}
        for handle in folders.values():
            with contextlib.suppress(OSError):
                os.close(handle)


class StorageFolder:
    """
    A folder (prefix) in an object store, through ``ObjectStoragePath``.

    :param root: the ``ObjectStoragePath`` of the folder.
    """

    def __init__(self, root: Any) -> None:
        self.root = root

    def __str__(self) -> str:
        return str(self.root)

    def location(self, parts: Sequence[str]) -> str:
        """The URI of the written object."""
        return str(self.root.joinpath(*parts))

    def prepare(self) -> None:
        """Refuse a destination that is an object; make the folder (a no-op on most stores)."""
        try:
            is_object = self.root.exists() and not self.root.is_dir()
        except Exception as exc:
            raise DataframerDownloadError(
                f"{FIELD} {self} could not be checked: {type(exc).__name__}: {exc}"
            ) from exc
        if is_object:
            raise DataframerValidationError(
                f"{FIELD} {self} is a file, not a folder: give the folder to write the files into."
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except PermissionError as exc:
            raise DataframerValidationError(
                f"{FIELD} {self} cannot be created ({exc}): give a folder this connection can write to."
            ) from None

    def create(self, parts: Sequence[str]) -> IO[bytes]:
        """Open the object ``parts`` below the folder for writing."""
        target = self.root.joinpath(*_checked(parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.open("wb")  # type: ignore[no-any-return]

    def remove(self, parts: Sequence[str]) -> None:
        """Remove an object this download wrote, if it is there (best effort)."""
        with contextlib.suppress(Exception):
            target = self.root.joinpath(*parts)
            if target.exists():
                target.unlink()

    def close(self) -> None:
        """Nothing is held open between objects."""


Destination = LocalFolder | StorageFolder


def open_destination(value: Any, conn_id: str | None = None) -> Destination:
    """
    The destination behind a rendered ``destination`` argument, not yet checked (:meth:`prepare`).

    :param value: a local path, a URI (``s3://``, ``file://`` ...) or an ``ObjectStoragePath``.
    :param conn_id: the Airflow connection of the object store, for URIs.
    """
    check_destination_value(value, at_construction=False)
    resolved = resolve_source(value.strip() if isinstance(value, str) else value, conn_id)
    protocol = getattr(resolved, "protocol", None)
    if protocol in LOCAL_PROTOCOLS:  # before the Path check: Airflow 2's ObjectStoragePath is a Path
        return LocalFolder(Path(resolved.path), resolved)
    if protocol is None and isinstance(resolved, Path):
        return LocalFolder(resolved, resolved)
    return StorageFolder(resolved)
