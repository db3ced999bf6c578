"""Land a prepared download (a run's files, an anonymization run's masked files) in a destination.

One path for every operator that downloads a ZIP: the transfer is bounded by the announced size
and ``max_download_bytes``, the ZIP is kept whole or unzipped within the documented limits, and
nothing half-written is left behind on failure.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_dataframer.extraction import extract_zip

if TYPE_CHECKING:
    from airflow_provider_dataframer.destinations import Destination
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook
    from airflow_provider_dataframer.limits import DownloadLimits
    from airflow_provider_dataframer.models import DownloadLink


@dataclass(frozen=True)
class Landed:
    """What a download wrote: the location of each file and their total size in bytes."""

    paths: list[str]
    total_bytes: int


def land_download(
    hook: DataframerHook,
    link: DownloadLink,
    destination: Destination,
    *,
    limits: DownloadLimits,
    transfer_timeout: float,
    keep_zip_as: str | None = None,
) -> Landed:
    """
    Fetch ``link`` into ``destination`` (already prepared): unzipped, or kept as ``keep_zip_as``.

    :param transfer_timeout: seconds the transfer from the presigned URL may take in all.
    :param keep_zip_as: the file name to keep the ZIP under; None unzips it.
    """
    deadline = time.monotonic() + transfer_timeout
    if keep_zip_as is not None:
        parts = (keep_zip_as,)
        try:
            with destination.create(parts) as out:
                total = hook.download(link, out, max_bytes=limits.max_download_bytes, deadline=deadline)
        except BaseException:
            destination.remove(parts)
            raise
        finally:
            destination.close()
        return Landed([destination.location(parts)], total)
    with tempfile.TemporaryFile(prefix="dataframer-download-") as spool:
        hook.download(link, spool, max_bytes=limits.max_download_bytes, deadline=deadline)
        spool.seek(0)
        extracted = extract_zip(spool, destination, limits)
    return Landed([destination.location(parts) for parts in extracted.parts], extracted.total_bytes)
