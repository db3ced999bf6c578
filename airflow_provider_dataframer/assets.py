"""Airflow assets (datasets on Airflow 2) for what Dataframer holds, and the events operators emit.

A Dataframer asset is ``dataframer://<api host>/<kind>/<key>``:

* ``synthetic-data/<name>``: a stream of synthetic data that successive runs refresh, the asset a
  downstream DAG schedules on ("train when fresh synthetic tickets exist");
* ``specs/<id>``, ``runs/<id>``, ``seed-datasets/<id>``: one object of the API.

The authority is the API's host (and a non-default port), as in the provider's OpenLineage
namespace, so that the same name on two deployments is two assets. The provider registers the
``dataframer`` scheme (``asset-uris``): Airflow normalizes every such URI with
:func:`sanitize_uri` (and refuses a malformed one when the DAG is parsed), and OpenLineage maps
it with :func:`convert_asset_to_openlineage` to the datasets the operators report.

Declare the asset as an ``outlets`` of the task that produces it; the operators then put what
they produced (run id, sample counts, cost) in the event's extra, through
:func:`record_outlet_events`. On Airflow 2.11 the same code makes ``Dataset`` objects and events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from airflow_provider_dataframer.lineage import namespace
from airflow_provider_dataframer.models import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from airflow.providers.common.compat.sdk import Asset, Context

SCHEME = "dataframer"
KINDS = ("synthetic-data", "specs", "runs", "seed-datasets")
SYNTHETIC_DATA = "synthetic-data"
# The run summary's fields that go into an asset event's extra (the file list can be long).
RUN_EVENT_FIELDS = ("run_id", "status", "samples_completed", "samples_failed", "total_cost")


def asset_uri(kind: str, key: str, base_url: str = DEFAULT_BASE_URL) -> str:
    """
    The URI of a Dataframer asset, e.g. ``dataframer://df-api.dataframer.ai/synthetic-data/tickets``.

    :param kind: ``synthetic-data``, ``specs``, ``runs`` or ``seed-datasets``.
    :param key: the name (synthetic-data) or the object's id; percent-encoded where needed.
    :param base_url: the API's base URL (its host and port name the deployment).
    """
    if kind not in KINDS:
        raise ValueError(f"Dataframer asset kind {kind!r} is unknown; use one of {', '.join(KINDS)}.")
    if not key or not key.strip():
        raise ValueError(f"A Dataframer {kind} asset needs a non-empty name or id, got {key!r}.")
    return f"{namespace(base_url)}/{kind}/{quote(key.strip(), safe='-._~')}"


def create_asset(
    *,
    kind: str = SYNTHETIC_DATA,
    key: str,
    base_url: str = DEFAULT_BASE_URL,
    extra: dict[str, Any] | None = None,
) -> Asset:
    """
    A Dataframer asset (a ``Dataset`` on Airflow 2); the provider's registered asset factory.

    :param kind: ``synthetic-data`` (default), ``specs``, ``runs`` or ``seed-datasets``.
    :param key: the name or id, see :func:`asset_uri`.
    :param base_url: the API's base URL; default the public API.
    :param extra: the asset's own extra (not an event's).
    """
    from airflow.providers.common.compat.sdk import Asset

    return Asset(asset_uri(kind, key, base_url), extra=extra)


def synthetic_data_asset(name: str, base_url: str = DEFAULT_BASE_URL) -> Asset:
    """
    The asset a DAG schedules on: the synthetic data called ``name``, refreshed by each run.

    :param name: a stable name of your choosing, e.g. ``support-tickets``.
    :param base_url: the API's base URL, when not the public API.
    """
    return create_asset(kind=SYNTHETIC_DATA, key=name, base_url=base_url)


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """
    Check and normalize a ``dataframer://`` URI (Airflow calls this for every such asset).

    The host is lower-cased; the path must be ``/<kind>/<key>`` with a known kind.
    """
    if not uri.hostname:
        raise ValueError(
            f"Dataframer asset URI {uri.geturl()!r} has no host: write "
            "dataframer://<api host>/<kind>/<key>, e.g. dataframer://df-api.dataframer.ai/synthetic-data/tickets."
        )
    kind, _, key = uri.path.lstrip("/").partition("/")
    if kind not in KINDS or not key:
        raise ValueError(
            f"Dataframer asset URI {uri.geturl()!r} must have the path /<kind>/<key> with kind one of "
            f"{', '.join(KINDS)}, e.g. dataframer://df-api.dataframer.ai/synthetic-data/tickets."
        )
    host = f"[{uri.hostname}]" if ":" in uri.hostname else uri.hostname  # hostname drops IPv6 brackets
    return uri._replace(netloc=host if uri.port is None else f"{host}:{uri.port}")


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> Any:
    """The OpenLineage dataset of a Dataframer asset: namespace ``dataframer://<host>``, name ``<kind>/<key>``."""
    from airflow.providers.common.compat.openlineage.facet import Dataset as OpenLineageDataset

    parts = urlsplit(asset.uri)
    return OpenLineageDataset(namespace=f"{SCHEME}://{parts.netloc}", name=parts.path.lstrip("/"))


def run_event_extra(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The extra of an asset event for a run, from the summary :class:`CreateRunOperator` returns."""
    extra = {field: summary[field] for field in RUN_EVENT_FIELDS if field in summary}
    if isinstance(summary.get("files"), list):
        extra["file_count"] = len(summary["files"])
    return extra


def download_event_extra(run: Any, written: list[str]) -> dict[str, Any]:
    """
    The extra of an asset event for downloaded files.

    :param run: the run id, or the summary :class:`CreateRunOperator` returned (its counts and
        cost are then carried on).
    :param written: the paths or URIs written.
    """
    extra: dict[str, Any] = run_event_extra(run) if isinstance(run, Mapping) else {"run_id": str(run)}
    extra.pop("file_count", None)
    extra["files_written"] = len(written)
    return extra


def record_outlet_events(context: Context, extra: Mapping[str, Any]) -> None:
    """
    Put ``extra`` into the events of the task's asset outlets (emitted when the task succeeds).

    Only assets the task declares in ``outlets`` get events, as everywhere in Airflow; a task
    without outlets is left alone. ``extra`` must be JSON-safe and hold no secret.

    :param context: the task's context (``execute`` or ``execute_complete``).
    :param extra: what the task produced, e.g. ``{"run_id": ..., "samples_completed": ...}``.
    """
    from airflow.providers.common.compat.sdk import Asset

    task = context.get("task")
    outlet_events = context.get("outlet_events")
    if task is None or outlet_events is None:
        return
    for outlet in getattr(task, "outlets", None) or ():
        if isinstance(outlet, Asset):
            outlet_events[outlet].extra.update(extra)
