"""OpenLineage datasets for Dataframer objects (needs the ``openlineage`` extra at run time).

Seed datasets, specs and runs are named ``<kind>/<id>`` in the namespace ``dataframer://<host>``
of the API they live in, following the providers' convention of a scheme plus authority for the
namespace and a path-like name. Nothing here is imported when a DAG file is parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage


def namespace(base_url: str) -> str:
    """The OpenLineage namespace of a Dataframer deployment, e.g. ``dataframer://df-api.dataframer.ai``."""
    url = httpx.URL(base_url)
    authority = url.host if url.port is None else f"{url.host}:{url.port}"
    return f"dataframer://{authority}"


def dataset(base_url: str, kind: str, object_id: str) -> Any:
    """An OpenLineage dataset for a Dataframer object: ``kind`` is seed-datasets, specs or runs."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return Dataset(namespace=namespace(base_url), name=f"{kind}/{object_id}")


def file_dataset(path: str) -> Any:
    """An OpenLineage dataset for a local or object-storage file (``file://``, ``s3://``, ...)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    if "://" not in path:
        return Dataset(namespace="file", name=path)
    url = httpx.URL(path)
    return Dataset(namespace=f"{url.scheme}://{url.netloc.decode()}", name=url.path)


def operator_lineage(inputs: list[Any], outputs: list[Any]) -> OperatorLineage[Any, Any]:
    """The lineage an operator reports on completion."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=inputs, outputs=outputs)
