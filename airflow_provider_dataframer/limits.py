"""
How much a download may write: the bounds of :class:`DownloadRunFilesOperator`, in one place.

A run makes at most 20,000 samples. Its ZIP holds each sample file, a ``.metadata`` sidecar per
sample and a ``top_level.metadata``: about 40,000 entries. Seed files are at most 1 MB each (50 MB
for one table), and generated files look like their seeds, so a very large run unzips to about
20,000 x 1 MB = 20 GB. Generated text compresses 3 to 20 times. The defaults sit well above all
of that and well below what a ZIP bomb does:

============================  ===========  ==================================================
limit (operator argument)     default      why
============================  ===========  ==================================================
``max_download_bytes``        32 GiB       a ZIP is smaller than what it unzips to; also the
                                           bound when the server announces no size
``max_unzipped_bytes``        32 GiB       above 20,000 x 1 MB and the sidecars
``max_compression_ratio``     100          text reaches 20; deflate bombs reach 1,000
``max_zip_entries``           100,000      above 2 x 20,000 + 1
``max_listed_files``          1,000        paths in the XCom result (the rest are counted)
============================  ===========  ==================================================

The compression ratio is checked for each entry and for the whole archive, but only above
:data:`RATIO_FLOOR_BYTES`: a 10 KB file of spaces compresses 1,000 times and harms nobody.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from airflow_provider_dataframer.exceptions import DataframerValidationError

GIB = 1024**3
MIB = 1024**2
RATIO_FLOOR_BYTES = 1 * MIB
"""Entries (and archives) that unzip to less than this are not checked for their ratio."""


@dataclass(frozen=True)
class DownloadLimits:
    """
    The bounds of a download and of the ZIP it unzips; each is an argument of the operator.

    :param max_download_bytes: the most bytes fetched from the presigned URL. A download announced
        larger is refused before it starts; one whose size is not announced is stopped here.
    :param max_unzipped_bytes: the most bytes the ZIP may unzip to, by its headers before anything
        is written, and by the bytes actually written while extracting.
    :param max_compression_ratio: the largest unzipped / compressed ratio of an entry or of the
        whole archive (above :data:`RATIO_FLOOR_BYTES`).
    :param max_zip_entries: the most entries (files and folders) in the ZIP.
    :param max_listed_files: the most paths listed in the task's XCom result; the count is exact.
    """

    max_download_bytes: int = 32 * GIB
    max_unzipped_bytes: int = 32 * GIB
    max_compression_ratio: float = 100.0
    max_zip_entries: int = 100_000
    max_listed_files: int = 1_000

    def __post_init__(self) -> None:
        for spec in fields(self):
            value: Any = getattr(self, spec.name)
            if spec.name == "max_compression_ratio":
                good = (
                    isinstance(value, (int, float))
                    and not isinstance(value, bool)
                    and math.isfinite(value)
                    and value >= 1
                )
                rule = "a finite number of at least 1"
            else:
                good = isinstance(value, int) and not isinstance(value, bool) and value > 0
                rule = "a positive whole number"
            if not good:
                raise DataframerValidationError(f"{spec.name} must be {rule}, got {value!r}")


DEFAULT_LIMITS = DownloadLimits()
