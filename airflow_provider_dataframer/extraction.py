"""
Unzip a downloaded run into its destination, within :class:`~.limits.DownloadLimits`.

Everything the ZIP's headers say is checked before a byte is written: the entry count (read from
the end record before the central directory is parsed), member paths that would leave the
destination, symbolic-link entries, duplicates, the unzipped total and the compression ratios.
Headers can lie, so the bytes actually unzipped are counted too; the first excess ends the
extraction, and every file it wrote is removed.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from airflow_provider_dataframer.destinations import Destination
from airflow_provider_dataframer.exceptions import DataframerDownloadError
from airflow_provider_dataframer.limits import DEFAULT_LIMITS, RATIO_FLOOR_BYTES, DownloadLimits

COPY_CHUNK_BYTES = 1024 * 1024
_ECD_ENTRIES_TOTAL = 4  # index of the entry count in zipfile's end-of-central-directory record


@dataclass(frozen=True)
class Member:
    """
    One file of the ZIP to write.

    :param info: its ZIP header.
    :param parts: its path below the destination, one part per folder.
    """

    info: zipfile.ZipInfo
    parts: tuple[str, ...]

    @property
    def name(self) -> str:
        """The member's path, as the ZIP names it."""
        return self.info.filename


@dataclass(frozen=True)
class Extracted:
    """
    What an extraction wrote.

    :param parts: each written file's path below the destination, in ZIP order.
    :param total_bytes: the bytes written.
    """

    parts: list[tuple[str, ...]]
    total_bytes: int


def _refuse(reason: str) -> DataframerDownloadError:
    return DataframerDownloadError(f"The downloaded ZIP was refused, nothing was written: {reason}")


def declared_entry_count(archive_file: IO[bytes]) -> int | None:
    """The entry count of the ZIP's end record, read without parsing the central directory."""
    read_end_record = getattr(zipfile, "_EndRecData", None)
    if read_end_record is None:  # a Python without it: the count is checked after parsing
        return None
    try:
        record = read_end_record(archive_file)
    except OSError:
        return None
    finally:
        archive_file.seek(0)
    return None if record is None else int(record[_ECD_ENTRIES_TOTAL])


def _member_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    name = info.filename
    parts = PurePosixPath(name).parts
    if name.startswith("/") or "\\" in name or "\x00" in name or ".." in parts or not parts:
        raise _refuse(f"it holds the path {name!r}, which would leave the destination.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _refuse(f"it holds the symbolic link {name!r}; generated files are never links.")
    return parts


def _ratio(info: zipfile.ZipInfo) -> float:
    return info.file_size / info.compress_size if info.compress_size else float("inf")


SIDECAR_SUFFIX = ".metadata"
"""The run ZIP holds a ``<file>.metadata`` sidecar per generated file and a ``top_level.metadata``:
the service's bookkeeping, not generated data, so they are neither written nor reported."""


def is_sidecar(parts: tuple[str, ...]) -> bool:
    """Whether a ZIP member is one of the service's ``.metadata`` sidecars."""
    return parts[-1].endswith(SIDECAR_SUFFIX)


def plan_members(archive: zipfile.ZipFile, limits: DownloadLimits = DEFAULT_LIMITS) -> list[Member]:
    """
    The files to write, once every header-level check passed; raises on the first breach.

    Sidecars count against the limits like every entry, but are not written.
    """
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise _refuse(f"it holds {len(infos)} entries, more than max_zip_entries ({limits.max_zip_entries}).")
    members: list[Member] = []
    seen: set[tuple[str, ...]] = set()
    unzipped = compressed = 0
    for info in infos:
        parts = _member_parts(info)
        if info.is_dir():
            continue
        if parts in seen:
            raise _refuse(f"it holds {info.filename!r} twice.")
        seen.add(parts)
        if info.file_size > RATIO_FLOOR_BYTES and _ratio(info) > limits.max_compression_ratio:
            raise _refuse(
                f"{info.filename!r} unzips {info.compress_size} bytes to {info.file_size} (ratio "
                f"{_ratio(info):.0f}), more than max_compression_ratio ({limits.max_compression_ratio:g})."
            )
        unzipped += info.file_size
        compressed += info.compress_size
        if not is_sidecar(parts):
            members.append(Member(info, parts))
    if unzipped > limits.max_unzipped_bytes:
        raise _refuse(
            f"it unzips to {unzipped} bytes, more than max_unzipped_bytes ({limits.max_unzipped_bytes})."
        )
    if unzipped > RATIO_FLOOR_BYTES and unzipped > limits.max_compression_ratio * compressed:
        raise _refuse(
            f"it unzips {compressed} bytes to {unzipped}, a ratio over max_compression_ratio "
            f"({limits.max_compression_ratio:g})."
        )
    return members


def extract_zip(
    archive_file: IO[bytes], destination: Destination, limits: DownloadLimits = DEFAULT_LIMITS
) -> Extracted:
    """
    Unzip ``archive_file`` (a seekable binary file) into ``destination``; what was written.

    Member paths are kept (``samples/001.txt``). On any failure the files written so far are
    removed before the error is raised.
    """
    declared = declared_entry_count(archive_file)
    if declared is not None and declared > limits.max_zip_entries:
        raise _refuse(f"it holds {declared} entries, more than max_zip_entries ({limits.max_zip_entries}).")
    try:
        archive = zipfile.ZipFile(archive_file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise DataframerDownloadError(f"The downloaded file is not a valid ZIP archive ({exc}).") from None
    written: list[tuple[str, ...]] = []
    try:
        with archive:
            members = plan_members(archive, limits)
            total = 0
            for member in members:
                with destination.create(member.parts) as out:
                    written.append(member.parts)
                    total += _copy_member(archive, member, out, limits.max_unzipped_bytes - total)
    except BaseException:
        for parts in written:
            destination.remove(parts)
        raise
    finally:
        destination.close()
    return Extracted(written, total)


def _copy_member(archive: zipfile.ZipFile, member: Member, out: IO[bytes], room: int) -> int:
    """Write one member, counting its bytes against its header and the room left; its size."""
    count = 0
    try:
        with archive.open(member.info) as source:
            while chunk := source.read(COPY_CHUNK_BYTES):
                count += len(chunk)
                if count > member.info.file_size:
                    raise DataframerDownloadError(
                        f"The downloaded ZIP lies about {member.name!r}: it unzips to more than the "
                        f"{member.info.file_size} bytes its header gives; the extraction was undone."
                    )
                if count > room:
                    raise DataframerDownloadError(
                        "The downloaded ZIP unzips to more than max_unzipped_bytes; the extraction was undone."
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DataframerDownloadError(
            f"The downloaded ZIP is damaged at {member.name!r} ({exc}); the extraction was undone."
        ) from None
    return count
