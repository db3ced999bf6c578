"""
How records are shown: the JSON objects of today's API.

Each object has exactly the fields of its response type in the official SDK (``pydataframer``
0.19.2, ``dataframer/types/dataframer/``), no other; ``tests/conformance`` checks them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from dataframer_emulator.config import EmulatorConfig
from dataframer_emulator.lifecycle import RunProgress, spec_status
from dataframer_emulator.records import DatasetRecord, RunRecord, SpecRecord
from dataframer_emulator.schemas import RUN_RUNTIME_PARAMS

Json = dict[str, Any]


def timestamp(value: float | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as the API writes times."""
    if value is None:
        return None
    return datetime.fromtimestamp(value, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def dataset_summary(dataset: DatasetRecord) -> Json:
    """A dataset as listed."""
    return {
        "id": dataset.id,
        "name": dataset.name,
        "dataset_type": dataset.dataset_type,
        "description": dataset.description,
        "file_count": len(dataset.files),
        "folder_count": dataset.folder_count,
        "created_at": timestamp(dataset.created_at),
        "created_by_email": dataset.created_by_email,
    }


def dataset_view(dataset: DatasetRecord) -> Json:
    """A dataset as read or created."""
    files = [
        {"id": f.id, "path": f.path, "file_type": f.file_type, "size_bytes": f.size_bytes, "sha256": f.sha256}
        for f in dataset.files
    ]
    return {**dataset_summary(dataset), "sample_count": dataset.sample_count, "files": files}


def _reported_spec_status(spec: SpecRecord, now: float, config: EmulatorConfig) -> str:
    status = spec_status(spec, now)
    return config.spec_success_status if status == "SUCCEEDED" else status


def spec_summary(spec: SpecRecord, now: float, config: EmulatorConfig) -> Json:
    """A spec as listed: summary fields only."""
    return {
        "id": spec.id,
        "name": spec.name,
        "status": _reported_spec_status(spec, now, config),
        "dataset_id": spec.dataset_id,
        "dataset_name": spec.dataset_name,
        "dataset_type": spec.dataset_type,
        "description": spec.description,
        "created_at": timestamp(spec.created_at),
    }


def spec_view(spec: SpecRecord, now: float, config: EmulatorConfig, include_versions: bool = False) -> Json:
    """A spec as read: ``content_yaml`` is null until it SUCCEEDED."""
    status = spec_status(spec, now)
    succeeded = status == "SUCCEEDED"
    latest = spec.versions[-1] if succeeded and spec.versions else None
    view: Json = {
        **spec_summary(spec, now, config),
        "error": spec.error if status == "FAILED" else None,
        "content_yaml": latest.content_yaml if latest else None,
        "runtime_params": spec.runtime_params,
        "updated_at": timestamp(
            latest.created_at if latest else spec.ready_at if status == "FAILED" else spec.created_at
        ),
        "created_by_email": spec.created_by_email,
    }
    if include_versions:
        view["versions"] = [
            {"content_yaml": v.content_yaml, "created_at": timestamp(v.created_at)}
            for v in (spec.versions if succeeded else [])
        ]
    return view


def run_summary(run: RunRecord, progress: RunProgress, config: EmulatorConfig) -> Json:
    """A run as listed."""
    status = config.run_processing_status if progress.status == "PROCESSING" else progress.status
    return {
        "id": run.id,
        "spec_id": run.spec_id,
        "spec_name": run.spec_name,
        "spec_version": run.spec_version,
        "dataset_id": run.dataset_id,
        "dataset_name": run.dataset_name,
        "dataset_type": run.dataset_type,
        "status": status,
        "samples_completed": progress.samples_completed,
        "samples_failed": progress.samples_failed,
        "total_cost": round((progress.samples_completed + progress.samples_failed) * run.cost_per_sample, 6),
        "created_at": timestamp(run.created_at),
        "completed_at": timestamp(progress.completed_at),
        "created_by_email": run.created_by_email,
    }


def run_view(
    run: RunRecord, progress: RunProgress, config: EmulatorConfig, generated_files: list[Json] | None
) -> Json:
    """
    A run as read: ``number_of_samples`` is in its ``runtime_params``; it has no ``error`` field
    (a FAILED run shows its failure through its counters, as the API's runs do).
    """
    return {
        **run_summary(run, progress, config),
        "runtime_params": {
            "number_of_samples": run.number_of_samples,
            **{name: run.runtime_params[name] for name in RUN_RUNTIME_PARAMS if name in run.runtime_params},
        },
        "generated_files": generated_files,
    }
