"""What a finished run gives a task: its JSON-safe summary, and the log lines that go with it.

Shared by :class:`~airflow_provider_dataframer.operators.run.CreateRunOperator` and
:class:`~airflow_provider_dataframer.sensors.run.RunStatusSensor`, which return the same summary,
and by the operators that take a run id or that summary (``run_id_from``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.models import Run
from airflow_provider_dataframer.waiting import TaskLogger


def run_summary(run: Run) -> dict[str, Any]:
    """The JSON-safe account of a finished run that operators and sensors return as their XCom."""
    return {
        "run_id": run.id,
        "status": run.status,
        "samples_completed": run.samples_completed,
        "samples_failed": run.samples_failed,
        "total_cost": run.total_cost,
        "files": [{"id": f.id, "path": f.path, "size_bytes": f.size_bytes} for f in run.generated_files],
    }


def partial_failure_message(run: Run) -> str | None:
    """The warning for a run that succeeded although some samples failed (None when none did)."""
    if not run.samples_failed:
        return None
    done = run.samples_completed if run.samples_completed is not None else "?"
    asked = f" of {run.number_of_samples} requested" if run.number_of_samples else ""
    return (
        f"Partial failure: Dataframer run {run.id} succeeded with {done} samples completed and "
        f"{run.samples_failed} failed{asked}."
    )


def report_finished_run(run: Run, log: TaskLogger) -> dict[str, Any]:
    """The JSON-safe summary of a SUCCEEDED run, logging a partial failure as a warning."""
    warning = partial_failure_message(run)
    if warning:
        log.warning("%s", warning)
    summary = run_summary(run)
    log.info(
        "Dataframer run %s: %s samples completed, %s failed, total cost %s, %d file(s).",
        run.id,
        summary["samples_completed"],
        summary["samples_failed"],
        f"${run.total_cost:.2f}" if run.total_cost is not None else "unknown",
        len(summary["files"]),
    )
    return summary


def run_id_from(value: Any, field: str = "run_id") -> str:
    """A run id given as a string or as the summary dict returned by :class:`CreateRunOperator`."""
    if isinstance(value, Mapping):
        value = value.get("run_id")
    if not isinstance(value, str) or not value.strip():
        raise DataframerValidationError(
            f"{field} must be a run id or the summary returned by CreateRunOperator, got {value!r}"
        )
    return value.strip()
