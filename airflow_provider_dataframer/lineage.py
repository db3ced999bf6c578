"""OpenLineage datasets for Dataframer objects (needs the ``openlineage`` extra at run time).

Seed datasets, specs and runs are named ``<kind>/<id>`` in the namespace ``dataframer://<host>``
of the API they live in, following the providers' convention of a scheme plus authority for the
namespace and a path-like name. Files follow the OpenLineage naming spec
(https://openlineage.io/docs/spec/naming), as ``apache-airflow-providers-openlineage`` does, so
they join with the datasets other operators report: a local file is ``file`` plus its absolute
path, an object ``s3://<bucket>`` or ``gs://<bucket>`` plus its key without the leading slash.
Nothing here is imported when a DAG file is parsed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse, urlsplit

import httpx

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

# URI scheme prefix -> namespace scheme, as the openlineage provider's ExtractorManager maps them
# (``s3a://`` and ``s3n://`` are S3, ``gcs://`` is ``gs://``). ``file`` is handled on its own.
OBJECT_STORAGE_SCHEMES = {"s3": "s3", "gs": "gs", "gcs": "gs", "hdfs": "hdfs"}


def namespace(base_url: str) -> str:
    """The OpenLineage namespace of a Dataframer deployment, e.g. ``dataframer://df-api.dataframer.ai``.

    Only the authority counts (lower-case host, a non-default port, IPv6 in brackets): the URL
    scheme, credentials and path are not part of a deployment's identity.
    """
    return f"dataframer://{httpx.URL(base_url).netloc.decode('ascii')}"


def dataset(base_url: str, kind: str, object_id: str) -> Any:
    """An OpenLineage dataset for a Dataframer object: ``kind`` is seed-datasets, specs or runs."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return Dataset(namespace=namespace(base_url), name=f"{kind}/{object_id}")


def file_dataset(path: str) -> Any:
    """An OpenLineage dataset for a local path or an object-storage URI (``s3://``, ``file://``...)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    ns, name = file_naming(path)
    return Dataset(namespace=ns, name=name)


def file_naming(path: str) -> tuple[str, str]:
    """The OpenLineage ``(namespace, name)`` of a local path or an object-storage URI.

    A path without ``://`` is local, as for the operators; it is made absolute (``~`` expanded)
    against the worker's current directory. ``file://`` URIs are local unless they name a host.
    Other URIs are named by the openlineage provider's own helper when it is installed.
    """
    if "://" not in path:
        return "file", local_path(path)
    parts = urlsplit(path)
    if parts.scheme == "file":
        if parts.netloc in ("", "localhost"):
            return "file", local_path(parts.path)
        return f"file://{parts.netloc}", parts.path
    helper = provider_uri_helper()
    found = helper(path) if helper is not None else None
    if found is None:
        return object_storage_naming(path)
    return str(found.namespace), str(found.name)


def local_path(path: str) -> str:
    """The absolute, normalized form of a local path (symbolic links are left as they are)."""
    return os.path.abspath(os.path.expanduser(path))


def object_storage_naming(uri: str) -> tuple[str, str]:
    """The provider's mapping of an object-storage URI, for when its helper is not available.

    ``s3://bucket/a/b.csv`` is ``("s3://bucket", "a/b.csv")``; an unknown scheme is the namespace
    and the rest of the URI the name.
    """
    parts = urlparse(uri)
    for prefix, scheme in OBJECT_STORAGE_SCHEMES.items():
        if parts.scheme.startswith(prefix):
            return f"{scheme}://{parts.netloc}", parts.path.lstrip("/")
    return parts.scheme, f"{parts.netloc}{parts.path}"


def provider_uri_helper() -> Callable[[str], Any] | None:
    """The openlineage provider's URI-to-dataset helper, or None without the extra or in versions lacking it."""
    try:
        from airflow.providers.openlineage.extractors.manager import ExtractorManager
    except ImportError:
        return None
    helper: Callable[[str], Any] | None = getattr(
        ExtractorManager, "convert_to_ol_dataset_from_object_storage_uri", None
    )
    return helper


def operator_lineage(inputs: list[Any], outputs: list[Any]) -> OperatorLineage[Any, Any]:
    """The lineage an operator reports on completion."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=inputs, outputs=outputs)
