"""
Status progression, derived from timestamps alone.

Nothing runs in the background: a spec or run's status is computed from the times recorded when
it was created (and canceled), so a restarted emulator resumes every lifecycle where it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dataframer_emulator.records import RunRecord, SpecRecord

TERMINAL_RUN_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})


def spec_status(spec: SpecRecord, now: float) -> str:
    """``PROCESSING`` until ``ready_at``, then ``SUCCEEDED`` or ``FAILED`` (canonical names)."""
    if now < spec.ready_at:
        return "PROCESSING"
    return "FAILED" if spec.error else "SUCCEEDED"


@dataclass(frozen=True)
class RunProgress:
    """
    Where a run is at a given time.

    :param status: canonical status: PENDING, PROCESSING, SUCCEEDED, FAILED or CANCELED.
    :param samples_completed: samples generated so far.
    :param samples_failed: samples that failed so far.
    :param completed_at: when the run finished or was canceled; ``None`` while it goes on.
    """

    status: str
    samples_completed: int
    samples_failed: int
    completed_at: float | None

    @property
    def terminal(self) -> bool:
        """Whether the run will not change any more."""
        return self.status in TERMINAL_RUN_STATUSES


def planned_counts(run: RunRecord) -> tuple[int, int]:
    """Samples completed and failed when the run reaches its planned end."""
    if run.outcome == "FAILED":
        completed = run.number_of_samples // 2
        return completed, run.number_of_samples - completed
    return run.number_of_samples - run.planned_failed, run.planned_failed


def run_progress(run: RunRecord, now: float) -> RunProgress:
    """The run's status and counters at ``now``."""
    moment = now if run.canceled_at is None else min(now, run.canceled_at)
    completed, failed = planned_counts(run)
    if moment < run.started_at:
        counts = (0, 0)
    elif moment >= run.finishes_at:
        counts = (completed, failed)
    else:
        fraction = (moment - run.started_at) / (run.finishes_at - run.started_at)
        counts = (math.floor(completed * fraction), math.floor(failed * fraction))
    if run.canceled_at is not None and run.canceled_at < run.finishes_at:
        return RunProgress("CANCELED", counts[0], counts[1], run.canceled_at)
    if moment >= run.finishes_at:
        return RunProgress(run.outcome, counts[0], counts[1], run.finishes_at)
    return RunProgress("PENDING" if moment < run.started_at else "PROCESSING", counts[0], counts[1], None)
